/**
 * Stateless rules of a reported decision event, and its normalisation into the command the
 * decider decides: canonical 9151 code, weekly hours, default dates. Pointers refer to the
 * request body of information model v1.
 */
import { osloDateOf } from '../dates.js';
import { validateOrganisationNumber } from '../identifiers/organisation-number.js';
import { parsePersonIdentifier } from '../identifiers/person-identifier.js';
import { canonicalServiceCode, lookupServiceCode } from '../service-codes/service-codes.js';
import type { DecisionEvent, Performer, Period } from './decision-events.js';
import { decisionCommand, performerRuleViolation, type Actor, type DecisionCommand, type DecisionCommandMetadata } from './decision.js';

export type TenantEnvironment = 'test' | 'production';

export interface Violation {
  pointer: string;
  rule: string;
  detail: string;
}

/** A schema-valid report (information model v1), before the domain rules. */
export interface DecisionReport {
  type: DecisionEvent['type'];
  eventId: string;
  decisionId: string;
  occurredAt: string;
  sourceSystem?: string;
  patient: { system: string; value: string };
  service?: { code: string; system?: string };
  period?: Period;
  extent?: { value: number; unit: 'hours-per-week' | 'hours-per-month' };
  stayType?: string;
  performer?: Performer;
  description?: string;
  pausedFrom?: string;
  resumedFrom?: string;
  endDate?: string;
  reason?: string;
}

export interface RuleContext {
  tenantEnvironment: TenantEnvironment;
  /** Who reports, from the verified token (the caller's client id, and its cross-source scope). */
  actor: Actor;
  /** Used when the report names no source system (the calling client's). */
  defaultSourceSystem: string;
  /**
   * The OKT prototype's snapshot carries no organisation numbers, so the rule that some
   * services need one cannot apply to it.
   */
  performerOrgnrRequired?: boolean;
}

export const MAX_WEEKLY_HOURS = 168;

/** Monthly extents are divided by 4, not 4.33 (IPLOS/KPR rule). */
export function weeklyHours(extent: { value: number; unit: 'hours-per-week' | 'hours-per-month' }): number {
  const hours = extent.unit === 'hours-per-month' ? extent.value / 4 : extent.value;
  return Math.round(hours * 100) / 100;
}

/**
 * Applies the stateless rules and builds the command to decide (its event id lower-cased),
 * or lists every violation. `streamSourceSystem` is the source system of the decision's
 * stream: the report's, else `ctx.defaultSourceSystem`.
 */
export function normalizeDecisionReport(report: DecisionReport, ctx: RuleContext): { ok: true; command: DecisionCommand; streamSourceSystem: string } | { ok: false; violations: Violation[] } {
  const violations: Violation[] = [];
  // The one parser of person ids, with the system the EPJ named: it must fit the number's kind.
  const parsed = parsePersonIdentifier(report.patient.value, { system: report.patient.system });
  if (!parsed.ok) {
    violations.push({ pointer: '/patient/value', rule: parsed.rule, detail: parsed.message });
  } else if (ctx.tenantEnvironment === 'test' && !parsed.id.synthetic && parsed.id.kind !== 'fhn') {
    violations.push({ pointer: '/patient/value', rule: 'synthetic-required', detail: 'a test municipality accepts only synthetic identities (+65 or +80 on the month)' });
  } else if (ctx.tenantEnvironment === 'production' && parsed.id.synthetic) {
    violations.push({ pointer: '/patient/value', rule: 'synthetic-refused', detail: 'a production municipality refuses synthetic identities' });
  }

  let serviceCode: string | undefined;
  if (report.service) {
    serviceCode = canonicalServiceCode(report.service.code);
    if (!serviceCode || !lookupServiceCode(serviceCode)) {
      violations.push({ pointer: '/service/code', rule: 'unknown-service-code', detail: `"${report.service.code}" is not an active Volven 9151 code` });
      serviceCode = undefined;
    }
  }
  if (report.period?.end && report.period.end < report.period.start) {
    violations.push({ pointer: '/period/end', rule: 'period-order', detail: 'the end is before the start' });
  }
  let hours: number | undefined;
  if (report.extent) {
    hours = weeklyHours(report.extent);
    if (hours > MAX_WEEKLY_HOURS) {
      violations.push({ pointer: '/extent/value', rule: 'weekly-extent-range', detail: `${hours} hours per week is more than ${MAX_WEEKLY_HOURS}` });
    }
  }
  if (report.type === 'ServiceDecisionGranted' && serviceCode) {
    const v = performerRuleViolation(serviceCode, report.performer, '/performer', ctx.performerOrgnrRequired !== false);
    if (v) violations.push(v);
  } else if (report.performer?.orgnr) {
    const check = validateOrganisationNumber(report.performer.orgnr);
    if (!check.ok) violations.push({ pointer: '/performer/orgnr', rule: 'performer-orgnr-invalid', detail: check.message });
  }
  if (report.type === 'ServiceDecisionChanged' && [report.period, report.extent, report.stayType, report.performer, report.description].every((x) => x === undefined)) {
    violations.push({ pointer: '', rule: 'change-required', detail: 'a change names at least one of period, extent, stayType, performer, description' });
  }
  if (violations.length > 0) return { ok: false, violations };

  const sourceSystem = report.sourceSystem ?? ctx.defaultSourceSystem;
  // The day in Norway of occurredAt (`osloDateOf`), as the FHIR and OKT paths take `osloToday`:
  // the date as written would be yesterday's for an instant in UTC between 23:00 and midnight.
  const day = osloDateOf(report.occurredAt) ?? report.occurredAt.slice(0, 10);
  // The event's data: the common fields, then the type's, an absent one left out, in this
  // order. Built by assignment, not object spread: V8 copies spreads through a slow generic
  // path here, which made this function the heaviest of the receive path (~10 µs an event).
  const data: Record<string, unknown> = {
    decisionId: report.decisionId,
    sourceSystem,
    patient: { system: report.patient.system, value: report.patient.value },
    occurredAt: report.occurredAt,
  };
  const put = (key: string, value: unknown) => {
    if (value !== undefined) data[key] = value;
  };
  switch (report.type) {
    case 'ServiceDecisionGranted':
      put('serviceCode', serviceCode);
      put('period', report.period);
      put('weeklyHours', hours);
      put('stayType', report.stayType);
      put('performer', report.performer);
      put('description', report.description);
      break;
    case 'ServiceDecisionChanged':
      put('period', report.period);
      put('weeklyHours', hours);
      put('stayType', report.stayType);
      put('performer', report.performer);
      put('description', report.description);
      break;
    case 'ServicePaused':
      put('pausedFrom', report.pausedFrom ?? day);
      put('reason', report.reason);
      break;
    case 'ServiceResumed':
      put('resumedFrom', report.resumedFrom ?? day);
      break;
    case 'ServiceEnded':
      put('endDate', report.endDate);
      put('reason', report.reason);
      break;
    case 'DecisionEnteredInError':
      put('reason', report.reason);
      break;
  }
  const event = { type: report.type, data } as unknown as DecisionEvent;
  const metadata: DecisionCommandMetadata = { eventId: report.eventId.toLowerCase(), actor: ctx.actor };
  if (ctx.performerOrgnrRequired === false) metadata.performerOrgnrRequired = false;
  return { ok: true, command: decisionCommand(event, metadata), streamSourceSystem: sourceSystem };
}

/**
 * The report (information model v1) that normalises to this stored event: the inverse of
 * `normalizeDecisionReport`, used to export a tenant's events in the form replay posts.
 */
export function reportFromEvent(eventId: string, event: DecisionEvent): DecisionReport {
  const { decisionId, sourceSystem, patient, occurredAt } = event.data;
  const base = { type: event.type, eventId, decisionId, occurredAt, sourceSystem, patient };
  const d = event.data as unknown as Record<string, unknown>;
  const extent = typeof d.weeklyHours === 'number' ? { extent: { value: d.weeklyHours, unit: 'hours-per-week' as const } } : {};
  const pick = (...keys: string[]) => Object.fromEntries(keys.filter((k) => d[k] !== undefined).map((k) => [k, d[k]]));
  switch (event.type) {
    case 'ServiceDecisionGranted':
      return { ...base, service: { code: event.data.serviceCode }, ...pick('period', 'stayType', 'performer', 'description'), ...extent } as DecisionReport;
    case 'ServiceDecisionChanged':
      return { ...base, ...pick('period', 'stayType', 'performer', 'description'), ...extent } as DecisionReport;
    case 'ServicePaused':
      return { ...base, ...pick('pausedFrom', 'reason') } as DecisionReport;
    case 'ServiceResumed':
      return { ...base, ...pick('resumedFrom') } as DecisionReport;
    case 'ServiceEnded':
      return { ...base, ...pick('endDate', 'reason') } as DecisionReport;
    case 'DecisionEnteredInError':
      return { ...base, ...pick('reason') } as DecisionReport;
  }
}
