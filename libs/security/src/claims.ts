/**
 * HelseID access-token claims we use (NHN utviklerportal, HelseID "Teknisk referanse: claims";
 * tillitsrammeverk attestation claims) and our API's scopes, named in NHN's style
 * `nhn:<api>/<scope>` (HelseID scope and audience naming).
 */
export const CLAIMS = {
  orgnrParent: 'helseid://claims/client/claims/orgnr_parent',
  orgnrChild: 'helseid://claims/client/claims/orgnr_child',
  clientName: 'helseid://claims/client/client_name',
  hprNumber: 'helseid://claims/hpr/hpr_number',
} as const;

export const API_AUDIENCE = 'nhn:fpi';

export const SCOPES = {
  /** Receive service: EPJ systems post decision events. */
  write: 'nhn:fpi/decision-events.write',
  /** Content services: end-user systems read overviews. */
  read: 'nhn:fpi/service-overview.read',
  /** The patient's audit log (innsyn i logg), for those who answer such requests. */
  audit: 'nhn:fpi/access-log.read',
  /**
   * Acting across source systems: report a decision under another `sourceSystem` than the
   * token's client id, and change or end decisions other sources granted. For a migration
   * or an operator's replay, never for an EPJ's everyday use (issue 15 part 6).
   */
  'write-any-source': 'nhn:fpi/decision-events.write-any-source',
  /** Operators: per-database and per-municipality detail in /health/ready. */
  operator: 'nhn:fpi/operations.read',
  /** The municipality's agreement register (who outside it may read, and why): list it and its history. */
  'agreements-read': 'nhn:fpi/agreements.read',
  /** Register and end agreements in the municipality's register (its administration, not an EPJ). */
  'agreements-write': 'nhn:fpi/agreements.write',
  /** The data controller's erasure of a person's data in its municipality (issue 22); nothing else carries it. */
  erase: 'nhn:fpi/erasures.write',
  /** Case handlers (saksbehandlere) record and lift a patient's restriction (sperring) at the patient's request. */
  'restrictions-write': 'nhn:fpi/restrictions.write',
} as const;
export type ScopeName = keyof typeof SCOPES;

/** HL7 v3 PurposeOfUse codes the trust framework uses (ATT-38…41). */
export const PURPOSES_OF_USE = ['TREAT', 'ETREAT', 'COC', 'BTG'] as const;
export type PurposeOfUse = (typeof PURPOSES_OF_USE)[number];
export const PURPOSE_OF_USE_SYSTEM = 'urn:oid:2.16.840.1.113883.1.11.20448';
export const TRUST_FRAMEWORK_TYPE = 'nhn:tillitsrammeverk:parameters';

/** The trust-framework attestation HelseID copies into the access token (`authorization_details`). */
export interface TrustFrameworkAttestation {
  type: typeof TRUST_FRAMEWORK_TYPE;
  practitioner?: {
    legal_entity?: { id: string; system?: string };
    point_of_care?: { id: string; system?: string };
  };
  care_relationship?: {
    purpose_of_use?: { code: string; system?: string };
    purpose_of_use_details?: { code: string; system?: string };
    decision_ref?: { id?: string; user_selected?: boolean };
  };
}
