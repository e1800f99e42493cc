// Jest set-up file (jest.config.js `setupFiles`): tells libs/testing's `startTestPlatform` how to
// make the all-in-one platform, so that libs/testing itself imports no app (dependency-cruiser's
// `testing-not-to-apps`). The import is deferred to the first start: importing this file costs
// nothing, and the platform module reads the environment `startTestPlatform` sets before it.
globalThis.__fpiCreatePlatformApp = async (options) => (await import('../../apps/platform/src/bootstrap.js')).createPlatformApp(options);
