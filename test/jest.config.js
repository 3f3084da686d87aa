// Unit specs beside the code (src/**/*.spec.ts, scripts/**/*.spec.ts, web/**/*.spec.ts), end-to-end
// suites against real redis-server processes the harness starts (test/**), and two
// slow projects `npm test` leaves out: fault injection (test/faults, npm run
// test:faults) and the container image built and booted (test/image, npm run
// test:image, about 7 minutes of image build).
const { resolve } = require('node:path');

const rootDir = resolve(__dirname, '..');
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: `${rootDir}/tsconfig.json` }],
  // content-disposition (under @fastify/static, which /docs needs) ships ES
  // modules only; Node loads it natively (require(esm)), Jest's module system does not.
  '/node_modules/content-disposition/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs' } }],
};
const transformIgnorePatterns = ['/node_modules/(?!content-disposition/)'];
// The page's modules (web/) import each other as the browser loads them, './x.js': Jest finds x.ts.
const moduleNameMapper = { '^(\\.{1,2}/.*)\\.js$': '$1' };

module.exports = {
  rootDir,
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      rootDir,
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      moduleNameMapper,
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/scripts/**/*.spec.ts', '<rootDir>/web/**/*.spec.ts'],
    },
    { displayName: 'e2e', rootDir, testEnvironment: 'node', transform, transformIgnorePatterns, testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
    { displayName: 'faults', rootDir, testEnvironment: 'node', transform, transformIgnorePatterns, testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'] },
    { displayName: 'image', rootDir, testEnvironment: 'node', transform, transformIgnorePatterns, testMatch: ['<rootDir>/test/image/**/*.image-spec.ts'] },
  ],
};
