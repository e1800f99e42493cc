/** Test support: synthetic overview entries (no real persons or units). */
import { PERSON_ID_SYSTEMS, type ServiceOverviewEntry } from '#libs/domain';

/** Synthetic fødselsnummer (SyntPop, month + 65) and its system. */
export const PID = '13717404089';
export const FNR_SYSTEM = PERSON_ID_SYSTEMS.fnr;
export const PATIENT = { system: FNR_SYSTEM, value: PID };
/** Synthetic organisation number (valid mod 11). */
export const ORGNR = '974760673';
export const TENANT = '974760673';

export function overviewEntry(overrides: Partial<ServiceOverviewEntry> = {}): ServiceOverviewEntry {
  return {
    decisionId: 'V-2025-0001',
    sourceSystem: 'gerica',
    status: 'active',
    service: {
      code: '15',
      system: 'urn:oid:2.16.578.1.12.4.1.1.9151',
      display: 'Helsetjenester i hjemmet',
      group: 'Tjenester til hjemmeboende',
      codeTableVersion: '2026-01-01',
    },
    period: { start: '2025-01-01' },
    lastChangedAt: '2025-01-02T08:00:00.000Z',
    lastRecordedAt: '2025-01-02T08:00:01.000Z',
    version: 1,
    ...overrides,
  };
}
