import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import type { Tenant, TenantId } from '#libs/tenancy';
import { DevIssuer, DevTokenRefusedError, devTokenRefusal } from './dev-issuer.js';
import { DEMO_ROLES, demoRole } from './security.module.js';

const PROTOTYPE_KEYS = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__'];

describe('demo roles are looked up by own property only', () => {
  it.each(Object.keys(DEMO_ROLES))('%s is a role', (name) => {
    expect(demoRole(name)).toBe(DEMO_ROLES[name as keyof typeof DEMO_ROLES]);
  });
  it.each([...PROTOTYPE_KEYS, '', 'Legevakt', ' legevakt'])('%j is no role', (name) => {
    expect(demoRole(name)).toBeUndefined();
  });
  it.each([undefined, null, 42, ['legevakt'], { role: 'legevakt' }])('%j is no role', (name) => {
    expect(demoRole(name)).toBeUndefined();
  });
});

describe('dev tokens are only for registered test municipalities', () => {
  const tenants: Record<string, Tenant> = {
    '313231593': { id: '313231593' as TenantId, name: 'Test', environment: 'test' } as Tenant,
    '922734046': { id: '922734046' as TenantId, name: 'Prod', environment: 'production' } as Tenant,
  };
  const registry = { get: async (id: TenantId) => (Object.hasOwn(tenants, id) ? tenants[id] : undefined) };
  let dir: string;
  let issuer: DevIssuer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fpi-dev-issuer-'));
    issuer = await DevIssuer.open(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses a production municipality, and an unknown one, with the reason', () => {
    expect(devTokenRefusal('922734046', { environment: 'production' })).toMatchObject({ reason: 'production-tenant', message: expect.stringMatching(/production municipality/) });
    expect(devTokenRefusal('974760673', undefined)).toMatchObject({ reason: 'unknown-tenant', message: expect.stringMatching(/not a registered municipality/) });
    expect(devTokenRefusal('313231593', { environment: 'test' })).toBeUndefined();
  });

  it('mints for a test municipality and refuses the others', async () => {
    expect(decodeJwt(await issuer.issueForTenant(registry, { tenant: '313231593', scopes: ['write'] }))).toMatchObject({ 'helseid://claims/client/claims/orgnr_parent': '313231593' });
    await expect(issuer.issueForTenant(registry, { tenant: '922734046', scopes: ['write'] })).rejects.toBeInstanceOf(DevTokenRefusedError);
    await expect(issuer.issueForTenant(registry, { tenant: '974760673', scopes: ['write'] })).rejects.toMatchObject({ reason: 'unknown-tenant' });
    await expect(issuer.issueForTenant(registry, { tenant: 'toString', scopes: ['write'] })).rejects.toMatchObject({ reason: 'unknown-tenant' });
  });

  it("mints a partner's token for a test municipality (orgnr_parent and legal entity: the partner), never as a production municipality", async () => {
    const token = decodeJwt(await issuer.issueForTenant(registry, { tenant: '313231593', org: '315000017', scopes: ['read'], purpose: 'TREAT' }));
    expect(token['helseid://claims/client/claims/orgnr_parent']).toBe('315000017');
    expect((token.authorization_details as { practitioner: { legal_entity: { id: string } } }[])[0]!.practitioner.legal_entity.id).toBe('315000017');
    await expect(issuer.issueForTenant(registry, { tenant: '313231593', org: '922734046', scopes: ['read'] })).rejects.toMatchObject({ reason: 'production-tenant' });
    await expect(issuer.issueForTenant(registry, { tenant: '922734046', org: '315000017', scopes: ['read'] })).rejects.toMatchObject({ reason: 'production-tenant' });
  });

  it.each(PROTOTYPE_KEYS)('refuses the scope %j (own keys of SCOPES only)', async (scope) => {
    await expect(issuer.issue({ tenant: '313231593', scopes: [scope as never] })).rejects.toThrow(/unknown scope/);
  });
});
