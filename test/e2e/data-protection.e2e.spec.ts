import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { BACKPORT, DECISION_CHANGES_TOPIC } from '#libs/fhir';
import { DevIssuer } from '#libs/security';
import { startTestPlatform, syntheticGrant, syntheticPid, FNR, type TestPlatform } from '#libs/testing';

/**
 * Issue 22 over HTTP: the operator endpoint POST /api/v1/erasures, with its own scope. Erases
 * the person from the caller's municipality; the receipt names no person; bad input is a
 * problem+json naming the field, and changes nothing.
 */
describe('erasure endpoint (POST /api/v1/erasures)', () => {
  let p: TestPlatform;
  let eraser: ReturnType<typeof request.agent>;
  // Test people (+80): the dev issuer mints citizen tokens for them.
  const [person, other] = [syntheticPid({ offset: 80 }), syntheticPid({ offset: 80 })];
  /** Free text only the person's events hold. */
  const secret = `hjemmebesøk ${randomBytes(6).toString('hex')}`;
  let last = '';

  beforeAll(async () => {
    p = await startTestPlatform();
    eraser = await p.as({ scopes: ['erase'], clientId: 'personvernombud', clientName: 'Personvernombudet (test)', hpr: undefined });
    for (const pid of [person, person, other]) {
      const r = await p
        .http()
        .post('/api/v1/decision-events')
        .send(syntheticGrant({ patient: { system: FNR, value: pid }, description: pid === person ? secret : 'fritekst', performer: { orgnr: '974760673', name: 'Hjemmetjenesten' } }));
      expect([r.status, r.status === 201 ? '' : r.body]).toEqual([201, '']);
      last = r.body.checkpoint;
    }
    // The person as a citizen (issue 20): reads their own overview, reads the other's as their
    // representative (the access log's reader_pid), and sets and lifts a restriction (a stream
    // of its own). The erasure must reach all three.
    const issuer = p.app.get(DevIssuer, { strict: false }) as DevIssuer;
    const citizen = async (token: Promise<string>) => request.agent(p.app.getHttpServer()).set('authorization', `Bearer ${await token}`);
    const me = await citizen(issuer.issueCitizen({ pid: person }));
    await me.get('/api/v1/me/service-overview').expect(200);
    await (await citizen(issuer.issueCitizen({ pid: person, onBehalfOf: { pid: other, basis: 'power-of-attorney' } }))).get('/api/v1/me/service-overview').expect(200);
    await me.post('/api/v1/me/restrictions').send({ municipality: '313231593', scope: 'all' }).expect(201);
    await me.post('/api/v1/me/restrictions/lift').send({ municipality: '313231593' }).expect(201);
    // An app's FHIR subscription to each of them (issue 21): the person's holds the number in its filter.
    for (const pid of [person, other])
      await p
        .http()
        .post('/fhir/Subscription')
        .send({
          resourceType: 'Subscription',
          reason: 'erasure',
          criteria: DECISION_CHANGES_TOPIC,
          _criteria: { extension: [{ url: BACKPORT.filterCriteria, valueString: `patient.identifier=${FNR}|${pid}` }] },
          channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/none', payload: 'application/fhir+json', _payload: { extension: [{ url: BACKPORT.payloadContent, valueCode: 'id-only' }] } },
        })
        .expect(201);
  });
  afterAll(async () => {
    await p?.close();
  });

  /** Every table of the platform's database (information_schema), each row as text: which hold a needle. */
  const tablesHolding = async (needles: string[]): Promise<string[]> => {
    const { rows: tables } = await p.db.pool.query<{ table_name: string }>(
      `SELECT DISTINCT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY 1`,
    );
    expect(tables.length).toBeGreaterThan(10);
    const found: string[] = [];
    for (const { table_name } of tables)
      for (const needle of needles) {
        const { rows } = await p.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table_name}" x WHERE strpos(x::text, $1) > 0`, [needle]);
        if (rows[0]!.n > 0) found.push(`${table_name} (${needle})`);
      }
    return found;
  };

  const services = async (pid: string) => (await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', last).expect(200)).body.services as unknown[];

  it('needs its own scope: a token with every other scope is refused (403), and nothing changes', async () => {
    const r = await p.http().post('/api/v1/erasures').send({ person, reason: 'wrong municipality' });
    expect(r.status).toBe(403);
    expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await services(person)).toHaveLength(2);
  });

  it('refuses bad input with a problem naming the field and the rule; nothing changes', async () => {
    const bad = async (body: unknown, pointer: string) => {
      const r = await eraser.post('/api/v1/erasures').send(body as object);
      expect([r.status, r.headers['content-type']]).toEqual([400, expect.stringMatching(/application\/problem\+json/)]);
      expect(r.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
      expect(JSON.stringify(r.body)).not.toContain(person);
    };
    await bad({ person: person.slice(0, 10), reason: 'x' }, '/person');
    await bad({ person: ` ${person}`, reason: 'x' }, '/person');
    await bad({ person, reason: `the patient ${person}` }, '/reason');
    await bad({ person, reason: '' }, '/reason');
    await bad({ person, reason: 'x', extra: 1 }, '/extra');
    await bad({ reason: 'x' }, '/person');
    expect(await services(person)).toHaveLength(2);
  });

  it('a dry run counts; the erasure removes the person and leaves the other; the receipt names nobody', async () => {
    const dry = await eraser.post('/api/v1/erasures').send({ person, reason: 'posted to the wrong municipality', dryRun: true }).expect(200);
    expect(dry.body).toMatchObject({ kind: 'erasure', dryRun: true, events: 4, streams: 3, patients: 1 });
    expect(await services(person)).toHaveLength(2);

    const done = await eraser.post('/api/v1/erasures').send({ person, reason: 'posted to the wrong municipality' }).expect(200);
    expect(done.body).toMatchObject({ kind: 'erasure', dryRun: false, tenant: '313231593', events: 4, streams: 3, patients: 1, counts: { events: 4, service_overview: 1 } });
    expect(JSON.stringify(done.body)).not.toContain(person);
    // No table of the platform's database (every read model the platform runs, registered or not) holds the number or the free text;
    // the other patient's data is still found by the same scan.
    expect(await tablesHolding([person, secret])).toEqual([]);
    expect(await tablesHolding([other])).toEqual(expect.arrayContaining(['events (' + other + ')']));
    // (A read about the person after this is a new access, logged with the number as any read is.)
    expect(done.headers['cache-control']).toMatch(/no-store/);
    expect(await services(person)).toEqual([]);
    expect(await services(other)).toHaveLength(1);
  });
});
