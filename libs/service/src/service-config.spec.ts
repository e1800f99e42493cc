import { loadConfig } from './service-config.js';

describe('the development test municipality', () => {
  it.each([
    ['the dev issuer (embedded default)', {}, { id: '313231593', name: 'Test kommune' }],
    ['the dev issuer, another one named', { FPI_DEV_TENANT: '912159523', FPI_DEV_TENANT_NAME: 'Bodø (test)' }, { id: '912159523', name: 'Bodø (test)' }],
    ['the dev issuer, switched off', { FPI_DEV_TENANT: '' }, undefined],
    ['HelseID (production mode)', { FPI_AUTH_JWKS_URL: 'https://helseid.example/jwks' }, undefined],
    ['HelseID, one named explicitly by the operator', { FPI_AUTH_JWKS_URL: 'https://helseid.example/jwks', FPI_DEV_TENANT: '912159523' }, { id: '912159523', name: 'Test kommune' }],
  ])('with %s: %j', (_, env, devTenant) => {
    expect(loadConfig(env as NodeJS.ProcessEnv).devTenant).toEqual(devTenant);
  });
});
