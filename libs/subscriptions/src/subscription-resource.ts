/// <reference types="fhir" />
/**
 * The R4 Subscription resource in the Backport IG's profile (`backport-subscription`): parsing
 * what a client posts, checking its endpoint, and rendering what is stored. Pure functions.
 */
import { isIP } from 'node:net';
import { BACKPORT, DECISION_CHANGES_TOPIC, unstorableTextIssues } from '#libs/fhir';
import { parseFilterCriteria, type TopicFilters } from './topic.js';

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';
export const PAYLOAD_CONTENTS: readonly PayloadContent[] = Object.freeze(['empty', 'id-only', 'full-resource']);
export type SubscriptionStatusCode = 'requested' | 'active' | 'error' | 'off';

/** Bounds of the channel settings (seconds, counts). */
export const LIMITS = Object.freeze({
  /** Default and longest wait for an endpoint's answer (backport-timeout). */
  defaultTimeoutSeconds: 10,
  maxTimeoutSeconds: 30,
  /** Shortest and longest heartbeat period (backport-heartbeat-period). */
  minHeartbeatSeconds: 1,
  maxHeartbeatSeconds: 86_400,
  /** Events per notification (backport-max-count). */
  defaultMaxCount: 20,
  maxMaxCount: 100,
  maxHeaders: 10,
  maxHeaderLength: 4096,
  maxEndpointLength: 2048,
  maxReasonLength: 1000,
  maxCriteria: 10,
});

/** A subscription as the client asked for it, checked. */
export interface SubscriptionRequest {
  reason: string;
  criteria: string[];
  filters: TopicFilters;
  endpoint: string;
  headers: string[];
  content: PayloadContent;
  heartbeatSeconds?: number;
  timeoutSeconds: number;
  maxCount: number;
  end?: string;
}

/** A stored subscription, as the store returns it. */
export interface StoredSubscription extends SubscriptionRequest {
  tenant: string;
  id: string;
  clientId: string;
  status: SubscriptionStatusCode;
  eventsSinceStart: number;
  deliveredThrough: number;
  lastError?: string;
}

export interface ResourceIssue {
  code: 'invalid' | 'required' | 'value' | 'not-supported' | 'security';
  diagnostics: string;
  expression: string[];
}

/** Where outbound notifications may go. */
export interface EndpointPolicy {
  /**
   * `http:` to a loopback host (127.0.0.0/8, ::1, localhost) is allowed: the embedded default
   * and tests (a receiver on this machine). Otherwise only `https:` to a host that is no
   * loopback, private, link-local or unspecified address.
   */
  allowLoopbackHttp: boolean;
}

const isLoopback = (host: string) => host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Literal addresses a notification must never reach in production (SSRF into the platform's own network). */
function isInternalAddress(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isLoopback(host) || bare.endsWith('.localhost')) return true;
  const kind = isIP(bare);
  if (kind === 4) {
    const [a, b] = bare.split('.').map(Number) as [number, number];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (kind === 6) return /^(::1?|f[cd][0-9a-f]{2}:|fe[89ab][0-9a-f]:|::ffff:)/i.test(bare);
  return false;
}

/**
 * Checks a rest-hook endpoint: an absolute `https:` URL (or `http:` to loopback where the
 * policy allows), no user info, no fragment, at most 2048 characters. Returns the rule
 * broken, or undefined when the URL may be used.
 */
export function endpointProblem(endpoint: string, policy: EndpointPolicy): string | undefined {
  if (endpoint.length > LIMITS.maxEndpointLength) return `the endpoint is longer than ${LIMITS.maxEndpointLength} characters (rule endpoint-length)`;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'the endpoint must be an absolute URL (rule endpoint-url)';
  }
  if (url.username || url.password) return 'the endpoint may not carry user name or password: use channel.header (rule endpoint-credentials)';
  if (url.hash) return 'the endpoint may not have a fragment (rule endpoint-url)';
  if (url.protocol === 'http:') {
    if (policy.allowLoopbackHttp && isLoopback(url.hostname)) return undefined;
    return policy.allowLoopbackHttp ? 'http: is allowed only to a loopback host here; use https: (rule endpoint-https)' : 'the endpoint must use https: (rule endpoint-https)';
  }
  if (url.protocol !== 'https:') return 'the endpoint must use https: (rule endpoint-https)';
  if (!policy.allowLoopbackHttp && isInternalAddress(url.hostname)) return 'the endpoint may not be a loopback, private or link-local address (rule endpoint-public)';
  return undefined;
}

/** Request headers the platform sets itself, which a subscriber may not set. */
const RESERVED_HEADERS = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-authorization']);

/** A `channel.header` entry as name and value; undefined when it is not `Name: value` with a token name. */
export function splitHeader(header: string): { name: string; value: string } | undefined {
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n\0]*)$/.exec(header);
  return m ? { name: m[1]!, value: m[2]!.trim() } : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function extensionsOf(element: unknown, where: string, issues: ResourceIssue[]): { url: string; value: Record<string, unknown> }[] {
  if (!isObject(element) || element.extension === undefined) return [];
  if (!Array.isArray(element.extension)) {
    issues.push({ code: 'invalid', diagnostics: 'extension must be an array', expression: [`${where}.extension`] });
    return [];
  }
  return element.extension.flatMap((e, i) => {
    if (!isObject(e) || typeof e.url !== 'string') {
      issues.push({ code: 'invalid', diagnostics: 'an extension needs a url', expression: [`${where}.extension[${i}]`] });
      return [];
    }
    return [{ url: e.url, value: e }];
  });
}

function unsignedExtension(
  exts: { url: string; value: Record<string, unknown> }[],
  url: string,
  key: 'valueUnsignedInt' | 'valuePositiveInt',
  where: string,
  issues: ResourceIssue[],
  min: number,
  max: number,
) {
  const found = exts.filter((e) => e.url === url);
  if (found.length === 0) return undefined;
  const v = found[0]!.value[key];
  if (found.length > 1 || typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    issues.push({ code: 'value', diagnostics: `${url.split('/').pop()}: give one ${key} from ${min} to ${max}`, expression: [where] });
    return undefined;
  }
  return v;
}

/**
 * Parses a posted Subscription (R4, backport profile). `ownOrganisations`: the organisation
 * numbers the caller's token names (the organisation filter may name only these); `now`: an
 * `end` must be after it (compared as instants, whatever the offset).
 * Returns the request or every issue found (each with the FHIRPath of the element and the rule).
 */
export function parseSubscription(
  body: unknown,
  ownOrganisations: readonly string[],
  policy: EndpointPolicy,
  now: Date = new Date(),
): { ok: true; request: SubscriptionRequest } | { ok: false; issues: ResourceIssue[] } {
  const issues: ResourceIssue[] = [];
  if (!isObject(body) || body.resourceType !== 'Subscription') {
    return { ok: false, issues: [{ code: 'invalid', diagnostics: 'the body must be a FHIR R4 Subscription resource (resourceType Subscription)', expression: ['Subscription'] }] };
  }
  // Text that cannot be stored (control characters, unpaired surrogates) is refused where it
  // stands, by the rule every body is held to, rather than stored altered.
  const unstorable = unstorableTextIssues(body, 'Subscription');
  if (unstorable.length > 0) return { ok: false, issues: unstorable };
  // The server assigns the id (R4 http.html#create: a given one is ignored); it must still be an id.
  if (body.id !== undefined && (typeof body.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(body.id))) {
    issues.push({ code: 'invalid', diagnostics: 'id, when given, is a FHIR id (1 to 64 of A-Z, a-z, 0-9, - and .); the server assigns its own', expression: ['Subscription.id'] });
  }
  if (body.status !== undefined && body.status !== 'requested' && body.status !== 'active') {
    issues.push({ code: 'value', diagnostics: 'a new subscription has status requested (or active, read as requested)', expression: ['Subscription.status'] });
  }
  const reason = body.reason;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > LIMITS.maxReasonLength) {
    issues.push({ code: 'required', diagnostics: `reason is required in R4: a text of 1 to ${LIMITS.maxReasonLength} characters`, expression: ['Subscription.reason'] });
  }
  if (body.criteria !== DECISION_CHANGES_TOPIC) {
    issues.push({ code: 'not-supported', diagnostics: `criteria must be the topic's canonical URL ${DECISION_CHANGES_TOPIC} (topic-based subscriptions only)`, expression: ['Subscription.criteria'] });
  }
  const criteria: string[] = [];
  for (const e of extensionsOf(body._criteria, 'Subscription.criteria', issues)) {
    if (e.url !== BACKPORT.filterCriteria) {
      issues.push({ code: 'not-supported', diagnostics: `unknown extension on criteria; filters use ${BACKPORT.filterCriteria}`, expression: ['Subscription.criteria.extension'] });
    } else if (typeof e.value.valueString !== 'string' || e.value.valueString.length === 0 || e.value.valueString.length > 2048) {
      issues.push({ code: 'invalid', diagnostics: 'a filter criteria extension has a valueString (up to 2048 characters)', expression: ['Subscription.criteria.extension'] });
    } else criteria.push(e.value.valueString);
  }
  let filters: TopicFilters = {};
  if (criteria.length > LIMITS.maxCriteria) issues.push({ code: 'invalid', diagnostics: `at most ${LIMITS.maxCriteria} filter criteria`, expression: ['Subscription.criteria.extension'] });
  else {
    const parsed = parseFilterCriteria(criteria, ownOrganisations);
    if (parsed.ok) filters = parsed.filters;
    else issues.push(...parsed.issues.map((i) => ({ code: (i.diagnostics.includes('own-organisation') ? 'security' : 'invalid') as ResourceIssue['code'], ...i })));
  }
  let end: string | undefined;
  if (body.end !== undefined) {
    if (typeof body.end !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(body.end) || Number.isNaN(Date.parse(body.end))) {
      issues.push({ code: 'invalid', diagnostics: 'end must be a FHIR instant with a time zone', expression: ['Subscription.end'] });
    } else if (Date.parse(body.end) <= now.getTime()) {
      issues.push({ code: 'value', diagnostics: 'end is in the past: a subscription ends after it starts', expression: ['Subscription.end'] });
    } else end = new Date(body.end).toISOString();
  }
  const channel = body.channel;
  let endpoint = '';
  const headers: string[] = [];
  let content: PayloadContent = 'id-only';
  let heartbeatSeconds: number | undefined;
  let timeoutSeconds: number = LIMITS.defaultTimeoutSeconds;
  let maxCount: number = LIMITS.defaultMaxCount;
  if (!isObject(channel)) issues.push({ code: 'required', diagnostics: 'channel is required', expression: ['Subscription.channel'] });
  else {
    if (channel.type !== 'rest-hook') issues.push({ code: 'not-supported', diagnostics: 'channel.type must be rest-hook (the only channel offered)', expression: ['Subscription.channel.type'] });
    if (typeof channel.endpoint !== 'string') issues.push({ code: 'required', diagnostics: 'a rest-hook channel needs an endpoint', expression: ['Subscription.channel.endpoint'] });
    else {
      const problem = endpointProblem(channel.endpoint, policy);
      if (problem) issues.push({ code: 'value', diagnostics: problem, expression: ['Subscription.channel.endpoint'] });
      else endpoint = channel.endpoint;
    }
    if (channel.header !== undefined) {
      if (!Array.isArray(channel.header) || channel.header.length > LIMITS.maxHeaders) {
        issues.push({ code: 'invalid', diagnostics: `channel.header is an array of at most ${LIMITS.maxHeaders} "Name: value" strings`, expression: ['Subscription.channel.header'] });
      } else
        channel.header.forEach((h: unknown, i) => {
          const split = typeof h === 'string' && h.length <= LIMITS.maxHeaderLength ? splitHeader(h) : undefined;
          if (!split) issues.push({ code: 'invalid', diagnostics: 'a header is "Name: value" on one line', expression: [`Subscription.channel.header[${i}]`] });
          else if (RESERVED_HEADERS.has(split.name.toLowerCase()))
            issues.push({ code: 'value', diagnostics: `header ${split.name} is set by the server`, expression: [`Subscription.channel.header[${i}]`] });
          else headers.push(`${split.name}: ${split.value}`);
        });
    }
    if (channel.payload !== 'application/fhir+json') {
      issues.push({ code: 'value', diagnostics: 'channel.payload must be application/fhir+json', expression: ['Subscription.channel.payload'] });
    }
    const payloadExt = extensionsOf(channel._payload, 'Subscription.channel.payload', issues).filter((e) => e.url === BACKPORT.payloadContent);
    if (payloadExt.length !== 1 || !PAYLOAD_CONTENTS.includes(payloadExt[0]!.value.valueCode as PayloadContent)) {
      issues.push({
        code: 'required',
        diagnostics: `channel.payload needs one backport-payload-content extension: ${PAYLOAD_CONTENTS.join(', ')}`,
        expression: ['Subscription.channel.payload.extension'],
      });
    } else content = payloadExt[0]!.value.valueCode as PayloadContent;
    const exts = extensionsOf(channel, 'Subscription.channel', issues);
    heartbeatSeconds = unsignedExtension(exts, BACKPORT.heartbeatPeriod, 'valueUnsignedInt', 'Subscription.channel.extension', issues, LIMITS.minHeartbeatSeconds, LIMITS.maxHeartbeatSeconds);
    timeoutSeconds = unsignedExtension(exts, BACKPORT.timeout, 'valueUnsignedInt', 'Subscription.channel.extension', issues, 1, LIMITS.maxTimeoutSeconds) ?? timeoutSeconds;
    maxCount = unsignedExtension(exts, BACKPORT.maxCount, 'valuePositiveInt', 'Subscription.channel.extension', issues, 1, LIMITS.maxMaxCount) ?? maxCount;
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, request: { reason: (reason as string).trim(), criteria, filters, endpoint, headers, content, heartbeatSeconds, timeoutSeconds, maxCount, ...(end ? { end } : {}) } };
}

/**
 * The stored subscription as an R4 Subscription (backport profile). Header values are not
 * returned (they often hold a secret for the endpoint): each shows as `Name: ***`.
 */
export function toSubscriptionResource(s: StoredSubscription): fhir4.Subscription {
  const channelExtensions: fhir4.Extension[] = [
    ...(s.heartbeatSeconds !== undefined ? [{ url: BACKPORT.heartbeatPeriod, valueUnsignedInt: s.heartbeatSeconds }] : []),
    { url: BACKPORT.timeout, valueUnsignedInt: s.timeoutSeconds },
    { url: BACKPORT.maxCount, valuePositiveInt: s.maxCount },
  ];
  return {
    resourceType: 'Subscription',
    id: s.id,
    meta: { profile: [BACKPORT.subscriptionProfile] },
    status: s.status,
    ...(s.end ? { end: s.end } : {}),
    reason: s.reason,
    criteria: DECISION_CHANGES_TOPIC,
    ...(s.criteria.length > 0 ? { _criteria: { extension: s.criteria.map((c) => ({ url: BACKPORT.filterCriteria, valueString: c })) } } : {}),
    ...(s.status === 'error' && s.lastError ? { error: s.lastError } : {}),
    channel: {
      extension: channelExtensions,
      type: 'rest-hook',
      endpoint: s.endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: BACKPORT.payloadContent, valueCode: s.content }] },
      ...(s.headers.length > 0 ? { header: s.headers.map((h) => `${splitHeader(h)?.name ?? 'header'}: ***`) } : {}),
    },
  } as fhir4.Subscription;
}
