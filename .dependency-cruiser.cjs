/**
 * Import rules `npm test` enforces (test/imports.e2e-spec.ts runs the
 * `lint:imports` script of package.json, whose arguments are the folders checked):
 * no cycle, the service never imports the one-machine tools of src/dev/, and no
 * page view imports another (web/flow.ts connects them).
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
    {
      name: 'service-not-dev-tools',
      severity: 'error',
      comment: 'src/dev/ runs queuegate on one machine (the demo, the simulator, the tests); the service itself never needs it.',
      from: { path: '^src/', pathNot: '^src/(demo\\.ts|dev/)' },
      to: { path: '^src/dev/' },
    },
    {
      name: 'web-views-independent',
      severity: 'error',
      comment: 'A page view imports another view: views register their steps with web/flow.ts and move on through it.',
      from: { path: '^web/views/' },
      to: { path: '^web/views/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|dist-bench)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
