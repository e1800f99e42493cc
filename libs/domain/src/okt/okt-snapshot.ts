/**
 * NHN's OKT prototype posts a full snapshot of a person's current services from one
 * sender. We keep events, so a snapshot is diffed against what that sender reported
 * before, and becomes the lifecycle events that explain the difference.
 */
import { createHash } from 'node:crypto';
import type { DecisionState } from '../decision/decision.js';
import type { DecisionReport, Violation } from '../decision/rules.js';
import { PERSON_ID_SYSTEMS, personIdKindOf } from '../identifiers/person-identifier.js';

/** One service of a snapshot, after parsing (see `parseOktMessage`). */
export interface OktService {
  /** Index in `oktMessages`, for error pointers. */
  index: number;
  decisionKey: string;
  serviceCode: string;
  startDate: string;
  endDate?: string;
  weeklyHours?: number;
  stayType?: string;
  unitName?: string;
  description?: string;
  paused: boolean;
}

export interface KnownDecision {
  decisionId: string;
  state: DecisionState;
}

export type OktReport = Omit<DecisionReport, 'eventId'>;

/**
 * Parses the prototype's free-text weekly extent: "5 timer", "15 minutter", "7.5", "7,5 t".
 * Empty means not given; anything else is an error.
 */
export function parseWeeklyExtent(text: string): number | undefined | 'invalid' {
  const t = text.trim().toLowerCase();
  if (t === '') return undefined;
  const m = /^(\d+(?:[.,]\d+)?)\s*(timer|time|t|h|hours?|minutter|minutt|min|m)?$/.exec(t);
  if (!m) return 'invalid';
  const value = Number(m[1]!.replace(',', '.'));
  return m[2] && m[2].startsWith('m') ? Math.round((value / 60) * 100) / 100 : value;
}

/**
 * The decision key of a snapshot service without a decisionId: the person, the 9151 code
 * and the start date, `okt-<person>-<code>-<start>`, where <person> is 16 hex digits of a
 * SHA-256 of the identifier (unique per person without spelling the number out in ids).
 * Extent, unit, stay type, end and pause may change under the same key; a new start date
 * is a new decision.
 */
export const oktDecisionKey = (pid: string, serviceCode: string, startDate: string) => `okt-${createHash('sha256').update(pid).digest('hex').slice(0, 16)}-${serviceCode}-${startDate}`;

/** FNR (first digit 0-3), DNR (4-7, day + 40) or FHN (8-9): the system of the number's kind. */
export function personIdentifierSystem(pid: string): string {
  return PERSON_ID_SYSTEMS[personIdKindOf(pid)];
}

/**
 * The reports that turn the sender's known decisions for the patient into the snapshot.
 * `today` (YYYY-MM-DD) dates pauses and ends that the snapshot does not date itself.
 */
export function diffOktSnapshot(
  known: KnownDecision[],
  snapshot: OktService[],
  ctx: { pid: string; sourceSystem: string; today: string; occurredAt: string },
): { ok: true; reports: OktReport[] } | { ok: false; violations: Violation[] } {
  const violations: Violation[] = [];
  const seen = new Map<string, number>();
  for (const s of snapshot) {
    const earlier = seen.get(s.decisionKey);
    if (earlier !== undefined) {
      violations.push({ pointer: `/oktMessages/${s.index}`, rule: 'duplicate-service', detail: `repeats oktMessages/${earlier} (same service code and start date)` });
    }
    seen.set(s.decisionKey, s.index);
  }
  if (violations.length > 0) return { ok: false, violations };

  const patient = { system: personIdentifierSystem(ctx.pid), value: ctx.pid };
  const common = (decisionId: string) => ({ decisionId, occurredAt: ctx.occurredAt, sourceSystem: ctx.sourceSystem, patient });
  const live = (s: DecisionState) => s.status === 'granted' || s.status === 'paused';
  const byId = new Map(known.map((k) => [k.decisionId, k.state]));
  const reports: OktReport[] = [];
  const kept = new Set<string>();

  for (const s of snapshot) {
    // A key whose decision ended earlier and now reappears is a new decision: `<key>~2`, …
    let decisionId = s.decisionKey;
    for (let n = 2; byId.has(decisionId) && !live(byId.get(decisionId)!); n++) decisionId = `${s.decisionKey}~${n}`;
    kept.add(decisionId);
    const state = byId.get(decisionId) ?? { status: 'none' as const };
    const performer = s.unitName ? { name: s.unitName } : undefined;
    const period = { start: s.startDate, ...(s.endDate ? { end: s.endDate } : {}) };
    const dayInService = s.startDate > ctx.today ? s.startDate : ctx.today;

    if (state.status === 'none') {
      reports.push({
        type: 'ServiceDecisionGranted',
        ...common(decisionId),
        service: { code: s.serviceCode },
        period,
        ...(s.weeklyHours !== undefined ? { extent: { value: s.weeklyHours, unit: 'hours-per-week' as const } } : {}),
        ...(s.stayType ? { stayType: s.stayType } : {}),
        ...(performer ? { performer } : {}),
        ...(s.description ? { description: s.description } : {}),
      });
      if (s.paused) reports.push({ type: 'ServicePaused', ...common(decisionId), pausedFrom: dayInService });
      continue;
    }
    if (!live(state)) continue; // unreachable: ended keys got a new id above
    const d = state.decision;
    const change: Partial<OktReport> = {};
    if (d.period.start !== s.startDate || (d.period.end ?? '') !== (s.endDate ?? '')) change.period = period;
    if (s.weeklyHours !== undefined && s.weeklyHours !== d.weeklyHours) change.extent = { value: s.weeklyHours, unit: 'hours-per-week' };
    if (s.stayType && s.stayType !== d.stayType) change.stayType = s.stayType;
    if (performer && performer.name !== d.performer?.name) change.performer = performer;
    if (s.description && s.description !== d.description) change.description = s.description;
    if (Object.keys(change).length > 0) reports.push({ type: 'ServiceDecisionChanged', ...common(decisionId), ...change });
    if (s.paused && state.status === 'granted') reports.push({ type: 'ServicePaused', ...common(decisionId), pausedFrom: dayInService });
    if (!s.paused && state.status === 'paused') {
      const from = d.pausedFrom && d.pausedFrom > ctx.today ? d.pausedFrom : ctx.today;
      reports.push({ type: 'ServiceResumed', ...common(decisionId), resumedFrom: from });
    }
  }

  // A live decision of this sender that the snapshot no longer lists has ended.
  for (const k of known) {
    if (kept.has(k.decisionId) || !live(k.state) || k.state.status === 'none') continue;
    const start = k.state.decision.period.start;
    reports.push({ type: 'ServiceEnded', ...common(k.decisionId), endDate: start > ctx.today ? start : ctx.today, reason: 'Ikke lenger med i OKT-øyeblikksbildet' });
  }
  return { ok: true, reports };
}
