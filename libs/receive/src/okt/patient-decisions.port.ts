import type { TenantId } from '#libs/tenancy';

/**
 * The patient → decisions lookup the OKT snapshot diff needs (a write, so it must be
 * current). Implemented by the content feature's read model (`PatientDecisions` in
 * libs/content); the app binds it (`ReceiveModule.forRoot`), so this feature does not
 * depend on that one.
 */
export interface PatientDecisionsLookup {
  /** Stream ids (`Decision/<sourceSystem>/<decisionId>`) of the patient's decisions, sorted. */
  streamIdsOf(tenant: TenantId, personId: string): Promise<string[]>;
}

export const PATIENT_DECISIONS = Symbol('PATIENT_DECISIONS');
