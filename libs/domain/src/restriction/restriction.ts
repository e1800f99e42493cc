/**
 * A patient's restriction (sperring) of sharing: one stream per patient and municipality,
 * `PatientRestriction/<pseudonym>` (`restrictionStreamId`), whose events say when a restriction was set (with its scope)
 * and when it was lifted, and who asked. Modelled on the blocking of NHN's Pasientens prøvesvar
 * (a block for all providers, opened only by an emergency basis): see docs/security.md.
 *
 * The pure decider (`restrictionDecider`) decides what the command handler of libs/receive
 * appends; `restrictionReadDecision` is the one rule every read path applies.
 */
import { createHash } from 'node:crypto';
import type { Decider } from '../decider.js';
import type { PatientRef } from '../decision/decision-events.js';

/**
 * What a restriction covers:
 * - `all`: no sharing at all; only a break-the-glass read (purpose of use BTG) opens it.
 * - `all-but-emergency`: no sharing except for emergency care (purpose of use ETREAT, the legevakt).
 */
export const RESTRICTION_SCOPES = ['all', 'all-but-emergency'] as const;
export type RestrictionScope = (typeof RESTRICTION_SCOPES)[number];

/** Who asked for the restriction or its lifting. */
export type RestrictionRequester =
  /** The patient through the citizen API, or a representative acting for them (`basis`). */
  | { kind: 'citizen'; representation?: { basis: string } }
  /** A case handler of the municipality (the calling system's client id and its organisation). */
  | { kind: 'case-handler'; clientId: string; orgnr: string; hprNumber?: string };

export interface PatientRestrictionSetData {
  patient: PatientRef;
  scope: RestrictionScope;
  requestedBy: RestrictionRequester;
  /** When it was asked (ISO 8601 instant). */
  requestedAt: string;
}

export interface PatientRestrictionLiftedData {
  patient: PatientRef;
  requestedBy: RestrictionRequester;
  requestedAt: string;
}

export type RestrictionEvent = { type: 'PatientRestrictionSet'; data: PatientRestrictionSetData } | { type: 'PatientRestrictionLifted'; data: PatientRestrictionLiftedData };
export const RESTRICTION_EVENT_TYPES: readonly RestrictionEvent['type'][] = Object.freeze(['PatientRestrictionSet', 'PatientRestrictionLifted']);

export type RestrictionCommand = { type: 'SetRestriction'; eventId: string; data: PatientRestrictionSetData } | { type: 'LiftRestriction'; eventId: string; data: PatientRestrictionLiftedData };

/** The restriction in force, if any. */
export interface RestrictionState {
  active?: { scope: RestrictionScope; requestedBy: RestrictionRequester; since: string };
}

/** A command the stored restriction refuses: 409 with its rule. */
export class RestrictionRuleError extends Error {
  readonly status = 409;
  constructor(
    readonly rule: 'restriction-unchanged' | 'no-restriction',
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * How a restriction event is stored and read back (one pair of functions for the writer and
 * every reader): its data without `requestedAt`, which is the stored event's recordedAt (the
 * database's clock at the append), so a retry with the same event id records the same data.
 * `restrictionEventFromStored` answers undefined for an event of another type.
 */
export function restrictionStoredData(data: { requestedAt: string }): Record<string, unknown> {
  const { requestedAt: _, ...rest } = data;
  return rest;
}
export function restrictionEventFromStored(stored: { type: string; data: Record<string, unknown>; recordedAt: Date }): RestrictionEvent | undefined {
  if (!(RESTRICTION_EVENT_TYPES as readonly string[]).includes(stored.type)) return undefined;
  return { type: stored.type, data: { ...stored.data, requestedAt: stored.recordedAt.toISOString() } } as unknown as RestrictionEvent;
}

/**
 * The stream of a patient's restriction within a municipality: `PatientRestriction/<32 hex>`,
 * a SHA-256 of the municipality and the person id, so that the stream id (which the Kafka
 * forwarder uses as its key, and an erasure's kept tombstone names, ADR 0010) does not carry
 * the person's number. It is a pseudonym, not anonymous: someone who holds the events and
 * tries every possible number can link it (docs/data-protection.md).
 */
export const restrictionStreamId = (tenant: string, personId: string): string =>
  `PatientRestriction/${createHash('sha256').update(`fpi:patient-restriction:${tenant}:${personId}`).digest('hex').slice(0, 32)}`;

export const restrictionDecider: Decider<RestrictionState, RestrictionCommand, RestrictionEvent> = {
  initialState: () => ({}),
  /**
   * Set: recorded unless the same scope is in force already (409 `restriction-unchanged`); a
   * different scope replaces the one in force. Lift: recorded when one is in force (409
   * `no-restriction` otherwise). A retry of a stored command is answered before this runs
   * (the command handler compares event ids).
   */
  decide(command, state) {
    if (command.type === 'SetRestriction') {
      if (state.active?.scope === command.data.scope) throw new RestrictionRuleError('restriction-unchanged', `a restriction of scope ${command.data.scope} is in force already`);
      return [{ type: 'PatientRestrictionSet', data: command.data }];
    }
    if (!state.active) throw new RestrictionRuleError('no-restriction', 'no restriction is in force: nothing to lift');
    return [{ type: 'PatientRestrictionLifted', data: command.data }];
  },
  evolve(state, event) {
    if (event.type === 'PatientRestrictionSet') return { active: { scope: event.data.scope, requestedBy: event.data.requestedBy, since: event.data.requestedAt } };
    if (event.type === 'PatientRestrictionLifted') return {};
    return state; // an event of another kind on this stream changes nothing
  },
};

/** The purposes of use a read may name (HL7 v3 PurposeOfUse as the trust framework uses them). */
export type ReadPurpose = 'TREAT' | 'ETREAT' | 'COC' | 'BTG';

/**
 * What a restriction means for a read: `allowed` (no restriction, or one whose scope lets this
 * purpose through), `break-the-glass` (restricted, opened by purpose BTG: serve, and flag the
 * read) or `restricted` (refuse with 403 `patient-restricted`, revealing nothing).
 *
 * Rules: `all` lets only BTG through; `all-but-emergency` lets ETREAT (emergency care) and BTG
 * through. A read without a purpose is treated as TREAT.
 */
export function restrictionReadDecision(state: RestrictionState, purpose: ReadPurpose | undefined): 'allowed' | 'break-the-glass' | 'restricted' {
  const scope = state.active?.scope;
  if (scope === undefined) return 'allowed';
  if (purpose === 'BTG') return 'break-the-glass';
  if (scope === 'all-but-emergency' && purpose === 'ETREAT') return 'allowed';
  return 'restricted';
}
