import { randomUUID } from 'node:crypto';
import { PERSON_ID_SYSTEMS, syntheticFodselsnummer } from '#libs/domain';

let counter = 0;
/**
 * A fresh synthetic fødselsnummer (+65 month, SyntPop range) per call, so tests never share
 * a patient. Never a real number: the month offset marks it synthetic.
 */
export function syntheticPid(options: { offset?: 65 | 80; dNumber?: boolean; rule?: 'legacy' | '2032' } = {}): string {
  for (;;) {
    counter += 1;
    const n = counter + (process.pid % 97) * 1000;
    const pid = syntheticFodselsnummer({
      birthDate: { year: 1930 + (n % 70), month: 1 + (n % 12), day: 1 + (n % 28) },
      offset: options.offset ?? 65,
      individual: Math.floor(n / 7) % 1000,
      dNumber: options.dNumber,
      rule: options.rule,
    });
    if (pid) return pid;
  }
}

export const { fnr: FNR, dnr: DNR } = PERSON_ID_SYSTEMS;

/**
 * A valid `ServiceDecisionGranted` body of information model v1 for a synthetic patient (a
 * fresh one unless `patient` is given): home nursing (9151 code 15) from 2026-03-01, with a
 * fresh event id and decision id. `overrides` replace top-level fields.
 */
export function syntheticGrant(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = randomUUID();
  return {
    type: 'ServiceDecisionGranted',
    eventId: id,
    decisionId: `V-${id.slice(0, 8)}`,
    occurredAt: '2026-03-01T08:15:00Z',
    patient: { system: FNR, value: syntheticPid() },
    service: { code: '15' },
    period: { start: '2026-03-01' },
    ...overrides,
  };
}
