import { createTestDatabase, type TestDatabase } from '#libs/testing';
import { AgreementAlreadyEndedError, AgreementNotFoundError, AgreementRegister, InvalidAgreementError, UnknownAgreementTenantError } from './agreement-register.js';
import type { NewAgreement } from './agreement.js';

const MUNICIPALITY = '313231593';
const GP = '315000017';

describe('FR-13 agreement register in PostgreSQL: agreements are only ever added or ended, and every change is history', () => {
  let db: TestDatabase;
  let register: AgreementRegister;
  const gp: NewAgreement = {
    tenant: MUNICIPALITY,
    partnerOrgnr: GP,
    partnerName: 'Legesenteret',
    kind: 'driftsavtale',
    purposes: ['TREAT', 'ETREAT'],
    validFrom: '2026-01-01',
    validTo: '2026-12-31',
    registeredBy: 'kommuneoverlegen',
    reason: 'driftsavtale 2026',
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query('SELECT fpi_add_tenant($1, $2, $3)', [MUNICIPALITY, 'Test kommune', 'test']);
    register = new AgreementRegister(db.pool);
  });
  afterAll(async () => db?.drop());

  it('adds an agreement with its dates as calendar days, and reads it back by partner', async () => {
    const added = await register.add(gp);
    expect(added).toMatchObject({ tenant: MUNICIPALITY, partnerOrgnr: GP, validFrom: '2026-01-01', validTo: '2026-12-31', purposes: ['TREAT', 'ETREAT'] });
    expect(await register.ofPartner(MUNICIPALITY, GP)).toEqual([added]);
    expect(await register.ofPartner(MUNICIPALITY, '315000025')).toEqual([]);
  });

  it('ends an agreement once, records who and why, and keeps both changes in the history', async () => {
    const added = await register.add({ ...gp, reason: 'to be ended' });
    const ended = await register.end(MUNICIPALITY, added.id, { endedBy: 'kommuneoverlegen', reason: 'sagt opp' });
    expect(ended.ended).toMatchObject({ by: 'kommuneoverlegen', reason: 'sagt opp' });
    await expect(register.end(MUNICIPALITY, added.id, { endedBy: 'x', reason: 'y' })).rejects.toBeInstanceOf(AgreementAlreadyEndedError);
    await expect(register.end('315000068', added.id, { endedBy: 'x', reason: 'y' })).rejects.toBeInstanceOf(AgreementNotFoundError);
    const mine = (await register.changes(MUNICIPALITY)).filter((c) => c.agreementId === added.id);
    expect(mine.map((c) => [c.change, c.changedBy, c.reason])).toEqual([
      ['added', 'kommuneoverlegen', 'to be ended'],
      ['ended', 'kommuneoverlegen', 'sagt opp'],
    ]);
    expect(mine[1]!.agreement).toEqual(ended);
  });

  it('refuses a broken agreement or an unknown municipality, storing nothing', async () => {
    const before = (await register.changes(MUNICIPALITY)).length;
    await expect(register.add({ ...gp, validTo: '2025-01-01' })).rejects.toBeInstanceOf(InvalidAgreementError);
    await expect(register.add({ ...gp, tenant: '315000068' })).rejects.toBeInstanceOf(UnknownAgreementTenantError);
    expect(await register.changes(MUNICIPALITY)).toHaveLength(before);
  });

  it('lets the database refuse rewriting an agreement, deleting it, or touching the history', async () => {
    const { id } = await register.add({ ...gp, reason: 'tamper test' });
    await expect(db.pool.query("UPDATE agreements SET purposes = '{TREAT,ETREAT,COC}' WHERE agreement_id = $1", [id])).rejects.toThrow(/only ever ended/);
    await expect(db.pool.query('DELETE FROM agreements WHERE agreement_id = $1', [id])).rejects.toThrow(/never deleted/);
    await expect(db.pool.query('UPDATE agreement_history SET reason = $1', ['x'])).rejects.toThrow(/append-only/);
    await expect(db.pool.query('DELETE FROM agreement_history')).rejects.toThrow(/append-only/);
  });

  it('adds the set-up agreement once however many instances start together (unlessInForce)', async () => {
    const partner = '315000033';
    const all = await Promise.all(Array.from({ length: 4 }, () => register.add({ ...gp, partnerOrgnr: partner, reason: 'demo' }, { unlessInForce: true })));
    expect(new Set(all.map((a) => a.id)).size).toBe(1);
    expect(await register.ofPartner(MUNICIPALITY, partner)).toHaveLength(1);
  });
});
