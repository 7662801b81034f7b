// writeSection: a bench rewrites only its generated part of BENCHMARKS.md; what people wrote
// around it stays; a report without the markers is refused with what to add.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { writeSection } from '../../scripts/report-section.js';
import { tempDir } from '../support/harness.js';

t.test('replaces between its markers only; creates a missing file; refuses a report without them', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'BENCH.md');
  writeFileSync(
    file,
    [
      '<!-- generated: a (begin) -->',
      'old table',
      '<!-- generated: a (end) -->',
      '',
      '## Findings (2026-11-23)',
      'written by hand',
      '',
      '<!-- generated: b (begin) -->',
      'old details',
      '<!-- generated: b (end) -->',
      '',
    ].join('\n'),
  );
  writeSection(file, 'a', '# Bench\n\n| new | table |\n');
  writeSection(file, 'b', 'new details');
  t.equal(
    readFileSync(file, 'utf8'),
    [
      '<!-- generated: a (begin) -->',
      '# Bench',
      '',
      '| new | table |',
      '<!-- generated: a (end) -->',
      '',
      '## Findings (2026-11-23)',
      'written by hand',
      '',
      '<!-- generated: b (begin) -->',
      'new details',
      '<!-- generated: b (end) -->',
      '',
    ].join('\n'),
  );

  const fresh = join(dir, 'new.md');
  writeSection(fresh, 'a', 'table');
  t.equal(readFileSync(fresh, 'utf8'), '<!-- generated: a (begin) -->\ntable\n<!-- generated: a (end) -->\n');
  t.throws(() => writeSection(fresh, 'c', 'x'), {
    message: /has no section c: add the lines "<!-- generated: c \(begin\) -->"/,
  });
});

t.test('BENCHMARKS.md has the sections bench-pbx writes, and its findings outside them', async (t) => {
  const text = readFileSync(new URL('../../BENCHMARKS.md', import.meta.url), 'utf8');
  for (const name of ['bench-pbx summary', 'bench-pbx details']) {
    t.ok(text.indexOf(`<!-- generated: ${name} (begin) -->`) < text.indexOf(`<!-- generated: ${name} (end) -->`), name);
  }
  const findings = text.indexOf('## The AstDB mirror (2026-11-23)');
  t.ok(
    findings > text.indexOf('<!-- generated: bench-pbx summary (end) -->') &&
      findings < text.indexOf('<!-- generated: bench-pbx details (begin) -->'),
    'the dated findings are outside the generated parts',
  );
  const script = readFileSync(new URL('../../scripts/bench-pbx.ts', import.meta.url), 'utf8');
  t.notMatch(script, /2026-11-23|<\?xml/, 'the bench script carries neither dated measurements nor a SIPp scenario');
});
