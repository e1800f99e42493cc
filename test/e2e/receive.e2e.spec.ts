import { randomUUID } from 'node:crypto';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { tenantId } from '#libs/tenancy';
import { startTestPlatform, syntheticPid, FNR, DNR, type TestPlatform } from '#libs/testing';
import { decisionEventExamples } from '#libs/receive';
import { compileValidator, DecisionEventSchema } from '#libs/contracts';
import { packageRoot } from '#libs/database';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const TENANT = tenantId('313231593');
const PROBLEM = /^application\/problem\+json/;

describe('receive service (mottakstjeneste) over HTTP', () => {
  let p: TestPlatform;
  let store: EventStore;

  beforeAll(async () => {
    p = await startTestPlatform();
    store = p.app.get<EventStore>(EVENT_STORE);
  });
  afterAll(async () => p?.close());

  const grant = (overrides: Record<string, unknown> = {}) => ({
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId: `V-${randomUUID().slice(0, 8)}`,
    occurredAt: '2026-03-01T08:15:00+01:00',
    sourceSystem: 'epj-test',
    patient: { system: FNR, value: syntheticPid() },
    service: { code: '15' },
    period: { start: '2026-03-01' },
    extent: { value: 6, unit: 'hours-per-week' },
    performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+47 99 99 99 99' },
    ...overrides,
  });
  const follow = (granted: ReturnType<typeof grant>, type: string, fields: Record<string, unknown> = {}) => ({
    type,
    eventId: randomUUID(),
    decisionId: granted.decisionId,
    occurredAt: '2026-04-01T10:00:00Z',
    sourceSystem: granted.sourceSystem,
    patient: granted.patient,
    ...fields,
  });
  const post = (body: unknown) =>
    p
      .http()
      .post('/api/v1/decision-events')
      .send(body as object);
  const streamOf = (e: { sourceSystem: string; decisionId: string }) => store.readStream(TENANT, `Decision/${e.sourceSystem}/${e.decisionId}`);

  function expectProblem(res: { status: number; headers: Record<string, string>; body: any }, status: number, pointer: string, rule: string) {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ status, type: expect.stringMatching(/^urn:fpi:problem:/), title: expect.any(String) });
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer, rule })]));
  }

  describe('every event type', () => {
    it('records a decision through its whole lifecycle, normalised', async () => {
      const g = grant({ service: { code: '015' }, extent: { value: 24, unit: 'hours-per-month' } });
      const r1 = await post(g).expect(201);
      expect(r1.body).toEqual({ eventId: g.eventId, decisionId: g.decisionId, streamPosition: 1, checkpoint: expect.stringMatching(/^\d+-\d+$/) });
      await post(follow(g, 'ServiceDecisionChanged', { extent: { value: 8, unit: 'hours-per-week' }, description: 'Økt behov' })).expect(201);
      await post(follow(g, 'ServicePaused', { pausedFrom: '2026-04-02', reason: 'Innlagt på sykehus' })).expect(201);
      await post(follow(g, 'ServiceResumed', { resumedFrom: '2026-04-09' })).expect(201);
      const end = await post(follow(g, 'ServiceEnded', { endDate: '2026-06-30' })).expect(201);
      expect(end.body.streamPosition).toBe(5);
      const stored = await streamOf(g);
      expect(stored.map((e) => e.type)).toEqual(['ServiceDecisionGranted', 'ServiceDecisionChanged', 'ServicePaused', 'ServiceResumed', 'ServiceEnded']);
      expect(stored[0]!.data).toMatchObject({ serviceCode: '15', weeklyHours: 6, patient: g.patient, occurredAt: g.occurredAt, sourceSystem: 'epj-test' });
      expect(stored[0]!.metadata).toMatchObject({ sourceSystem: 'epj-test', clientId: 'dev-client' });
      expect(stored[2]!.data).toMatchObject({ pausedFrom: '2026-04-02', reason: 'Innlagt på sykehus' });
    });

    it('records a decision entered in error, and keeps its history', async () => {
      const g = grant();
      await post(g).expect(201);
      await post(follow(g, 'DecisionEnteredInError', { reason: 'Feil pasient' })).expect(201);
      expect((await streamOf(g)).map((e) => e.type)).toEqual(['ServiceDecisionGranted', 'DecisionEnteredInError']);
    });

    it('accepts D-numbers and 2032-rule numbers, and the calling client as default source system', async () => {
      const g = grant({ patient: { system: DNR, value: syntheticPid({ dNumber: true }) } });
      delete (g as Record<string, unknown>).sourceSystem;
      await (await p.as({ clientId: 'epj-b' })).post('/api/v1/decision-events').send(g).expect(201);
      expect(await store.readStream(TENANT, `Decision/epj-b/${g.decisionId}`)).toHaveLength(1);
      await post(grant({ patient: { system: FNR, value: syntheticPid({ rule: '2032' }) } })).expect(201);
    });

    it('accepts every OpenAPI example as valid information model v1', () => {
      const validate = compileValidator(DecisionEventSchema);
      for (const example of Object.values(decisionEventExamples)) expect(validate(example.value)).toEqual({ ok: true, value: example.value });
    });
  });

  describe('idempotency', () => {
    it('answers a retry with 200 and the same receipt, storing nothing', async () => {
      const g = grant();
      const first = await post(g).expect(201);
      const again = await post(g).expect(200);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replay']).toBe('true');
      expect(await streamOf(g)).toHaveLength(1);
      // also once later events exist
      await post(follow(g, 'ServicePaused')).expect(201);
      expect((await post(g).expect(200)).body).toEqual(first.body);
    });

    it('refuses the same eventId with another payload (409) and keeps the stored one', async () => {
      const g = grant();
      await post(g).expect(201);
      const res = await post({ ...g, extent: { value: 7, unit: 'hours-per-week' } });
      expectProblem(res, 409, '/eventId', 'idempotency');
      const other = await post({ ...grant(), eventId: g.eventId });
      expectProblem(other, 409, '/eventId', 'idempotency');
      const stored = await streamOf(g);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.data.weeklyHours).toBe(6);
    });

    it('stores exactly one event for 32 concurrent identical posts', async () => {
      const g = grant();
      const responses = await Promise.all(Array.from({ length: 32 }, () => post(g)));
      expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
      expect(responses.filter((r) => r.status === 200)).toHaveLength(31);
      for (const r of responses) expect(r.body).toEqual(responses[0]!.body);
      expect(await streamOf(g)).toHaveLength(1);
    });

    it('retries concurrent different events on one decision internally', async () => {
      const g = grant();
      await post(g).expect(201);
      const changes = Array.from({ length: 4 }, (_, i) => follow(g, 'ServiceDecisionChanged', { description: `endring ${i}` }));
      const responses = await Promise.all(changes.map(post));
      expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201]);
      expect((await streamOf(g)).map((e) => e.streamPosition)).toEqual([1, 2, 3, 4, 5]);
    });
  });

  describe('rules, each with its problem response', () => {
    it.each([
      ['check digits of the patient', { patient: { system: FNR, value: '13717404088' } }, '/patient/value', 'check-digits'],
      ['a real (non-synthetic) identity in a test tenant', { patient: { system: FNR, value: '12057900499' } }, '/patient/value', 'synthetic-required'],
      ['an FNR sent with the DNR system', { patient: { system: DNR, value: '13717404089' } }, '/patient/value', 'fnr-expected'],
      ['an unknown 9151 code', { service: { code: '10' } }, '/service/code', 'unknown-service-code'],
      ['the orgnr mod 11 check', { performer: { orgnr: '974760674', name: 'X' } }, '/performer/orgnr', 'performer-orgnr-invalid'],
      ['an orgnr required for home nursing', { performer: { name: 'Hjemmesykepleien' } }, '/performer/orgnr', 'performer-orgnr-required'],
      ['an orgnr forbidden for municipal housing', { service: { code: '29' }, performer: { orgnr: '974760673', name: 'Boligkontoret' } }, '/performer/orgnr', 'performer-orgnr-forbidden'],
      ['an orgnr forbidden for GPS', { service: { code: '26' }, performer: { orgnr: '974760673', name: 'X' } }, '/performer/orgnr', 'performer-orgnr-forbidden'],
      ['weekly extent above 168 h', { extent: { value: 169, unit: 'hours-per-week' } }, '/extent/value', 'weekly-extent-range'],
      ['monthly extent above 168 h a week', { extent: { value: 700, unit: 'hours-per-month' } }, '/extent/value', 'weekly-extent-range'],
      ['start after end', { period: { start: '2026-05-01', end: '2026-04-30' } }, '/period/end', 'period-order'],
    ])('422 for %s', async (_, overrides, pointer, rule) => {
      expectProblem(await post(grant(overrides)), 422, pointer, rule);
    });

    it.each([
      ['a date that is not a calendar date', { period: { start: '2026-02-30' } }, '/period/start', 'format'],
      ['a timestamp without a zone', { occurredAt: '2026-03-01T08:00:00' }, '/occurredAt', 'format'],
      ['an unknown field', { colour: 'blue' }, '/colour', 'additionalProperties'],
      ['an unknown nested field', { patient: { system: FNR, value: '13717404089', name: 'x' } }, '/patient/name', 'additionalProperties'],
      ['a missing field', { service: undefined }, '/service', 'required'],
      ['an unknown event type', { type: 'ServiceRenamed' }, '/type', 'enum'],
      ['an eventId that is not a UUID', { eventId: '42' }, '/eventId', 'pattern'],
      ['an eventId in urn:uuid form', { eventId: 'urn:uuid:6f1c1c56-5d7e-4a55-9d1e-3f0a0c7d2b01' }, '/eventId', 'pattern'],
      ['an unknown identifier system', { patient: { system: 'urn:oid:1.2.3', value: '13717404089' } }, '/patient/system', 'enum'],
      ['a negative extent', { extent: { value: -1, unit: 'hours-per-week' } }, '/extent/value', 'minimum'],
    ])('400 for %s', async (_, overrides, pointer, rule) => {
      expectProblem(await post(grant(overrides)), 400, pointer, rule);
    });

    it('lists every bad field at once', async () => {
      const res = await post(grant({ eventId: 'x', period: { start: 'yesterday' }, extra: 1 }));
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/eventId', '/extra', '/period/start']);
    });

    // A production municipality's synthetic-refused rule needs a HelseID token (dev tokens never
    // reach production): tested in security-tokens.e2e.spec.ts, HelseID mode.

    describe('lifecycle', () => {
      it('409 when granting an existing decisionId again', async () => {
        const g = grant();
        await post(g).expect(201);
        expectProblem(await post({ ...g, eventId: randomUUID() }), 409, '/type', 'decision-exists');
      });
      it.each(['ServiceDecisionChanged', 'ServicePaused', 'ServiceEnded', 'DecisionEnteredInError'])('409 for %s on an unknown decision', async (type) => {
        const fields = type === 'ServiceEnded' ? { endDate: '2026-06-30' } : type === 'ServiceDecisionChanged' ? { description: 'x' } : {};
        expectProblem(await post(follow(grant(), type, fields)), 409, '/decisionId', 'decision-not-found');
      });
      it('409 when changing, pausing or ending an ended decision', async () => {
        const g = grant();
        await post(g).expect(201);
        await post(follow(g, 'ServiceEnded', { endDate: '2026-06-30' })).expect(201);
        expectProblem(await post(follow(g, 'ServiceDecisionChanged', { description: 'x' })), 409, '/type', 'decision-ended');
        expectProblem(await post(follow(g, 'ServicePaused')), 409, '/type', 'decision-ended');
        expectProblem(await post(follow(g, 'ServiceEnded', { endDate: '2026-07-30' })), 409, '/type', 'decision-ended');
      });
      it('409 when resuming what is not paused, and when entering in error twice', async () => {
        const g = grant();
        await post(g).expect(201);
        expectProblem(await post(follow(g, 'ServiceResumed')), 409, '/type', 'not-paused');
        await post(follow(g, 'DecisionEnteredInError')).expect(201);
        expectProblem(await post(follow(g, 'DecisionEnteredInError')), 409, '/type', 'decision-entered-in-error');
        expectProblem(await post(follow(g, 'ServicePaused')), 409, '/type', 'decision-entered-in-error');
      });
      it('422 when an event names another patient than the decision', async () => {
        const g = grant();
        await post(g).expect(201);
        expectProblem(await post(follow(g, 'ServicePaused', { patient: { system: FNR, value: syntheticPid() } })), 422, '/patient', 'patient-mismatch');
      });
      it('422 for a change without changes', async () => {
        const g = grant();
        await post(g).expect(201);
        expectProblem(await post(follow(g, 'ServiceDecisionChanged')), 422, '', 'change-required');
      });
    });

    describe('the HTTP envelope', () => {
      it('415 for a body that is not JSON', async () => {
        const res = await p.http().post('/api/v1/decision-events').set('content-type', 'text/plain').send('ServiceDecisionGranted');
        expect(res.status).toBe(415);
        expect(res.headers['content-type']).toMatch(PROBLEM);
        expect(res.body.type).toBe('urn:fpi:problem:unsupported-media-type');
      });
      it('413 for a body over 1 MB', async () => {
        const res = await post({ ...grant(), description: 'x'.repeat(1_100_000) });
        expect(res.status).toBe(413);
        expect(res.headers['content-type']).toMatch(PROBLEM);
      });
      it('400 for malformed JSON', async () => {
        const res = await p.http().post('/api/v1/decision-events').set('content-type', 'application/json').send('{"type":');
        expect(res.status).toBe(400);
        expect(res.body.type).toBe('urn:fpi:problem:invalid-json');
      });
      it('changes nothing stored when it refuses', async () => {
        const before = await p.storedEventsSnapshot();
        await post(grant({ service: { code: '10' } })).expect(422);
        await post(grant({ colour: 1 })).expect(400);
        expect(await p.storedEventsSnapshot()).toBe(before);
      });
    });
  });

  describe('batch', () => {
    it('records valid items, rejects invalid ones, one result per item', async () => {
      const a = grant();
      const b = grant({ service: { code: '10' } });
      const c = grant();
      const res = await p
        .http()
        .post('/api/v1/decision-events/batch')
        .send({ events: [a, b, c, follow(a, 'ServicePaused'), a, { nonsense: true }] })
        .expect(200);
      expect(res.body).toMatchObject({ accepted: 3, duplicates: 1, rejected: 2 });
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected', 'accepted', 'accepted', 'duplicate', 'rejected']);
      expect(res.body.results[1].problem).toMatchObject({ status: 422, errors: [expect.objectContaining({ pointer: '/events/1/service/code', rule: 'unknown-service-code' })] });
      expect(res.body.results[5].problem.errors).toEqual([expect.objectContaining({ pointer: '/events/5/type', rule: 'required' })]);
      expect(res.body.results[4].receipt).toEqual(res.body.results[0].receipt);
      expect((await streamOf(a)).map((e) => e.type)).toEqual(['ServiceDecisionGranted', 'ServicePaused']);
      expect(await streamOf(c)).toHaveLength(1);
      expect(await streamOf(b)).toHaveLength(0);
    });

    it('falls back to item by item when the one multi-stream append conflicts', async () => {
      const stored = grant();
      await post(stored).expect(201);
      const fresh = grant();
      // Reuses a stored eventId on another decision: only the store's unique key sees it.
      const reused = grant({ eventId: stored.eventId });
      const res = await p
        .http()
        .post('/api/v1/decision-events/batch')
        .send({ events: [fresh, reused] })
        .expect(200);
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected']);
      expect(res.body.results[1].problem).toMatchObject({ status: 409, errors: [expect.objectContaining({ pointer: '/events/1/eventId', rule: 'idempotency' })] });
      expect(await streamOf(fresh)).toHaveLength(1);
      expect(await streamOf(reused)).toHaveLength(0);
    });

    it('stores a batch posted 8 times concurrently exactly once', async () => {
      const events = Array.from({ length: 20 }, () => grant());
      const responses = await Promise.all(Array.from({ length: 8 }, () => p.http().post('/api/v1/decision-events/batch').send({ events })));
      for (const r of responses) {
        expect(r.status).toBe(200);
        expect(r.body.rejected).toBe(0);
      }
      expect(responses.reduce((n, r) => n + r.body.accepted, 0)).toBe(20);
      for (const e of events) expect(await streamOf(e)).toHaveLength(1);
    });

    it('refuses an empty batch, a batch over 500 items, and a malformed envelope', async () => {
      expectProblem(await p.http().post('/api/v1/decision-events/batch').send({ events: [] }), 400, '/events', 'minItems');
      expectProblem(
        await p
          .http()
          .post('/api/v1/decision-events/batch')
          .send({ events: Array.from({ length: 501 }, () => ({})) }),
        400,
        '/events',
        'maxItems',
      );
      expectProblem(await p.http().post('/api/v1/decision-events/batch').send([grant()]), 400, '', 'type');
    });
  });

  describe('OpenAPI', () => {
    it('serves the document with the information model at /api/docs', async () => {
      const doc = await p.http().get('/api/docs/openapi.json').expect(200);
      expect(doc.body.paths['/api/v1/decision-events'].post).toBeDefined();
      expect(doc.body.paths['/okt-events'].post).toBeDefined();
      expect(doc.body.components.schemas.DecisionEvent.discriminator).toEqual({ propertyName: 'type' });
      expect(doc.body.components.schemas.ServiceDecisionGranted.required).toEqual(expect.arrayContaining(['eventId', 'decisionId', 'patient', 'service', 'period']));
      await p.http().get('/api/docs').expect(200);
    });

    it('matches docs/openapi.json (regenerate with `npm run openapi`)', async () => {
      const doc = await p.http().get('/api/docs/openapi.json').expect(200);
      const committed = JSON.parse(await readFile(join(packageRoot(), 'docs', 'openapi.json'), 'utf8'));
      // The receive API and the information model (terminus documents /health only when it can load swagger).
      const ours = (d: { paths: Record<string, unknown>; components: { schemas: unknown } }) => ({
        paths: Object.fromEntries(Object.entries(d.paths).filter(([path]) => !path.startsWith('/health'))),
        schemas: d.components.schemas,
      });
      expect(ours(doc.body)).toEqual(ours(committed));
    });
  });
});
