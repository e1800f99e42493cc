/**
 * The rest-hook channel (Backport IG channels.html "REST-Hook"): POSTs a notification Bundle as
 * `application/fhir+json` to the subscriber's endpoint, with the subscriber's headers, and
 * nothing else: no redirect is followed (a 3xx is a failed attempt), so a notification never
 * goes anywhere but the endpoint the subscription names. Node's own `fetch` (undici).
 */
import { splitHeader } from './subscription-resource.js';

export interface RestHookResult {
  ok: boolean;
  /** The endpoint's HTTP status, when it answered. */
  status?: number;
  /** Why the attempt failed (no patient data: status codes and network errors only). */
  error?: string;
}

/** POSTs `bundle` to `endpoint`; a 2xx answer within `timeoutMs` is an acknowledgement. Never throws. */
export async function postNotification(endpoint: string, headers: readonly string[], bundle: unknown, timeoutMs: number, signal?: AbortSignal): Promise<RestHookResult> {
  const requestHeaders = new Headers();
  for (const h of headers) {
    const split = splitHeader(h);
    if (split) requestHeaders.append(split.name, split.value);
  }
  requestHeaders.set('content-type', 'application/fhir+json; charset=utf-8');
  requestHeaders.set('accept', 'application/fhir+json, application/json;q=0.9, */*;q=0.1');
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: requestHeaders,
      body: JSON.stringify(bundle),
      redirect: 'manual',
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, status: response.status, error: `the endpoint answered ${response.status}` };
  } catch (error) {
    if (timeout.aborted) return { ok: false, error: `no answer within ${timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, error: `the endpoint could not be reached${cause ? ` (${cause})` : ''}` };
  }
}
