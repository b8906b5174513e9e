import {
  BadResponseError,
  BodyTooLargeError,
  FetchNetworkError,
  FetchTimeoutError,
  guardedFetch,
  isDestinationRefused,
  type FetchAllow,
} from '@rayvault/shared';
import { SourceFetchError } from './source-fetch-error';

export type FetchedPage = { status: number; contentType: string | null; finalUrl: string; body: string };

const ACCEPT = 'text/html,application/xhtml+xml,application/ld+json;q=0.9,*/*;q=0.8';

/**
 * One GET through the shared guarded fetcher (no private destinations unless
 * allowed, redirects checked hop by hop, decoded body capped, one deadline).
 * `signal` (the stage's abort) stops it at once and rethrows its reason. A
 * refused destination, an oversized or corrupt body and 4xx answers are
 * permanent; the deadline, network trouble, 5xx and 429 are transient.
 */
export async function fetchPage(
  url: string,
  o: { timeoutMs: number; maxBytes: number; allow: FetchAllow; signal: AbortSignal },
): Promise<FetchedPage> {
  let res: Awaited<ReturnType<typeof guardedFetch>>;
  try {
    res = await guardedFetch(url, {
      allow: o.allow,
      maxBytes: o.maxBytes,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      accept: ACCEPT,
      headers: { 'user-agent': 'RayVault-evidence/0.1' },
    });
  } catch (err) {
    if (o.signal.aborted) throw o.signal.reason;
    throw asSourceFetchError(err);
  }
  if (res.status >= 500 || res.status === 429) {
    throw new SourceFetchError(
      res.status === 429 ? 'http_429' : 'http_5xx',
      `${url} answered HTTP ${res.status}`,
      true,
    );
  }
  if (res.status >= 400)
    throw new SourceFetchError('http_4xx', `${url} answered HTTP ${res.status}: check the source URL`, false);
  if (res.status >= 300)
    throw new SourceFetchError(
      'http_4xx',
      `${url} answered HTTP ${res.status} without a usable Location: check the source URL`,
      false,
    );
  const type = res.headers['content-type'];
  return {
    status: res.status,
    contentType: typeof type === 'string' ? type : null,
    finalUrl: res.url,
    body: res.body.toString('utf8'),
  };
}

function asSourceFetchError(err: unknown): SourceFetchError | unknown {
  if (isDestinationRefused(err)) return new SourceFetchError('refused', err.message, false, { cause: err });
  if (err instanceof BodyTooLargeError) return new SourceFetchError('too_large', err.message, false, { cause: err });
  if (err instanceof BadResponseError) return new SourceFetchError('bad_response', err.message, false, { cause: err });
  if (err instanceof FetchTimeoutError) return new SourceFetchError('timeout', err.message, true, { cause: err });
  if (err instanceof FetchNetworkError) return new SourceFetchError('network', err.message, true, { cause: err });
  return err;
}
