/**
 * `npm run lint:cycles` (run by `npm test`'s pretest and by .ci/run): no import cycle in daemon/.
 * Type-only imports count (tsPreCompilationDeps): a cycle of types still ties modules together, as
 * the one through the composition root did (issue #18). Fix a cycle by moving the shared types to a
 * module of their own, not by adding an exception here.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules in daemon/ must not import each other in a cycle, type-only imports included.',
      from: { path: '^daemon/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Keep `import type` edges: they are erased at run time but are still a dependency to review.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The daemon's own sources only; the tests and scripts import it, never the other way round.
    includeOnly: '^daemon/',
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
