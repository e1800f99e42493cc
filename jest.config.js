// Jest runs the TypeScript sources as native ES modules (node --experimental-vm-modules),
// transpiled by SWC, which also emits the decorator metadata Nest's DI needs.
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', swc],
    // CommonJS packages that require() an ES module (fine in Node 20.19+, not in Jest's
    // module runtime before Node 24.9): compile those ES modules to CommonJS.
    'node_modules/content-disposition/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  moduleNameMapper: {
    '^#libs/([^/]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^#libs/testing/(.*)$': '<rootDir>/libs/testing/src/$1',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.spec.ts'],
  // startTestPlatform's platform (libs/testing imports no app; see the file).
  setupFiles: ['<rootDir>/test/support/platform-app.ts'],
  // A query on a pg client that is still busy fails the test file (see the file).
  setupFilesAfterEnv: ['<rootDir>/test/support/no-concurrent-queries.ts'],
  globalSetup: '<rootDir>/libs/testing/src/global-setup.js',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.js',
  maxWorkers: 2,
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/libs/testing/src/summary-reporter.js'],
};
