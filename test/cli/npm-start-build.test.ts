// `npm start` builds only when the sources changed: its prestart is `tsc -b` on the build config,
// which skips the build when no input is newer than the last build. Proven on a small project in a
// temp dir with the same command and the project's own TypeScript (the real tree's full build takes
// 10–50 s of a shared CPU: not something to repeat in a test).
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { tempDir } from '../support/harness.js';

const TSC = resolve('node_modules/typescript/bin/tsc');

t.test('prestart is an incremental build of tsconfig.build.json', async (t) => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  t.equal(pkg.scripts['prestart'], 'tsc -b tsconfig.build.json');
  t.match(pkg.scripts['start'], /^node dist\/daemon\/cli\/bin\.js daemon$/, 'start runs the built bin');
});

t.test('tsc -b builds, then skips while nothing changed, then rebuilds after a change', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'daemon'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        outDir: 'dist',
        rootDir: '.',
        types: [],
      },
    }),
  );
  writeFileSync(
    join(dir, 'tsconfig.build.json'),
    JSON.stringify({ extends: './tsconfig.json', include: ['daemon/**/*.ts'] }),
  );
  const src = join(dir, 'daemon', 'a.ts');
  writeFileSync(src, 'export const a: number = 1;\n');
  // The prestart command, run with the project's own tsc. Generous limit: a busy shared machine.
  const prestart = (): { status: number | null; out: string } => {
    const r = spawnSync(process.execPath, [TSC, '-b', 'tsconfig.build.json', '--verbose'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: r.status, out: r.stdout + r.stderr };
  };
  const out = join(dir, 'dist', 'daemon', 'a.js');

  const first = prestart();
  t.equal(first.status, 0, first.out);
  t.match(first.out, /Building project/);
  t.match(readFileSync(out, 'utf8'), /a = 1/);
  const builtAt = statSync(out).mtimeMs;

  const second = prestart();
  t.equal(second.status, 0, second.out);
  t.match(second.out, /is up to date/, 'nothing changed: no build');
  t.notMatch(second.out, /Building project/);
  t.equal(statSync(out).mtimeMs, builtAt, 'output untouched');

  writeFileSync(src, 'export const a: number = 2;\n');
  // A source saved later than the build (set explicitly: file times may be coarse).
  const later = new Date(builtAt + 5_000);
  utimesSync(src, later, later);
  const third = prestart();
  t.equal(third.status, 0, third.out);
  t.match(third.out, /Building project/, 'a changed source: rebuilt');
  t.match(readFileSync(out, 'utf8'), /a = 2/);

  writeFileSync(src, 'export const a: number = "x";\n');
  const when = new Date(builtAt + 10_000);
  utimesSync(src, when, when);
  const broken = prestart();
  t.not(broken.status, 0, 'a type error fails the build, so npm start does not start');
  t.match(broken.out, /TS2322/);
});
