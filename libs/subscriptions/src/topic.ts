/// <reference types="fhir" />
/**
 * The one subscription topic of the platform: changes of a municipal service decision
 * (vedtak), and the filters a subscriber may narrow it with. Pure functions, no I/O.
 *
 * R4 has no SubscriptionTopic resource: the HL7 Subscriptions R5 Backport IG (STU 1.1,
 * `hl7.fhir.uv.subscriptions-backport`, components.html "Subscription Topics") has R4 servers
 * refer to a topic by its canonical URL only, advertised in the CapabilityStatement with the
 * extension `capabilitystatement-subscriptiontopic-canonical`.
 *
 * Filters (`Subscription.criteria` extension `backport-filter-criteria`, one `valueString`
 * each; several are ANDed, as the IG says), each `[EpisodeOfCare?]name=value[&name=value]`:
 *
 * | name | value | matches |
 * |---|---|---|
 * | `patient.identifier` | `system\|value` (FNR, DNR or FHN) | events of that patient's decisions |
 * | `organization.identifier` | `[urn:oid:2.16.578.1.12.4.1.4.101\|]orgnr` | events of decisions the unit performs (EpisodeOfCare.managingOrganization): "everything about the patients my unit serves" |
 * | `event` | codes, comma = OR: granted, changed, paused, resumed, ended, entered-in-error | events of those kinds |
 *
 * At least one of `patient.identifier` and `organization.identifier` is required: no
 * subscription reaches every patient of a municipality.
 */
import { ORGNR_SYSTEM, parsePersonIdentifier, validateOrganisationNumber, type DecisionEventType } from '#libs/domain';

export { BACKPORT, DECISION_CHANGES_TOPIC } from '#libs/fhir';

/** The topic's event codes (filter `event`) and the stored event type each stands for. */
export const TOPIC_EVENTS: Readonly<Record<string, DecisionEventType>> = Object.freeze({
  granted: 'ServiceDecisionGranted',
  changed: 'ServiceDecisionChanged',
  paused: 'ServicePaused',
  resumed: 'ServiceResumed',
  ended: 'ServiceEnded',
  'entered-in-error': 'DecisionEnteredInError',
});
export type TopicEventCode = keyof typeof TOPIC_EVENTS;

/** The topic's code of a stored event type; undefined for events the topic does not cover. */
export function topicEventCode(eventType: string): string | undefined {
  return Object.entries(TOPIC_EVENTS).find(([, type]) => type === eventType)?.[0];
}

/** The parsed filters of a subscription (stored as JSON). */
export interface TopicFilters {
  /** The patient's canonical 11 digits. */
  patient?: string;
  /** The performing unit's organisation number. */
  organization?: string;
  /** Topic event codes; absent: every kind. */
  events?: string[];
}

/** What the matcher knows of one event: its patient, its decision's performing unit (if any) and its kind. */
export interface EventFacts {
  patient: string;
  performerOrgnr?: string;
  eventType: string;
}

/** Whether an event matches every filter of a subscription (logical AND; `events` is OR within). */
export function matchesFilters(filters: TopicFilters, facts: EventFacts): boolean {
  const code = topicEventCode(facts.eventType);
  if (!code) return false;
  if (filters.patient !== undefined && filters.patient !== facts.patient) return false;
  if (filters.organization !== undefined && filters.organization !== facts.performerOrgnr) return false;
  if (filters.events !== undefined && !filters.events.includes(code)) return false;
  return true;
}

export interface FilterIssue {
  diagnostics: string;
  expression: string[];
}

const CRITERIA_EXPRESSION = 'Subscription.criteria.extension';

/**
 * Parses the filter strings of a subscription. Returns the filters, or the issues (each
 * naming the rule; never echoing a person identifier). `ownOrganisations`: the organisation
 * numbers the caller's token names (its unit, else its legal entity): the organisation
 * filter may name only those.
 */
export function parseFilterCriteria(criteria: readonly string[], ownOrganisations: readonly string[]): { ok: true; filters: TopicFilters } | { ok: false; issues: FilterIssue[] } {
  const issues: FilterIssue[] = [];
  const filters: TopicFilters = {};
  const once = (name: string, i: number) => {
    issues.push({ diagnostics: `filter ${name} given more than once: give it once`, expression: [`${CRITERIA_EXPRESSION}[${i}]`] });
  };
  criteria.forEach((raw, i) => {
    const where = [`${CRITERIA_EXPRESSION}[${i}]`];
    const query = raw.startsWith('EpisodeOfCare?') ? raw.slice('EpisodeOfCare?'.length) : raw;
    if (/^[A-Za-z]+\?/.test(query)) {
      issues.push({ diagnostics: 'filters apply to EpisodeOfCare only: [EpisodeOfCare?]name=value', expression: where });
      return;
    }
    for (const part of query.split('&')) {
      const eq = part.indexOf('=');
      if (eq <= 0) {
        issues.push({ diagnostics: 'a filter is name=value (names: patient.identifier, organization.identifier, event)', expression: where });
        continue;
      }
      const name = part.slice(0, eq);
      let value: string;
      try {
        value = decodeURIComponent(part.slice(eq + 1));
      } catch {
        issues.push({ diagnostics: `filter ${name}: the value is not valid percent-encoding`, expression: where });
        continue;
      }
      if (name === 'patient.identifier' || name === 'patient:identifier') {
        if (filters.patient !== undefined) {
          once('patient.identifier', i);
          continue;
        }
        const bar = value.indexOf('|');
        const parsed = parsePersonIdentifier(bar < 0 ? value : value.slice(bar + 1), bar < 0 ? {} : { system: value.slice(0, bar) });
        if (!parsed.ok) issues.push({ diagnostics: `filter patient.identifier: ${parsed.message} (rule ${parsed.rule})`, expression: where });
        else filters.patient = parsed.id.value;
      } else if (name === 'organization.identifier' || name === 'organization:identifier') {
        if (filters.organization !== undefined) {
          once('organization.identifier', i);
          continue;
        }
        const bar = value.indexOf('|');
        if (bar >= 0 && value.slice(0, bar) !== ORGNR_SYSTEM) {
          issues.push({ diagnostics: `filter organization.identifier: the system must be ${ORGNR_SYSTEM} (organisasjonsnummer)`, expression: where });
          continue;
        }
        const orgnr = bar < 0 ? value : value.slice(bar + 1);
        const check = validateOrganisationNumber(orgnr);
        if (!check.ok) issues.push({ diagnostics: `filter organization.identifier: ${check.message} (rule ${check.rule})`, expression: where });
        else if (!ownOrganisations.includes(orgnr))
          issues.push({
            diagnostics: `filter organization.identifier: a subscription may name only the caller's own organisation (${ownOrganisations.join(' or ')}) (rule own-organisation)`,
            expression: where,
          });
        else filters.organization = orgnr;
      } else if (name === 'event') {
        if (filters.events !== undefined) {
          once('event', i);
          continue;
        }
        const codes = value.split(',');
        const unknown = codes.filter((c) => !Object.hasOwn(TOPIC_EVENTS, c));
        if (unknown.length > 0 || codes.length === 0) issues.push({ diagnostics: `filter event: codes are ${Object.keys(TOPIC_EVENTS).join(', ')} (comma = OR)`, expression: where });
        else filters.events = [...new Set(codes)];
      } else {
        issues.push({ diagnostics: `unknown filter '${name.slice(0, 60)}': the topic filters by patient.identifier, organization.identifier and event`, expression: where });
      }
    }
  });
  if (issues.length === 0 && filters.patient === undefined && filters.organization === undefined) {
    issues.push({
      diagnostics: 'a subscription needs a patient.identifier or organization.identifier filter (rule filter-required): none reaches every patient of a municipality',
      expression: [CRITERIA_EXPRESSION],
    });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, filters };
}
