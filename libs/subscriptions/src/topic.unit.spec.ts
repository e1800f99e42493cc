import { organisationNumberCheckDigit } from '#libs/domain';
import { syntheticPid } from '../../testing/src/synthetic.js';
import { matchesFilters, parseFilterCriteria, topicEventCode } from './topic.js';

const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const pid = syntheticPid();
const OWN = '974760673';
const other = (() => {
  for (let n = 91234567; ; n++) {
    const d = organisationNumberCheckDigit(String(n));
    if (d !== undefined) return `${n}${d}`;
  }
})();

describe('the decision-changes topic', () => {
  it('names every decision event by a topic code, and nothing else', () => {
    expect(['ServiceDecisionGranted', 'ServiceDecisionChanged', 'ServicePaused', 'ServiceResumed', 'ServiceEnded', 'DecisionEnteredInError'].map(topicEventCode)).toEqual([
      'granted',
      'changed',
      'paused',
      'resumed',
      'ended',
      'entered-in-error',
    ]);
    expect(topicEventCode('SomethingElse')).toBeUndefined();
  });

  it('parses patient, organisation and event filters, with or without the resource type, ANDed', () => {
    expect(parseFilterCriteria([`EpisodeOfCare?patient.identifier=${FNR}|${pid}&event=paused,ended`, `organization.identifier=urn:oid:2.16.578.1.12.4.1.4.101|${OWN}`], [OWN])).toEqual({
      ok: true,
      filters: { patient: pid, organization: OWN, events: ['paused', 'ended'] },
    });
    expect(parseFilterCriteria([`organization.identifier=${OWN}`], [OWN])).toEqual({ ok: true, filters: { organization: OWN } });
  });

  it('refuses an organisation that is not the caller’s own, naming the rule', () => {
    const r = parseFilterCriteria([`organization.identifier=${other}`], [OWN]);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).toContain('own-organisation');
  });

  it('refuses a subscription to everyone, unknown names, bad codes, repeated filters and other resource types', () => {
    const rules = (criteria: string[]) => (parseFilterCriteria(criteria, [OWN]) as { ok: false; issues: { diagnostics: string }[] }).issues.map((i) => i.diagnostics);
    expect(rules(['event=paused'])[0]).toContain('filter-required');
    expect(rules([])[0]).toContain('filter-required');
    expect(rules([`patient.identifier=${FNR}|${pid}&colour=red`])[0]).toContain("unknown filter 'colour'");
    expect(rules([`patient.identifier=${FNR}|${pid}&event=paused,exploded`])[0]).toContain('filter event');
    expect(rules([`patient.identifier=${FNR}|${pid}`, `patient.identifier=${FNR}|${pid}`])[0]).toContain('more than once');
    expect(rules([`Patient?identifier=${pid}`])[0]).toContain('EpisodeOfCare only');
    expect(rules(['patient.identifier=%E0%A4%A'])[0]).toContain('percent-encoding');
  });

  it('parses the person identifier with the one parser and never echoes it', () => {
    const wrong = pid.slice(0, 10) + String((Number(pid[10]) + 1) % 10);
    const r = parseFilterCriteria([`patient.identifier=${FNR}|${wrong}`], [OWN]);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain(wrong);
  });

  it('matches an event only when every filter holds', () => {
    const facts = { patient: pid, performerOrgnr: OWN, eventType: 'ServicePaused' };
    expect(matchesFilters({ organization: OWN }, facts)).toBe(true);
    expect(matchesFilters({ organization: other }, facts)).toBe(false);
    expect(matchesFilters({ organization: OWN }, { ...facts, performerOrgnr: undefined })).toBe(false);
    expect(matchesFilters({ patient: pid, events: ['paused'] }, facts)).toBe(true);
    expect(matchesFilters({ patient: pid, events: ['ended'] }, facts)).toBe(false);
    expect(matchesFilters({ patient: '0'.repeat(11) }, facts)).toBe(false);
    expect(matchesFilters({ patient: pid }, { ...facts, eventType: 'Unrelated' })).toBe(false);
  });
});
