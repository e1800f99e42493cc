/**
 * The events of a municipal service decision (vedtak), as stored in the event store.
 * One stream per decision: `Decision/<sourceSystem>/<decisionId>`.
 */
export interface PatientRef {
  /** FNR, DNR or FHN system URI. */
  system: string;
  value: string;
}

export interface Period {
  start: string;
  end?: string;
}

export interface Performer {
  orgnr?: string;
  name: string;
  phone?: string;
}

interface Base {
  decisionId: string;
  sourceSystem: string;
  patient: PatientRef;
  /** When it happened in the EPJ (ISO 8601). */
  occurredAt: string;
}

/** What a decision includes: the terms a grant sets and a change may replace. */
export interface DecisionTerms {
  /** Volven 9151 code, canonical (unpadded). */
  serviceCode: string;
  period: Period;
  /** Weekly extent in hours (monthly extents divided by 4). */
  weeklyHours?: number;
  stayType?: string;
  performer?: Performer;
  description?: string;
}

export interface ServiceDecisionGrantedData extends Base, DecisionTerms {}

export interface ServiceDecisionChangedData extends Base, Partial<Omit<DecisionTerms, 'serviceCode'>> {}

export interface ServicePausedData extends Base {
  pausedFrom: string;
  reason?: string;
}

export interface ServiceResumedData extends Base {
  resumedFrom: string;
}

export interface ServiceEndedData extends Base {
  endDate: string;
  reason?: string;
}

export interface DecisionEnteredInErrorData extends Base {
  reason?: string;
}

export type DecisionEvent =
  | { type: 'ServiceDecisionGranted'; data: ServiceDecisionGrantedData }
  | { type: 'ServiceDecisionChanged'; data: ServiceDecisionChangedData }
  | { type: 'ServicePaused'; data: ServicePausedData }
  | { type: 'ServiceResumed'; data: ServiceResumedData }
  | { type: 'ServiceEnded'; data: ServiceEndedData }
  | { type: 'DecisionEnteredInError'; data: DecisionEnteredInErrorData };

export type DecisionEventType = DecisionEvent['type'];

export const DECISION_EVENT_SCHEMA_VERSION = 1;

export const decisionStreamId = (sourceSystem: string, decisionId: string) => `Decision/${sourceSystem}/${decisionId}`;

/** A stored event (the store knows only type and data) as a decision event. */
export const asDecisionEvent = (e: { type: string; data: Record<string, unknown> }): DecisionEvent => ({ type: e.type, data: e.data }) as unknown as DecisionEvent;
