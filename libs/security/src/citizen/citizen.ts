/**
 * The citizen as a caller: a person (innbygger) with an ID-porten / helsenorge OIDC access
 * token, reading their own services and access log (or, as helsenorge lets them, another
 * person's whom they represent). Pure: the claims of a verified token in, the caller or the
 * refusal out. Sources: ID-porten's access-token and id_token references (docs.digdir.no:
 * `pid`, `acr` = `idporten-loa-high`, formerly `Level4`), helsenorge.no "representing others"
 * (yourself, a power of attorney, children under 16 with parental responsibility, persons
 * without the competence to consent), RFC 9396 (`authorization_details`), RFC 9470 (step-up:
 * `insufficient_user_authentication`).
 */
import type { JWTPayload } from 'jose';
import { parsePersonIdentifier } from '#libs/domain';

/** The citizen scope (our audience `nhn:fpi`, NHN's `nhn:<api>/<scope>` naming). */
export const CITIZEN_SCOPE = 'nhn:fpi/citizen';

/**
 * The acr values of the high level of assurance (eIDAS high): ID-porten's current
 * `idporten-loa-high` and its former `Level4`. Substantial (`idporten-loa-substantial`,
 * `Level3`) is not enough for health data.
 */
export const HIGH_ACR_VALUES: readonly string[] = Object.freeze(['idporten-loa-high', 'Level4']);

/** The issuer of the embedded default's citizen tokens (signed with the dev issuer's key). */
export const DEV_CITIZEN_ISSUER = 'urn:fpi:dev-issuer:citizen';

/** The `authorization_details` type that says the caller acts for another person. */
export const REPRESENTATION_TYPE = 'nhn:fpi:representation';

/**
 * On what basis a citizen acts for another person, as helsenorge.no models it:
 * `parental-responsibility` (a child under 16), `power-of-attorney` (fullmakt), and
 * `lack-of-competence` (a person without the competence to consent, on a decision).
 */
export const REPRESENTATION_BASES = ['parental-responsibility', 'power-of-attorney', 'lack-of-competence'] as const;
export type RepresentationBasis = (typeof REPRESENTATION_BASES)[number];

/**
 * The representation claim, one entry of the token's `authorization_details`:
 * `{ "type": "nhn:fpi:representation", "represented": { "pid": "<11 digits>" }, "basis": "<basis>" }`.
 * Exactly these members; at most one such entry per token.
 */
export interface RepresentationClaim {
  type: typeof REPRESENTATION_TYPE;
  represented: { pid: string };
  basis: RepresentationBasis;
}

/** A citizen caller, from a verified token of the citizen issuer. */
export interface CitizenCaller {
  /** The authenticated person (the token's `pid`). */
  pid: string;
  /** The person whose data the call is about: `pid`, or the represented person. */
  subject: string;
  /** Set when the caller acts for another person. */
  representation?: { basis: RepresentationBasis };
  issuer: string;
  /** True for the embedded default's dev citizen issuer: synthetic people and test municipalities only. */
  development: boolean;
  /** The calling application (client_id, e.g. helsenorge), for the access log. */
  clientId: string;
  tokenId?: string;
  acr: string;
}

/** Why a verified token is no citizen's token we take: `status` 401 or 403 and a problem code. */
export class CitizenTokenRefusal extends Error {
  constructor(
    readonly status: 401 | 403,
    readonly code: string,
    detail: string,
    /** The WWW-Authenticate error (RFC 6750 / RFC 9470). */
    readonly error: 'invalid_token' | 'insufficient_user_authentication' | 'insufficient_scope' = 'invalid_token',
  ) {
    super(detail);
  }
}

/**
 * The citizen caller of a token whose signature, issuer, audience and lifetime have been
 * verified (nothing here is read from an unverified token). Checks, in this order:
 * - `acr` one of HIGH_ACR_VALUES, else 401 `insufficient-authentication-level` (RFC 9470 step-up);
 * - the scope `nhn:fpi/citizen`, else 403 `insufficient-scope`;
 * - `pid` a valid person identifier (the one parser), else 401 `invalid-token`;
 * - a dev-issuer token names synthetic people only, else 403 `not-synthetic`;
 * - the representation claim (`parseRepresentation`), else 401 `invalid-representation`.
 */
export function citizenOf(payload: JWTPayload, options: { development: boolean }): CitizenCaller {
  const acr = typeof payload.acr === 'string' ? payload.acr : undefined;
  if (!acr || !HIGH_ACR_VALUES.includes(acr)) {
    throw new CitizenTokenRefusal(
      401,
      'insufficient-authentication-level',
      `health data needs the high level of assurance: acr ${HIGH_ACR_VALUES.join(' or ')}, the token has ${acr === undefined ? 'none' : JSON.stringify(acr)}`,
      'insufficient_user_authentication',
    );
  }
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  if (!scopes.includes(CITIZEN_SCOPE)) throw new CitizenTokenRefusal(403, 'insufficient-scope', `this route needs the scope ${CITIZEN_SCOPE}`, 'insufficient_scope');
  const pid = parsePersonIdentifier(payload.pid);
  if (!pid.ok) throw new CitizenTokenRefusal(401, 'invalid-token', `the token's pid is not a person identifier (${pid.rule})`);
  const representation = parseRepresentation(payload.authorization_details, pid.id.value);
  if (options.development) {
    const represented = representation ? parsePersonIdentifier(representation.represented.pid) : undefined;
    if (!pid.id.synthetic || (represented?.ok && !represented.id.synthetic)) throw new CitizenTokenRefusal(403, 'not-synthetic', 'development citizen tokens are for synthetic people only');
  }
  return {
    pid: pid.id.value,
    subject: representation?.represented.pid ?? pid.id.value,
    ...(representation ? { representation: { basis: representation.basis } } : {}),
    issuer: String(payload.iss),
    development: options.development,
    clientId: typeof payload.client_id === 'string' ? payload.client_id : 'citizen-client',
    tokenId: payload.jti,
    acr,
  };
}

/**
 * The representation claim of a token's `authorization_details`, validated strictly: absent
 * (undefined) or exactly one entry of type `nhn:fpi:representation` with exactly the members
 * `type`, `represented` (`{ pid }` only, a valid person identifier in canonical form, not the
 * caller's own) and `basis` (one of REPRESENTATION_BASES). `authorization_details` itself must
 * be an array of objects when present (RFC 9396 §2). Anything else throws a 401
 * `invalid-representation` refusal naming the rule: a token we cannot read exactly is no
 * permission to read someone's health data.
 */
export function parseRepresentation(details: unknown, callerPid: string): RepresentationClaim | undefined {
  if (details === undefined) return undefined;
  const refuse = (rule: string) => new CitizenTokenRefusal(401, 'invalid-representation', `authorization_details: ${rule}`);
  if (!Array.isArray(details) || details.some((d) => typeof d !== 'object' || d === null || Array.isArray(d))) throw refuse('must be an array of objects (RFC 9396)');
  const entries = (details as Record<string, unknown>[]).filter((d) => d.type === REPRESENTATION_TYPE);
  if (entries.length === 0) return undefined;
  if (entries.length > 1) throw refuse(`at most one ${REPRESENTATION_TYPE} entry`);
  const entry = entries[0]!;
  const extra = Object.keys(entry).filter((k) => !['type', 'represented', 'basis'].includes(k));
  if (extra.length > 0) throw refuse(`unknown member ${extra[0]} in ${REPRESENTATION_TYPE}`);
  if (typeof entry.basis !== 'string' || !(REPRESENTATION_BASES as readonly string[]).includes(entry.basis)) throw refuse(`basis must be one of ${REPRESENTATION_BASES.join(', ')}`);
  const represented = entry.represented;
  if (typeof represented !== 'object' || represented === null || Array.isArray(represented) || Object.keys(represented).join() !== 'pid') throw refuse('represented must be { "pid": "<11 digits>" }');
  const parsed = parsePersonIdentifier((represented as { pid: unknown }).pid);
  if (!parsed.ok) throw refuse(`represented.pid is not a person identifier (${parsed.rule})`);
  if (parsed.id.value === callerPid) throw refuse('represented.pid is the caller: one does not represent oneself');
  return { type: REPRESENTATION_TYPE, represented: { pid: parsed.id.value }, basis: entry.basis as RepresentationBasis };
}
