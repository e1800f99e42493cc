/**
 * The logical id of the EpisodeOfCare of one decision: derived from (sourceSystem, decisionId)
 * so it is stable across reads, and reversible so `GET /EpisodeOfCare/{id}` can find the
 * decision stream (`Decision/<sourceSystem>/<decisionId>`) without a lookup table.
 *
 * The tenant is not part of the id: every read is scoped to the caller's tenant, and a
 * decision belongs to exactly one tenant.
 *
 * Constraints (FHIR R4 `id`): `[A-Za-z0-9\-\.]{1,64}`, and "Ids are case-insensitive". Our
 * decision ids are case-sensitive and may contain `.`, `_`, `:` and `/` (contract:
 * `[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}`), so base64url would not do (it is case-sensitive and
 * uses `_`). Instead we use a readable escape encoding whose output is lower case only:
 *
 * | input                 | encoded           |
 * |-----------------------|-------------------|
 * | `a`–`z`, `0`–`9`, `-` | unchanged         |
 * | `A`–`Z`               | `.` + lower case  |
 * | `.` `_` `:` `/`       | `.1` `.2` `.3` `.4` |
 * | between the two parts | `.0`              |
 *
 * e.g. `gerica` + `V-2025/17` → `gerica.0.v-2025.417`; a UUID decision id fits easily.
 * Decoding lower-cases the id first, so an id whose case was folded by some intermediary
 * still resolves to the same decision.
 *
 * When the encoding would exceed 64 characters (or the input has characters outside the
 * contract's alphabet), the id is `.9` followed by 40 hex digits of SHA-256 over both
 * parts. `.9` is never produced by the escape encoding, so the two forms cannot be
 * confused. A hashed id is not reversible: `parseEpisodeOfCareId` returns undefined. The
 * read looks every id up in the service overview's decision index
 * (`service_overview_v<N>_decisions`, filled by the projection;
 * libs/content/src/overview/service-overview.projection.ts). The hash depends on the decision alone, so ids stay the
 * same across rebuilds, and ids handed out before the index existed resolve too.
 */
import { createHash } from 'node:crypto';

const MAX_ID_LENGTH = 64;
const SEPARATOR = '.0';
const HASH_PREFIX = '.9';
const HASH_HEX_DIGITS = 40;

const ESCAPES: Readonly<Record<string, string>> = { '.': '.1', _: '.2', ':': '.3', '/': '.4' };
const UNESCAPES: Readonly<Record<string, string>> = { '1': '.', '2': '_', '3': ':', '4': '/' };

export interface DecisionRef {
  sourceSystem: string;
  decisionId: string;
}

function encodePart(part: string): string | undefined {
  let out = '';
  for (const ch of part) {
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch === '-') out += ch;
    else if (ch >= 'A' && ch <= 'Z') out += `.${ch.toLowerCase()}`;
    else if (Object.hasOwn(ESCAPES, ch)) out += ESCAPES[ch];
    else return undefined;
  }
  return out;
}

function hashedId(sourceSystem: string, decisionId: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([sourceSystem, decisionId]), 'utf8')
    .digest('hex');
  return HASH_PREFIX + digest.slice(0, HASH_HEX_DIGITS);
}

/** The EpisodeOfCare id of a decision (see the module comment for the encoding). */
export function episodeOfCareId(sourceSystem: string, decisionId: string): string {
  const source = encodePart(sourceSystem);
  const decision = encodePart(decisionId);
  if (source && decision) {
    const id = source + SEPARATOR + decision;
    if (id.length <= MAX_ID_LENGTH) return id;
  }
  return hashedId(sourceSystem, decisionId);
}

/** True for ids made by hashing (not reversible). Case-insensitive, like FHIR ids. */
export function isHashedEpisodeOfCareId(id: string): boolean {
  return new RegExp(`^\\.9[0-9a-f]{${HASH_HEX_DIGITS}}$`).test(id.toLowerCase());
}

/**
 * The decision an id names, or undefined when the id is hashed, malformed or not one we
 * could have produced. Case-insensitive (FHIR ids are).
 */
export function parseEpisodeOfCareId(id: string): DecisionRef | undefined {
  if (typeof id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return undefined;
  const lower = id.toLowerCase();
  if (lower.startsWith(HASH_PREFIX)) return undefined;
  const parts: string[] = [''];
  for (let i = 0; i < lower.length; i++) {
    const ch = lower[i]!;
    if (ch !== '.') {
      parts[parts.length - 1] += ch;
      continue;
    }
    const next = lower[++i];
    if (next === undefined) return undefined;
    if (next === '0') parts.push('');
    else if (next >= 'a' && next <= 'z') parts[parts.length - 1] += next.toUpperCase();
    else if (Object.hasOwn(UNESCAPES, next)) parts[parts.length - 1] += UNESCAPES[next];
    else return undefined;
  }
  if (parts.length !== 2) return undefined;
  const [sourceSystem, decisionId] = parts as [string, string];
  if (!sourceSystem || !decisionId) return undefined;
  // Only ids we produce are accepted (the round trip rules out anything that would hash).
  if (episodeOfCareId(sourceSystem, decisionId) !== lower) return undefined;
  return { sourceSystem, decisionId };
}

/** Whether `id` is the EpisodeOfCare id of the decision (works for hashed ids too). */
export function episodeOfCareIdMatches(id: string, ref: DecisionRef): boolean {
  return typeof id === 'string' && episodeOfCareId(ref.sourceSystem, ref.decisionId) === id.toLowerCase();
}
