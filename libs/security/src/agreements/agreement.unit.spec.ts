import { agreementDecision, newAgreementViolations, type Agreement } from './agreement.js';

const MUNICIPALITY = '313231593';
const GP = '315000017';
const HOSPITAL = '315000025';

const agreement = (over: Partial<Agreement> = {}): Agreement => ({
  id: '1',
  tenant: MUNICIPALITY,
  partnerOrgnr: GP,
  partnerName: 'Legesenteret (test)',
  kind: 'driftsavtale',
  purposes: ['TREAT', 'ETREAT'],
  validFrom: '2026-01-01',
  validTo: '2026-12-31',
  registeredAt: '2025-12-20T10:00:00.000Z',
  registeredBy: 'kommuneoverlegen',
  reason: 'driftsavtale 2026',
  ...over,
});

const ask = (agreements: Agreement[], over: Partial<Parameters<typeof agreementDecision>[1]> = {}) =>
  agreementDecision(agreements, { tenant: MUNICIPALITY, partner: GP, purpose: 'TREAT', today: '2026-06-15', ...over });

describe('FR-13 agreement rule: a partner reads a municipality only under an agreement in force for its purpose', () => {
  it('allows a GP practice with a driftsavtale in force for TREAT, naming the agreement', () => {
    const d = ask([agreement()]);
    expect(d).toEqual({ allowed: true, agreement: expect.objectContaining({ id: '1', kind: 'driftsavtale' }) });
  });

  it('counts the first and the last valid day (Norwegian calendar days, validTo inclusive)', () => {
    expect(ask([agreement()], { today: '2026-01-01' }).allowed).toBe(true);
    expect(ask([agreement()], { today: '2026-12-31' }).allowed).toBe(true);
    expect(ask([agreement({ validTo: undefined })], { today: '2031-05-05' }).allowed).toBe(true);
  });

  it('refuses with no-agreement when the register has none for the partner, or only with another municipality', () => {
    expect(ask([])).toMatchObject({ allowed: false, rule: 'no-agreement' });
    expect(ask([agreement({ partnerOrgnr: HOSPITAL })])).toMatchObject({ allowed: false, rule: 'no-agreement' });
    expect(ask([agreement({ tenant: '315000068' })])).toMatchObject({ allowed: false, rule: 'no-agreement' });
  });

  it('refuses with agreement-expired the day after validTo, and agreement-not-yet-valid before validFrom', () => {
    expect(ask([agreement()], { today: '2027-01-01' })).toMatchObject({ allowed: false, rule: 'agreement-expired', agreement: { id: '1' } });
    expect(ask([agreement()], { today: '2025-12-31' })).toMatchObject({ allowed: false, rule: 'agreement-not-yet-valid' });
  });

  it('refuses with agreement-ended once ended, even inside its period and for a covered purpose', () => {
    // Ended "later today" by a database clock ahead of ours: still ended (no clocks compared).
    const ended = agreement({ ended: { at: '2026-06-15T23:59:59.000Z', by: 'kommuneoverlegen', reason: 'avtalen sagt opp' } });
    expect(ask([ended])).toMatchObject({ allowed: false, rule: 'agreement-ended', agreement: { id: '1' } });
  });

  it('refuses with purpose-not-covered when one is in force for other purposes, or the token names none', () => {
    const hospital = agreement({ partnerOrgnr: HOSPITAL, kind: 'samarbeidsavtale', purposes: ['ETREAT'] });
    expect(ask([hospital], { partner: HOSPITAL, purpose: 'ETREAT' }).allowed).toBe(true);
    const treat = ask([hospital], { partner: HOSPITAL, purpose: 'TREAT' });
    expect(treat).toMatchObject({ allowed: false, rule: 'purpose-not-covered' });
    expect(!treat.allowed && treat.detail).toMatch(/allows the purposes ETREAT, not TREAT/);
    expect(ask([agreement()], { purpose: 'COC' })).toMatchObject({ allowed: false, rule: 'purpose-not-covered' });
    expect(ask([agreement()], { purpose: undefined })).toMatchObject({ allowed: false, rule: 'purpose-not-covered' });
  });

  it('allows under a newer agreement when an older one expired or was ended', () => {
    const old = agreement({ id: '1', validTo: '2025-12-31', validFrom: '2025-01-01' });
    const ended = agreement({ id: '2', ended: { at: '2026-03-01T00:00:00.000Z', by: 'x', reason: 'y' } });
    const current = agreement({ id: '3', validFrom: '2026-03-01', validTo: undefined });
    expect(ask([old, ended, current])).toEqual({ allowed: true, agreement: current });
    expect(ask([old, ended])).toMatchObject({ allowed: false, rule: 'agreement-ended', agreement: { id: '2' } });
  });
});

describe('FR-13 agreement rule: what a new agreement must hold', () => {
  const valid = { tenant: MUNICIPALITY, partnerOrgnr: GP, partnerName: 'Legesenteret', kind: 'driftsavtale', purposes: ['TREAT'], validFrom: '2026-01-01', registeredBy: 'ops', reason: 'avtale' };

  it('accepts a complete agreement', () => {
    expect(newAgreementViolations(valid)).toEqual([]);
    expect(newAgreementViolations({ ...valid, validTo: '2026-01-01' })).toEqual([]);
  });

  it.each([
    ['a partner number with a wrong check digit', { partnerOrgnr: '315000018' }, '/partnerOrgnr', 'check-digit'],
    ['the municipality as its own partner', { partnerOrgnr: MUNICIPALITY }, '/partnerOrgnr', 'not-the-municipality'],
    ['an unknown kind', { kind: 'avtale' }, '/kind', 'enum'],
    ['no purposes', { purposes: [] }, '/purposes', 'minItems'],
    ['an unknown purpose', { purposes: ['TREAT', 'HMARKT'] }, '/purposes/1', 'enum'],
    ['a repeated purpose', { purposes: ['TREAT', 'TREAT'] }, '/purposes/1', 'uniqueItems'],
    ['a day that does not exist', { validFrom: '2026-02-30' }, '/validFrom', 'format'],
    ['validTo before validFrom', { validTo: '2025-12-31' }, '/validTo', 'not-before-validFrom'],
    ['an empty reason', { reason: ' ' }, '/reason', 'minLength'],
    ['a control character in the name', { partnerName: 'Lege\u0000senteret' }, '/partnerName', 'no-control-characters'],
  ])('names the field and the rule for %s', (_, change, pointer, rule) => {
    expect(newAgreementViolations({ ...valid, ...change })).toEqual([expect.objectContaining({ pointer, rule })]);
  });
});
