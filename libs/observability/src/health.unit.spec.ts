import { publicReadiness } from './health.js';

describe('readiness for anonymous callers', () => {
  it('folds per-database checks into one and shows no names, messages or tenants', () => {
    const details = {
      database: { status: 'up', schemaVersion: 6 },
      'database:oslo': { status: 'down', message: 'connect ECONNREFUSED oslo-db:5432' },
      projections: { status: 'degraded', projections: [{ tenant: '313231593', database: 'oslo' }] },
      'token-keys': { status: 'up' },
    };
    const summary = publicReadiness({ details } as never);
    expect(summary).toEqual({ status: 'down', checks: { database: 'down', projections: 'degraded', 'token-keys': 'up' } });
    expect(JSON.stringify(summary)).not.toMatch(/oslo|313231593|ECONNREFUSED/);
  });

  it.each([
    [{ a: { status: 'up' }, b: { status: 'up' } }, 'up'],
    [{ a: { status: 'up' }, b: { status: 'degraded' } }, 'degraded'],
    [{ a: { status: 'degraded' }, b: { status: 'down' } }, 'down'],
    [{ a: { status: 'surprise' } }, 'down'],
    [{}, 'up'],
  ])('%j is %s', (details, status) => {
    expect(publicReadiness({ details } as never).status).toBe(status);
  });
});
