import helmet from 'helmet';
import { securityHeaders } from './security-headers.js';

describe('securityHeaders', () => {
  it("is helmet's header set without a CSP: HSTS, nosniff, frame denial", () => {
    const headers = securityHeaders({ contentSecurityPolicy: false });
    expect(headers['strict-transport-security']).toMatch(/^max-age=[0-9]+/);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(headers).not.toHaveProperty('content-security-policy');
  });

  it('sets exactly what helmet sets on a response, value for value', () => {
    const set: Record<string, string> = {};
    const res = { setHeader: (n: string, v: string) => (set[n.toLowerCase()] = v), removeHeader: (n: string) => delete set[n.toLowerCase()], getHeader: () => undefined };
    helmet({ contentSecurityPolicy: false })({} as never, res as never, () => undefined);
    expect(securityHeaders({ contentSecurityPolicy: false })).toEqual(set);
    expect(Object.keys(set).length).toBeGreaterThan(8);
  });

  it("throws helmet's error for options helmet refuses", () => {
    expect(() => securityHeaders({ strictTransportSecurity: { maxAge: -1 } })).toThrow();
  });
});
