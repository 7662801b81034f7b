// ESLint flat config: typescript-eslint's strict, type-checked rules on every TypeScript file
// (daemon, scripts, tests), on top of ESLint's recommended set. Run with `npm run lint`;
// npm test's pretest and .ci/run both run it. Findings are fixed, not disabled one by one; the
// overrides below for test files say why each rule does not fit them.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', '.tap/', 'coverage/', 'artifacts/', '.sandbox/', 'var/'] },
  // An `eslint-disable` comment that no longer suppresses anything is itself a finding.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Numbers read the same in every template (ms, counts, ports); null, undefined and objects do not.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowNumber: true,
          allowAny: false,
          allowBoolean: false,
          allowNullish: false,
          allowRegExp: false,
          allowNever: false,
          allowArray: false,
        },
      ],
      // `() => void`-returning arrow shorthands (`(s) => out.push(s)` as a callback) say nothing confusing.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `_` names a value that is deliberately unused (`for await (const _ of lines) n++`).
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
      // tap runs and reports every t.test() it is given, awaited or not.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
    },
  },
  {
    // Test files only (test/support/ keeps every rule: its helpers and fakes are code like the daemon's).
    files: ['test/**/*.test.ts'],
    rules: {
      // A tap test ends when its function's promise settles, or at t.end(): a body without an
      // await stays `async (t) => …` so that it ends by itself like every other (a plain function
      // that forgets t.end() fails as "test unfinished", and takes the next test with it).
      '@typescript-eslint/require-await': 'off',
      // `rows[0]!` after `t.equal(rows.length, 1)`: the assertions before it are the check, and a
      // wrong guess still fails the test (a TypeError on that line). Helpers use test/support/must.ts.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // This file and .dependency-cruiser.cjs: Node scripts, not part of the TypeScript project.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { globals: { module: 'readonly', require: 'readonly', process: 'readonly' } },
  },
);
