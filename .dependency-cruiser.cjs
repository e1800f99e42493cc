/**
 * Which module may import which (dependency-cruiser; `npm run lint` runs it). The form follows
 * Sairyss/domain-driven-hexagon's `.dependency-cruiser.js`: our rules first, then the
 * recommended ones that catch real faults. Paths are relative to the repository root.
 *
 * Known violations in code that is being reshaped (issue 17) are recorded in
 * `.dependency-cruiser-known-violations.json` (`npx depcruise-baseline` writes it); they are
 * reported as warnings, a new violation fails the run. Regenerate the baseline when one is fixed.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
const SPEC = '\\.(spec|contract)\\.ts$';
/**
 * Test support reached by path rather than through an index: each file of libs/testing (its index
 * re-exports the heavy helpers, which a unit spec must not load) and a library's own `testing/`
 * folder (kept out of its index so deployed code never loads the validators they use).
 */
const TEST_SUPPORT_ENTRIES = ['^libs/testing/src/', '^libs/[^/]+/src/testing/'];
/**
 * Test support that starts PostgreSQL, a broker, a browser or a platform: never in a unit spec. (A library
 * that merely imports `pg` or `kafkajs` is fine: importing a driver connects nowhere.)
 */
const HEAVY_TEST_SUPPORT = [
  '^libs/testing/src/(index|test-database|test-platform|pg-cluster|service-process|kafka-broker|chromium|schemathesis)\\.ts$',
  '^libs/testing/src/global-(setup|teardown)\\.js$',
  // HTTP and browser drivers: a unit spec calls functions, it does not drive a server.
  '(^|/)node_modules/(supertest|@nestjs/testing|playwright-core|fhir-kit-client)/',
];

module.exports = {
  forbidden: [
    /* our rules */
    {
      name: 'domain-imports-only-itself',
      comment: 'libs/domain is the pure core (decisions, identifiers, codes, overview fold): it imports no other library, app, test or benchmark of ours.',
      severity: 'error',
      from: { path: '^libs/domain/' },
      // Its specs may use the pure given/when/then helper for deciders (no I/O, no other library).
      to: { path: '^(libs|apps|test|bench)/', pathNot: ['^libs/domain/', '^libs/testing/src/decider-specification\\.ts$'] },
    },
    {
      name: 'libs-not-to-apps',
      comment: 'A library never imports an app: apps compose libraries, not the other way round.',
      severity: 'error',
      from: { path: '^libs/', pathNot: '^libs/testing/' },
      to: { path: '^apps/' },
    },
    {
      name: 'testing-not-to-apps',
      comment: 'libs/testing (shared test support) imports no app; a test that needs a running app starts it itself, or the app is handed in.',
      severity: 'error',
      from: { path: '^libs/testing/' },
      to: { path: '^apps/' },
    },
    {
      name: 'lib-only-through-its-index',
      comment: 'Another library is reached only through its public face (`#libs/<name>`, its src/index.ts), never by a relative path into its folders.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: { path: '^libs/', pathNot: ['^libs/[^/]+/src/index\\.ts$', '^libs/$1/', ...TEST_SUPPORT_ENTRIES] },
    },
    {
      name: 'apps-use-libs-through-their-index',
      comment: 'Apps, cross-service tests and benchmarks reach a library through `#libs/<name>` only.',
      severity: 'error',
      from: { path: '^(?:apps|test|bench)/' },
      to: { path: '^libs/', pathNot: ['^libs/[^/]+/src/index\\.ts$', ...TEST_SUPPORT_ENTRIES] },
    },
    {
      name: 'adapters-only-through-ports',
      comment:
        'An adapter folder (postgres/, kurrentdb/, kafka/) is used through its port (EventStore, TenantRegistry, MessagePublisher); ' +
        "only its own folder, its library's module wiring (index.ts, *.module.ts) and specs import it directly.",
      severity: 'error',
      from: {
        pathNot: ['^libs/([^/]+)/src/(postgres|kurrentdb|kafka)/', '^libs/[^/]+/src/index\\.ts$', '\\.module\\.ts$', SPEC],
      },
      to: { path: '^libs/[^/]+/src/(postgres|kurrentdb|kafka)/' },
    },
    {
      name: 'unit-specs-stay-light',
      comment: 'A unit spec (*.unit.spec.ts) tests pure logic: it reaches no database, broker, browser or platform helper, directly or through what it imports.',
      severity: 'error',
      from: { path: '\\.unit\\.spec\\.ts$' },
      to: { path: HEAVY_TEST_SUPPORT, reachable: true },
    },
    {
      name: 'no-test-support-in-production',
      comment: 'Deployed code (apps/, libs/ outside tests and test support) imports nothing from libs/testing or test/.',
      severity: 'error',
      from: { path: '^(apps|libs)/', pathNot: ['^libs/testing/', '/testing/', SPEC] },
      to: { path: ['^libs/testing/', '^test/'] },
    },

    /* from dependency-cruiser's recommended set */
    {
      name: 'no-circular',
      comment: 'A cycle (specs included) means two modules cannot be understood, tested or moved apart: invert one dependency.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-spec',
      comment: 'Nothing imports a spec file; shared test code belongs in a helper (contract suites, *.contract.ts, are such helpers).',
      severity: 'error',
      from: {},
      to: { path: '\\.spec\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      comment: 'Every npm package we import is declared in package.json.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'Deployed code imports only runtime dependencies (devDependencies are not installed in the image).',
      severity: 'error',
      from: { path: '^(apps|libs)/', pathNot: ['^libs/testing/', '/testing/', SPEC] },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: '(^|/)node_modules/@types/' },
    },
    {
      name: 'no-deprecated-core',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['core'], path: '^(punycode|domain|constants|sys|_linklist|_stream_wrap)$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|data|coverage|\\.tmp)/' },
    // Type-only imports count: a cycle through types still ties the two modules together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      // `types` first: `#libs/<name>` (package.json "imports") resolves to libs/<name>/src/index.ts.
      conditionNames: ['types', 'import', 'require', 'node', 'default'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
