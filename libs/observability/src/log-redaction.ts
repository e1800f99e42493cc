/**
 * Access logs never show a person identifier: headers that carry one (or credentials) are
 * removed, and any 11-digit run in a path is masked (the OKT prototype's URLs, FHIR
 * searches). Query strings are left out of request logs altogether.
 */
const ELEVEN_DIGITS = /(?<![0-9])[0-9]{11}(?![0-9])/g;

export const maskPersonIds = (text: string) => text.replace(ELEVEN_DIGITS, '***********');

export const REDACTED_HEADERS = ['req.headers.authorization', 'req.headers.dpop', 'req.headers["person-id"]', 'req.headers.cookie'];

export function serializeRequest(req: { id?: unknown; method?: string; url?: string; headers?: Record<string, unknown>; remoteAddress?: string }) {
  const path = (req.url ?? '').split('?')[0]!;
  return { id: req.id, method: req.method, url: maskPersonIds(path), headers: req.headers, remoteAddress: req.remoteAddress };
}
