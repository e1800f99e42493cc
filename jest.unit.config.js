// `npm run test:unit`: the pure specs, without PostgreSQL (no globalSetup), without a build
// (SWC transpiles the TypeScript sources, `#libs/*` maps to libs/*/src), in seconds.
// Unit specs are named `*.unit.spec.ts`; dependency-cruiser's `unit-specs-stay-light` rule keeps
// the heavy test helpers (test databases, platforms, brokers, browsers) out of them.
import base from './jest.config.js';

/**
 * Pure specs not renamed yet (issue 17 renames them to *.unit.spec.ts once the refactor has
 * landed). TODO(issue 17): rename these files and delete this list.
 */
const PURE_SPECS_NOT_YET_RENAMED = [
  'libs/contracts/src/storable-text.spec.ts',
  'libs/database/src/databases.spec.ts',
  'libs/domain/src/dates.spec.ts',
  'libs/domain/src/identifiers/organisation-number.spec.ts',
  'libs/domain/src/identifiers/parse-person-identifier.spec.ts',
  'libs/domain/src/identifiers/person-identifier.spec.ts',
  'libs/domain/src/overview/service-overview.spec.ts',
  'libs/domain/src/service-codes/service-codes.spec.ts',
  'libs/event-store/src/checkpoint.spec.ts',
  'libs/fhir/src/bundle.spec.ts',
  'libs/fhir/src/capability-statement.spec.ts',
  'libs/fhir/src/episode-of-care-id.spec.ts',
  'libs/fhir/src/episode-of-care.spec.ts',
  'libs/fhir/src/formats.spec.ts',
  'libs/fhir/src/operation-outcome.spec.ts',
  'libs/fhir/src/search-params.spec.ts',
  'libs/fhir/src/testing/validate.spec.ts',
  'libs/http/src/body-parsers.spec.ts',
  'libs/observability/src/health.spec.ts',
  'libs/observability/src/request-log.spec.ts',
  'libs/event-forwarding/src/forwarded-message.spec.ts',
  'libs/receive/src/receive-problems.spec.ts',
  'libs/security/src/agreements/agreement.spec.ts',
  'libs/security/src/dev-issuer.spec.ts',
  'libs/security/src/dpop.spec.ts',
  'libs/security/src/person-id.spec.ts',
  'libs/security/src/public-url.spec.ts',
  'libs/security/src/token-verifier.spec.ts',
  'libs/synthetic/src/population.spec.ts',
  'test/docker/compose.spec.ts',
  'test/report/traceability.spec.ts',
];

export default {
  ...base,
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.unit.spec.ts', ...PURE_SPECS_NOT_YET_RENAMED.map((path) => `<rootDir>/${path}`)],
  setupFiles: [],
  globalSetup: undefined,
  globalTeardown: undefined,
  reporters: ['default'],
  testTimeout: 10000,
};
