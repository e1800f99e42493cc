// `npm run test:unit`: the pure specs, without PostgreSQL (no globalSetup), without a build
// (SWC transpiles the TypeScript sources, `#libs/*` maps to libs/*/src), in seconds.
// Unit specs are named `*.unit.spec.ts`; dependency-cruiser's `unit-specs-stay-light` rule keeps
// the heavy test helpers (test databases, platforms, brokers, browsers) out of them.
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.unit.spec.ts'],
  setupFiles: [],
  globalSetup: undefined,
  globalTeardown: undefined,
  reporters: ['default'],
  testTimeout: 10000,
};
