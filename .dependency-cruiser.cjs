/**
 * Import rules `npm test` enforces (test/imports.e2e-spec.ts runs the
 * `lint:imports` script of package.json, whose arguments are the folders checked).
 * Type-only imports count: a cycle of types is still a cycle a reader must untangle.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: modules that need each other to be read. Move the shared piece down a layer.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|dist-bench)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
