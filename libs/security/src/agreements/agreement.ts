import { isValidOrganisationNumber, validateOrganisationNumber } from '#libs/domain';
import { textViolation } from '#libs/contracts';
import { PURPOSES_OF_USE, type PurposeOfUse } from '../claims.js';

/**
 * The kinds of agreement under which an organisation outside the municipality reads its data:
 * a GP practice's operating agreement (driftsavtale, fastlegeforskriften) or a cooperation
 * agreement (samarbeidsavtale, helse- og omsorgstjenesteloven § 6-1) such as a hospital trust's.
 */
export const AGREEMENT_KINDS = ['driftsavtale', 'samarbeidsavtale'] as const;
export type AgreementKind = (typeof AGREEMENT_KINDS)[number];

/** One agreement of a municipality's register. Dates are Norwegian calendar days (YYYY-MM-DD), `validTo` inclusive. */
export interface Agreement {
  id: string;
  /** The municipality (tenant) whose data the partner may read. */
  tenant: string;
  /** The partner's legal entity: the `orgnr_parent` of its tokens. */
  partnerOrgnr: string;
  partnerName: string;
  kind: AgreementKind;
  purposes: PurposeOfUse[];
  validFrom: string;
  /** Last day it is valid; undefined: until ended. */
  validTo?: string;
  registeredAt: string;
  registeredBy: string;
  reason: string;
  /** Set when ended (always at the moment it is recorded): from then on it allows nothing. */
  ended?: { at: string; by: string; reason: string };
}

/** Why a partner's read is refused: the `type` of the 403 problem (docs/problems.md). */
export type AgreementRefusal = 'no-agreement' | 'agreement-not-yet-valid' | 'agreement-expired' | 'agreement-ended' | 'purpose-not-covered';

export type AgreementDecision = { allowed: true; agreement: Agreement } | { allowed: false; rule: AgreementRefusal; detail: string; agreement?: Agreement };

/**
 * The agreement rule: whether `partner` may read `tenant`'s data for `purpose` on `today`
 * (the Norwegian calendar day, osloToday). Allowed under the first of `agreements` (the
 * tenant's register) that is the partner's, not ended (an end is recorded when it happens,
 * never ahead, so no clock of ours is compared with the database's), valid on
 * `today` (validFrom ≤ today ≤ validTo) and lists the purpose. Otherwise refused with the
 * most telling rule: `no-agreement` (none for the partner), `purpose-not-covered` (one is
 * in force, but not for this purpose, or the token names none), `agreement-ended`,
 * `agreement-expired`, `agreement-not-yet-valid`. Pure; seed 002 limits sharing to the
 * municipality's own units "plus those with an operating agreement (driftsavtale)".
 */
export function agreementDecision(agreements: readonly Agreement[], request: { tenant: string; partner: string; purpose: PurposeOfUse | undefined; today: string }): AgreementDecision {
  const mine = agreements.filter((a) => a.tenant === request.tenant && a.partnerOrgnr === request.partner);
  const who = `organisation ${request.partner}`;
  if (mine.length === 0) return { allowed: false, rule: 'no-agreement', detail: `${who} has no agreement with municipality ${request.tenant} in its agreement register` };
  const ended = (a: Agreement) => a.ended !== undefined;
  const inForce = mine.filter((a) => !ended(a) && a.validFrom <= request.today && (a.validTo === undefined || request.today <= a.validTo));
  const covering = inForce.find((a) => request.purpose !== undefined && a.purposes.includes(request.purpose));
  if (covering) return { allowed: true, agreement: covering };
  if (inForce.length > 0) {
    const allowed = [...new Set(inForce.flatMap((a) => a.purposes))].join(', ');
    return {
      allowed: false,
      rule: 'purpose-not-covered',
      agreement: inForce[0],
      detail: `the agreement (${inForce.map((a) => `#${a.id} ${a.kind}`).join(', ')}) allows the purposes ${allowed}, not ${request.purpose ?? 'a read without a purpose of use'}`,
    };
  }
  // None in force: say why the most recent one is not.
  const latest = [...mine].sort((a, b) => (a.validFrom < b.validFrom ? 1 : a.validFrom > b.validFrom ? -1 : Number(b.id) - Number(a.id)))[0]!;
  const notYet = mine.find((a) => !ended(a) && a.validFrom > request.today);
  if (notYet) return { allowed: false, rule: 'agreement-not-yet-valid', agreement: notYet, detail: `agreement #${notYet.id} (${notYet.kind}) is valid from ${notYet.validFrom}` };
  if (ended(latest)) return { allowed: false, rule: 'agreement-ended', agreement: latest, detail: `agreement #${latest.id} (${latest.kind}) was ended at ${latest.ended!.at}` };
  const expired = mine.find((a) => !ended(a) && a.validTo !== undefined && a.validTo < request.today) ?? latest;
  return { allowed: false, rule: 'agreement-expired', agreement: expired, detail: `agreement #${expired.id} (${expired.kind}) was valid to ${expired.validTo ?? '?'}` };
}

/** A new agreement as an operator registers it (CLI or API): an agreement before the register gives it an id and a time. */
export type NewAgreement = Omit<Agreement, 'id' | 'registeredAt' | 'ended'>;

/** A field of a new agreement that breaks a rule: `pointer` as in the API's body (RFC 6901). */
export interface AgreementViolation {
  pointer: string;
  rule: string;
  detail: string;
}

const isCalendarDay = (v: unknown): v is string =>
  typeof v === 'string' && /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(v) && !Number.isNaN(Date.parse(v)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v);

/** A required text field: 1–`max` characters of storable text (no control characters, valid Unicode). */
export const requiredTextViolations = (pointer: string, value: unknown, max: number): AgreementViolation[] => {
  if (typeof value !== 'string' || value.trim() === '') return [{ pointer, rule: 'minLength', detail: 'must not be empty' }];
  if (value.length > max) return [{ pointer, rule: 'maxLength', detail: `at most ${max} characters` }];
  const v = textViolation(value);
  return v ? [{ pointer, rule: v.rule, detail: v.detail }] : [];
};

/**
 * Every rule a new agreement breaks (empty when none): organisation numbers valid (mod 11)
 * and different, a known kind, one or more known purposes (no repeats), real calendar days
 * with validTo ≥ validFrom, storable texts (who registered it and why). The same function
 * checks the CLI's options and the API's body.
 */
export function newAgreementViolations(a: Partial<Record<keyof NewAgreement, unknown>>): AgreementViolation[] {
  const out: AgreementViolation[] = [];
  for (const key of ['tenant', 'partnerOrgnr'] as const) {
    const value = a[key];
    const check = typeof value === 'string' ? validateOrganisationNumber(value) : ({ ok: false, rule: 'format', message: 'an organisation number (9 digits)' } as const);
    if (!check.ok) out.push({ pointer: `/${key}`, rule: check.rule, detail: check.message });
  }
  if (typeof a.tenant === 'string' && a.tenant === a.partnerOrgnr && isValidOrganisationNumber(a.tenant)) {
    out.push({ pointer: '/partnerOrgnr', rule: 'not-the-municipality', detail: "the municipality's own units read through orgnr_parent, not an agreement" });
  }
  out.push(...requiredTextViolations('/partnerName', a.partnerName, 200));
  if (!(AGREEMENT_KINDS as readonly unknown[]).includes(a.kind)) out.push({ pointer: '/kind', rule: 'enum', detail: `one of ${AGREEMENT_KINDS.join(', ')}` });
  if (!Array.isArray(a.purposes) || a.purposes.length === 0) out.push({ pointer: '/purposes', rule: 'minItems', detail: 'at least one purpose of use' });
  else {
    const purposes: unknown[] = a.purposes;
    purposes.forEach((p, i) => {
      if (!(PURPOSES_OF_USE as readonly unknown[]).includes(p)) out.push({ pointer: `/purposes/${i}`, rule: 'enum', detail: `one of ${PURPOSES_OF_USE.join(', ')}` });
      else if (purposes.indexOf(p) !== i) out.push({ pointer: `/purposes/${i}`, rule: 'uniqueItems', detail: `${String(p)} is listed twice` });
    });
  }
  if (!isCalendarDay(a.validFrom)) out.push({ pointer: '/validFrom', rule: 'format', detail: 'a date YYYY-MM-DD' });
  if (a.validTo !== undefined) {
    if (!isCalendarDay(a.validTo)) out.push({ pointer: '/validTo', rule: 'format', detail: 'a date YYYY-MM-DD' });
    else if (isCalendarDay(a.validFrom) && a.validTo < a.validFrom) out.push({ pointer: '/validTo', rule: 'not-before-validFrom', detail: 'the last valid day cannot lie before the first' });
  }
  out.push(...requiredTextViolations('/registeredBy', a.registeredBy, 200));
  out.push(...requiredTextViolations('/reason', a.reason, 1000));
  return out;
}
