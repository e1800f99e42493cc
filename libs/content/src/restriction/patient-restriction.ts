/**
 * The one restriction check of every read path (REST overview, OKT reads, FHIR search and
 * read, and any read added later): the patient's restriction stream, read from the event store
 * itself (the primary, through the EventStore port), folded by `restrictionStateOf` and judged
 * by `restrictionVerdictOf` (`restrictionReadDecision`), so a restriction or its lifting holds
 * for every instance from the moment its append committed: no projection, no cache, no replica
 * in between (ADR 0012). `patientRestrictionVerdict(store, tenant, personId, purpose)` reads the
 * stream alone; the overview reader reads it in the same statement as the overview where the
 * primary serves the read (`ServiceOverviewReader.readAt`), and applies the same two functions.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ProblemError, problemType } from '#libs/contracts';
import {
  restrictionDecider,
  restrictionEventFromStored,
  restrictionReadDecision,
  restrictionStreamId,
  type ReadPurpose,
  type RestrictionEvent,
  type RestrictionRequester,
  type RestrictionScope,
  type RestrictionState,
} from '#libs/domain';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';

/** What the patient's restriction means for one read. */
export interface RestrictionVerdict {
  /** `allowed`: serve; `break-the-glass`: serve and flag the read; `restricted`: 403 `patient-restricted`. */
  decision: 'allowed' | 'break-the-glass' | 'restricted';
  /** The restriction in force, if any (never shown to the reader: the 403 reveals nothing). */
  state: RestrictionState;
}

/** The restriction events of a stored restriction stream (other types, if any, left out). */
function restrictionEventsOf(stream: RecordedEvent[]): RestrictionEvent[] {
  return stream.map(restrictionEventFromStored).filter((e): e is RestrictionEvent => e !== undefined);
}

/**
 * The one fold: the state of a patient's restriction from its stream as read from the event
 * store (`readStream`, or `readStreamWith` where a read fuses it with its read-model value).
 */
export function restrictionStateOf(stream: RecordedEvent[]): RestrictionState {
  return restrictionEventsOf(stream).reduce(restrictionDecider.evolve, restrictionDecider.initialState());
}

/** The verdict of a restriction state for a reader's purpose (`restrictionReadDecision`, libs/domain). */
export function restrictionVerdictOf(state: RestrictionState, purpose: ReadPurpose | undefined): RestrictionVerdict {
  return { decision: restrictionReadDecision(state, purpose), state };
}

/** The state of a patient's restriction in a municipality, folded from its stream as stored now. */
export async function patientRestrictionState(store: EventStore, tenant: TenantId, personId: string): Promise<RestrictionState> {
  return restrictionStateOf(await store.readStream(tenant, restrictionStreamId(tenant, personId)));
}

/**
 * THE check: may a reader with `purpose` (HL7 v3 PurposeOfUse; undefined counts as TREAT) read
 * the services of `personId` (canonical 11 digits) in `tenant`? Reads the restriction stream
 * directly (read-your-writes for every instance) and applies `restrictionReadDecision`
 * (libs/domain): scope `all` lets only BTG through, `all-but-emergency` ETREAT and BTG.
 * Callers refuse `restricted` with `patientRestricted()` and flag `break-the-glass` reads in
 * the patient audit log (`restrictionOverridden`).
 */
export async function patientRestrictionVerdict(store: EventStore, tenant: TenantId, personId: string, purpose: ReadPurpose | undefined): Promise<RestrictionVerdict> {
  return restrictionVerdictOf(await patientRestrictionState(store, tenant, personId), purpose);
}

/** The 403 problem of a restricted patient: it names no service and no scope. */
export function patientRestricted(): ProblemError {
  return new ProblemError({
    type: problemType('patient-restricted'),
    title: 'Patient restricted',
    status: 403,
    detail: 'patient-restricted: the patient has restricted sharing of their services; only an emergency override (purpose of use BTG) opens it, and such a read is shown to the patient',
  });
}

/** `patientRestrictionVerdict` on the QueryBus, for adapters that send queries. */
export class PatientRestrictionQuery extends Query<RestrictionVerdict> {
  constructor(
    readonly tenant: TenantId,
    readonly personId: string,
    readonly purpose: ReadPurpose | undefined,
  ) {
    super();
  }
}

/** The event store as the restriction check reads it (injectable). */
@Injectable()
export class PatientRestrictions {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  verdict(tenant: TenantId, personId: string, purpose: ReadPurpose | undefined): Promise<RestrictionVerdict> {
    return patientRestrictionVerdict(this.store, tenant, personId, purpose);
  }

  state(tenant: TenantId, personId: string): Promise<RestrictionState> {
    return patientRestrictionState(this.store, tenant, personId);
  }

  status(tenant: TenantId, personId: string): Promise<RestrictionStatus> {
    return patientRestrictionStatus(this.store, tenant, personId);
  }
}

@QueryHandler(PatientRestrictionQuery)
export class PatientRestrictionHandler implements IQueryHandler<PatientRestrictionQuery> {
  constructor(private readonly restrictions: PatientRestrictions) {}

  execute({ tenant, personId, purpose }: PatientRestrictionQuery): Promise<RestrictionVerdict> {
    return this.restrictions.verdict(tenant, personId, purpose);
  }
}

/** A patient's restriction as a case handler sees it: in force or not, and every change (who asked, when). */
export interface RestrictionStatus {
  status: 'restricted' | 'not-restricted';
  scope?: RestrictionScope;
  since?: string;
  history: { event: 'set' | 'lifted'; scope?: RestrictionScope; requestedAt: string; requestedBy: RestrictionRequester }[];
}

/** The status and history of a patient's restriction in a municipality, from its stream as stored now. */
export async function patientRestrictionStatus(store: EventStore, tenant: TenantId, personId: string): Promise<RestrictionStatus> {
  const events = restrictionEventsOf(await store.readStream(tenant, restrictionStreamId(tenant, personId)));
  const state = events.reduce(restrictionDecider.evolve, restrictionDecider.initialState());
  return {
    status: state.active ? 'restricted' : 'not-restricted',
    ...(state.active ? { scope: state.active.scope, since: state.active.since } : {}),
    history: events.map((e) =>
      e.type === 'PatientRestrictionSet'
        ? { event: 'set' as const, scope: e.data.scope, requestedAt: e.data.requestedAt, requestedBy: e.data.requestedBy }
        : { event: 'lifted' as const, requestedAt: e.data.requestedAt, requestedBy: e.data.requestedBy },
    ),
  };
}
