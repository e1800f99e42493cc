/**
 * The service overview (tjenesteoversikt): per patient, the decisions every source system
 * reported, folded from their events. `evolveOverview` is the pure projection; statuses
 * that depend on today's date are derived at read time by `viewOverview`.
 */
import type { DecisionEvent, DecisionTerms, PatientRef, Performer, Period } from '../decision/decision-events.js';
import { lookupServiceCode, SERVICE_CODE_TABLE_VERSION } from '../service-codes/service-codes.js';
import { laterInstant, osloDateOf } from '../dates.js';

export type DecisionLifecycle = 'granted' | 'paused' | 'ended' | 'entered-in-error';

export interface OverviewDecision extends DecisionTerms {
  decisionId: string;
  sourceSystem: string;
  lifecycle: DecisionLifecycle;
  pausedFrom?: string;
  pauseReason?: string;
  /** The day (in Norway) of the occurredAt of the end, to tell a cancellation from an end. */
  endReportedOn?: string;
  /** The latest occurredAt (in the EPJ) / recordedAt (by us) of this decision's events, as instants. */
  lastOccurredAt: string;
  lastRecordedAt: string;
  /** Stream position of the last applied event: a redelivered event is ignored. */
  position: number;
}

export interface SourceFreshness {
  sourceSystem: string;
  lastRecordedAt: string;
  lastOccurredAt: string;
}

/** The stored document: one per patient and tenant. */
export interface OverviewDocument {
  patient: PatientRef;
  decisions: Record<string, OverviewDecision>;
  sources: Record<string, SourceFreshness>;
}

/** An event as the projection gets it: the decision event plus where it sits in its stream. */
export interface OverviewEvent {
  event: DecisionEvent;
  streamPosition: number;
  recordedAt: string;
}

export const emptyOverview = (patient: PatientRef): OverviewDocument => ({ patient, decisions: {}, sources: {} });

const key = (sourceSystem: string, decisionId: string) => `${sourceSystem}/${decisionId}`;

/**
 * An entry of a document map by own property only. The keys come from senders (a source
 * system may be called `toString` or, as a client id, `__proto__`): Object.prototype's
 * members are no entries.
 */
const own = <T>(map: Record<string, T>, k: string): T | undefined => (Object.hasOwn(map, k) ? map[k] : undefined);

/** Applies one event; the same event delivered twice changes nothing. */
export function evolveOverview(doc: OverviewDocument, { event, streamPosition, recordedAt }: OverviewEvent): OverviewDocument {
  const d = event.data;
  const k = key(d.sourceSystem, d.decisionId);
  const current = own(doc.decisions, k);
  if (current && streamPosition <= current.position) return doc;
  if (!current && event.type !== 'ServiceDecisionGranted') return doc; // history starts with a grant
  const source = own(doc.sources, d.sourceSystem);
  // A computed key defines an own property, also `__proto__` (an assignment would set the prototype).
  const sources = {
    ...doc.sources,
    [d.sourceSystem]: { sourceSystem: d.sourceSystem, lastRecordedAt: laterInstant(source?.lastRecordedAt, recordedAt), lastOccurredAt: laterInstant(source?.lastOccurredAt, d.occurredAt) },
  };
  // The latest instant, not the last event's: EPJ clocks and offsets differ between events.
  const stamp = { lastOccurredAt: laterInstant(current?.lastOccurredAt, d.occurredAt), lastRecordedAt: laterInstant(current?.lastRecordedAt, recordedAt), position: streamPosition };
  let next: OverviewDecision;
  switch (event.type) {
    case 'ServiceDecisionGranted': {
      const g = event.data;
      next = {
        decisionId: g.decisionId,
        sourceSystem: g.sourceSystem,
        serviceCode: g.serviceCode,
        period: g.period,
        ...(g.weeklyHours !== undefined ? { weeklyHours: g.weeklyHours } : {}),
        ...(g.stayType ? { stayType: g.stayType } : {}),
        ...(g.performer ? { performer: g.performer } : {}),
        ...(g.description ? { description: g.description } : {}),
        lifecycle: 'granted',
        ...stamp,
      };
      break;
    }
    case 'ServiceDecisionChanged': {
      const c = event.data;
      next = {
        ...current!,
        period: c.period ?? current!.period,
        ...(c.weeklyHours !== undefined ? { weeklyHours: c.weeklyHours } : {}),
        ...(c.stayType ? { stayType: c.stayType } : {}),
        ...(c.performer ? { performer: c.performer } : {}),
        ...(c.description ? { description: c.description } : {}),
        ...stamp,
      };
      break;
    }
    case 'ServicePaused':
      next = { ...current!, lifecycle: 'paused', pausedFrom: event.data.pausedFrom, ...(event.data.reason ? { pauseReason: event.data.reason } : {}), ...stamp };
      break;
    case 'ServiceResumed': {
      const { pausedFrom: _f, pauseReason: _r, ...rest } = current!;
      next = { ...rest, lifecycle: 'granted', ...stamp };
      break;
    }
    case 'ServiceEnded':
      next = { ...current!, lifecycle: 'ended', period: { ...current!.period, end: event.data.endDate }, endReportedOn: osloDateOf(d.occurredAt) ?? d.occurredAt.slice(0, 10), ...stamp };
      break;
    case 'DecisionEnteredInError':
      next = { ...current!, lifecycle: 'entered-in-error', ...stamp };
      break;
  }
  return { ...doc, decisions: { ...doc.decisions, [k]: next }, sources };
}

/**
 * One decision's entry after `e`, by the overview's own fold (`evolveOverview` on a document
 * holding just that decision): `current` unchanged (the same object) for a redelivered or
 * stale event; undefined while the decision has no grant. Per-decision read models (the
 * overview's rows, the FHIR history) fold with this, so they agree with the document fold.
 */
export function evolveOverviewDecision(current: OverviewDecision | undefined, e: OverviewEvent): OverviewDecision | undefined {
  const d = e.event.data;
  const k = key(d.sourceSystem, d.decisionId);
  const doc: OverviewDocument = { patient: d.patient, decisions: current ? { [k]: current } : {}, sources: {} };
  return own(evolveOverview(doc, e).decisions, k);
}

/**
 * The document of `patient` assembled from its decisions' entries (each as
 * `evolveOverviewDecision` left it): the same document `evolveOverview` folds from the same
 * events. A source's freshness is the latest of its decisions' instants, compared as
 * instants (`laterInstant`): every event applied moves both its decision's and its source's
 * instants, and an ignored one moves neither. Undefined for no decisions (no document).
 */
export function overviewOfDecisions(patient: PatientRef, decisions: readonly OverviewDecision[]): OverviewDocument | undefined {
  if (decisions.length === 0) return undefined;
  const doc: OverviewDocument = { patient, decisions: {}, sources: {} };
  for (const d of decisions) {
    Object.defineProperty(doc.decisions, key(d.sourceSystem, d.decisionId), { value: d, enumerable: true, writable: true, configurable: true });
    const s = own(doc.sources, d.sourceSystem);
    const next: SourceFreshness = {
      sourceSystem: d.sourceSystem,
      lastRecordedAt: laterInstant(s?.lastRecordedAt, d.lastRecordedAt),
      lastOccurredAt: laterInstant(s?.lastOccurredAt, d.lastOccurredAt),
    };
    Object.defineProperty(doc.sources, d.sourceSystem, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return doc;
}

/** planned | active | paused | ended | cancelled; entered-in-error decisions are not shown. */
export type ServiceStatus = 'planned' | 'active' | 'paused' | 'ended' | 'cancelled';

export interface ServiceOverviewEntry {
  decisionId: string;
  sourceSystem: string;
  status: ServiceStatus;
  service: { code: string; system: string; display: string; group: string; codeTableVersion: string };
  period: Period;
  weeklyHours?: number;
  stayType?: string;
  performer?: Performer;
  description?: string;
  pausedFrom?: string;
  pauseReason?: string;
  lastChangedAt: string;
  lastRecordedAt: string;
  /** The decision's version: the stream position of its last event (FHIR `meta.versionId`, the newest version of its `_history`). */
  version: number;
}

export interface ServiceOverview {
  patient: PatientRef;
  services: ServiceOverviewEntry[];
  /** Which systems report for this patient and when each last sent an event. */
  sources: SourceFreshness[];
}

/** The status of a decision on a given day (YYYY-MM-DD). */
export function serviceStatus(d: OverviewDecision, today: string): ServiceStatus | undefined {
  if (d.lifecycle === 'entered-in-error') return undefined;
  if (d.lifecycle === 'ended') {
    // Reported as ended before it ever started: withdrawn.
    if (d.endReportedOn !== undefined && d.endReportedOn < d.period.start) return 'cancelled';
    return d.period.end !== undefined && d.period.end < today ? 'ended' : d.period.start > today ? 'planned' : 'active';
  }
  if (d.period.end !== undefined && d.period.end < today) return 'ended';
  if (d.lifecycle === 'paused') return 'paused';
  return d.period.start > today ? 'planned' : 'active';
}

const ORDER: Record<ServiceStatus, number> = { active: 0, paused: 1, planned: 2, ended: 3, cancelled: 4 };

/**
 * The overview as readers see it on `today`: active and paused services first; ended and
 * cancelled ones only when asked (optionally only those that ended on or after `since`).
 */
export function viewOverview(doc: OverviewDocument, options: { today: string; includeEnded?: boolean; since?: string }): ServiceOverview {
  const services: ServiceOverviewEntry[] = [];
  for (const d of Object.values(doc.decisions)) {
    const status = serviceStatus(d, options.today);
    if (!status) continue;
    if ((status === 'ended' || status === 'cancelled') && (!options.includeEnded || (options.since && (d.period.end ?? '') < options.since))) continue;
    const code = lookupServiceCode(d.serviceCode);
    services.push({
      decisionId: d.decisionId,
      sourceSystem: d.sourceSystem,
      status,
      service: {
        code: d.serviceCode,
        system: 'urn:oid:2.16.578.1.12.4.1.1.9151',
        display: code?.display ?? d.serviceCode,
        group: code?.group ?? 'unknown',
        codeTableVersion: SERVICE_CODE_TABLE_VERSION,
      },
      period: d.period,
      ...(d.weeklyHours !== undefined ? { weeklyHours: d.weeklyHours } : {}),
      ...(d.stayType ? { stayType: d.stayType } : {}),
      ...(d.performer ? { performer: d.performer } : {}),
      ...(d.description ? { description: d.description } : {}),
      ...(d.pausedFrom ? { pausedFrom: d.pausedFrom } : {}),
      ...(d.pauseReason ? { pauseReason: d.pauseReason } : {}),
      lastChangedAt: d.lastOccurredAt,
      lastRecordedAt: d.lastRecordedAt,
      version: d.position,
    });
  }
  // A total order (the source system last): the same services come in the same order however
  // the decisions were stored (a row per decision comes back in no particular order).
  services.sort(
    (a, b) => ORDER[a.status] - ORDER[b.status] || a.period.start.localeCompare(b.period.start) || a.decisionId.localeCompare(b.decisionId) || a.sourceSystem.localeCompare(b.sourceSystem),
  );
  const sources = Object.values(doc.sources).sort((a, b) => a.sourceSystem.localeCompare(b.sourceSystem));
  return { patient: doc.patient, services, sources };
}
