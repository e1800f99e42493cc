import { compileValidator, DecisionEventSchema } from '#libs/contracts';
import { decide, evolve, initialDecisionState, isSyntheticPersonIdentifier, normalizeDecisionReport, validatePersonIdentifier, type DecisionState } from '#libs/domain';
import { generatePopulation } from './population.js';

const options = { patients: 1500, seed: 42, today: '2026-11-01' };

describe('synthetic population', () => {
  const events = generatePopulation(options);

  it('is reproducible from the seed, and another seed gives another population', () => {
    expect(JSON.stringify(generatePopulation(options))).toBe(JSON.stringify(events));
    expect(JSON.stringify(generatePopulation({ ...options, seed: 43 }))).not.toBe(JSON.stringify(events));
  });

  it('uses synthetic identities only: unique, valid, +65 and +80, some D-numbers and 2032-rule numbers', () => {
    const pids = [...new Map(events.map((e) => [e.patient.value, e.patient])).values()];
    expect(pids).toHaveLength(options.patients);
    for (const p of pids) {
      expect(isSyntheticPersonIdentifier(p.value)).toBe(true);
      expect(validatePersonIdentifier(p.system, p.value).ok).toBe(true);
    }
    const months = pids.map((p) => Number(p.value.slice(2, 4)));
    expect(months.some((m) => m > 80)).toBe(true);
    expect(months.some((m) => m > 65 && m <= 77)).toBe(true);
    expect(pids.some((p) => p.system.endsWith('4.2'))).toBe(true);
    expect(
      pids.some((p) => {
        const r = validatePersonIdentifier(p.system, p.value);
        return r.ok && r.checkRule === '2032';
      }),
    ).toBe(true);
  });

  it('produces events the receive rules and the decider accept, in lifecycle order', () => {
    const validate = compileValidator(DecisionEventSchema);
    const states = new Map<string, DecisionState>();
    for (const e of events) {
      expect(validate(e).ok).toBe(true);
      // Each EPJ reports its own decisions.
      const n = normalizeDecisionReport(e, { tenantEnvironment: 'test', defaultSourceSystem: 'x', actor: { clientId: e.sourceSystem ?? 'x', mayActForAnySource: false } });
      if (!n.ok) throw new Error(JSON.stringify(n.violations));
      const key = `${e.sourceSystem}/${e.decisionId}`;
      const state = states.get(key) ?? initialDecisionState;
      states.set(key, decide(n.command, state).reduce(evolve, state));
    }
    expect(events.length / options.patients).toBeGreaterThan(2);
  });

  it('has a realistic mix: home nursing most common, safety alarms, long-term and short stays', () => {
    const counts = new Map<string, number>();
    for (const e of events) {
      if (e.type !== 'ServiceDecisionGranted') continue;
      const code = String(Number((e as { service: { code: string } }).service.code));
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    expect(top).toBe('15');
    expect(counts.get('6')).toBeGreaterThan(0);
    expect(counts.get('21')).toBeGreaterThan(0);
    expect(['18', '19', '20'].some((c) => (counts.get(c) ?? 0) > 0)).toBe(true);
    expect(events.some((e) => e.type === 'ServicePaused')).toBe(true);
    expect(events.some((e) => e.type === 'DecisionEnteredInError')).toBe(true);
  });
});
