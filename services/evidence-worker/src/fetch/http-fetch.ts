import { SourceFetchError } from './source-fetch-error';

export type FetchedPage = { status: number; contentType: string | null; finalUrl: string; body: string };

/**
 * One GET with a deadline. `signal` (the stage's abort) stops it at once and
 * rethrows its reason; the deadline and network trouble become transient
 * SourceFetchErrors; 4xx answers are permanent.
 */
export async function fetchPage(url: string, o: { timeoutMs: number; maxBytes: number; signal: AbortSignal }): Promise<FetchedPage> {
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, {
      signal: AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]),
      headers: { accept: 'text/html,application/xhtml+xml,application/ld+json;q=0.9,*/*;q=0.8', 'user-agent': 'RayVault-evidence/0.1' },
      redirect: 'follow',
    });
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > o.maxBytes) {
      await res.body?.cancel();
      throw new SourceFetchError('too_large', `${url} is ${declared} bytes, over the ${o.maxBytes}-byte limit`, false);
    }
    body = await res.text();
  } catch (err) {
    if (o.signal.aborted) throw o.signal.reason;
    if (err instanceof SourceFetchError) throw err;
    if ((err as Error).name === 'TimeoutError') throw new SourceFetchError('timeout', `${url} did not answer within ${o.timeoutMs} ms`, true, { cause: err });
    const code = ((err as Error).cause as { code?: string } | undefined)?.code;
    throw new SourceFetchError('network', `${url} unreachable: ${code ?? (err as Error).message}`, true, { cause: err });
  }
  if (res.status >= 500 || res.status === 429) {
    throw new SourceFetchError(res.status === 429 ? 'http_429' : 'http_5xx', `${url} answered HTTP ${res.status}`, true);
  }
  if (res.status >= 400) throw new SourceFetchError('http_4xx', `${url} answered HTTP ${res.status}: check the source URL`, false);
  if (body.length > o.maxBytes) throw new SourceFetchError('too_large', `${url} is over the ${o.maxBytes}-byte limit`, false);
  return { status: res.status, contentType: res.headers.get('content-type'), finalUrl: res.url || url, body };
}
