import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { FetchAllow, Source } from '@rayvault/shared';
import type { Breakers } from './breakers';
import { sha256, type ContentCache } from './content-cache';
import { fetchPage } from './http-fetch';
import { SourceFetchError, isSourceFetchError } from './source-fetch-error';

export type SourceContent = {
  body: string;
  from: 'file' | 'cache' | 'network';
  sha256: string;
  fetchedAt: string;
  url?: string;
};

export type ReaderDeps = {
  breakers: Breakers;
  cache: ContentCache;
  timeoutMs: number;
  retries: number;
  retryBaseMs: number;
  maxBytes: number;
  allow: FetchAllow;
};

/**
 * Reads a source's page: a file from disk, or a URL from the cache (unless
 * `forceRefetch`) or the network through the host's circuit breaker, retrying
 * transient failures with exponential backoff and jitter. Every failed try is
 * logged as `ingestion_failure`.
 */
export function createSourceReader(deps: ReaderDeps) {
  async function fromFile(file: string): Promise<SourceContent> {
    try {
      const body = await readBoundedFile(path.resolve(file), deps.maxBytes);
      return { body, from: 'file', sha256: sha256(body), fetchedAt: new Date().toISOString() };
    } catch (err) {
      if (isSourceFetchError(err)) throw err;
      throw new SourceFetchError(
        'file_unreadable',
        `cannot read source file ${path.resolve(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        false,
        { cause: err },
      );
    }
  }

  async function fromUrl(
    url: string,
    o: { signal: AbortSignal; forceRefetch: boolean; log: Logger; label: string },
  ): Promise<SourceContent> {
    const cached = o.forceRefetch ? null : await deps.cache.get(url);
    if (cached) return { body: cached.body, from: 'cache', sha256: cached.sha256, fetchedAt: cached.fetched_at, url };
    const host = new URL(url).host;
    for (let attempt = 0; ; attempt++) {
      try {
        const page = await deps.breakers.fire(host, () =>
          fetchPage(url, { timeoutMs: deps.timeoutMs, maxBytes: deps.maxBytes, allow: deps.allow, signal: o.signal }),
        );
        const stored = await deps.cache.put(url, page.body, page.contentType);
        return { body: page.body, from: 'network', sha256: stored.sha256, fetchedAt: stored.fetched_at, url };
      } catch (err) {
        if (!isSourceFetchError(err)) throw err; // the stage was aborted
        const last = !err.retryable || err.reason === 'circuit_open' || attempt >= deps.retries;
        o.log.warn(
          {
            event: 'ingestion_failure',
            source: o.label,
            host,
            operation: 'fetch',
            reason: err.reason,
            last_error: err.message,
            try: attempt + 1,
            willRetry: !last,
          },
          `ingestion_failure: ${err.message}`,
        );
        if (last) throw err;
        const delay = deps.retryBaseMs * 2 ** attempt * (0.5 + Math.random());
        await sleep(delay, undefined, { signal: o.signal }).catch(() => o.signal.throwIfAborted());
      }
    }
  }

  return {
    read(
      source: Source,
      o: { signal: AbortSignal; forceRefetch: boolean; log: Logger; label: string },
    ): Promise<SourceContent> {
      return 'file' in source ? fromFile(source.file) : fromUrl(source.url, o);
    },
  };
}
export type SourceReader = ReturnType<typeof createSourceReader>;

/**
 * A saved page: only a regular file under the page cap is read, judged on the opened
 * descriptor (a path swapped for /dev/zero, a FIFO or a directory is refused, not read forever).
 */
async function readBoundedFile(file: string, maxBytes: number): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new SourceFetchError('file_unreadable', `source file ${file} is not a regular file`, false);
    if (st.size > maxBytes)
      throw new SourceFetchError(
        'too_large',
        `source file ${file} is ${st.size} bytes, over RAYVAULT_FETCH_MAX_BYTES (${maxBytes})`,
        false,
      );
    const buf = Buffer.alloc(st.size);
    let at = 0;
    while (at < buf.length) {
      const { bytesRead } = await handle.read(buf, at, buf.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return buf.toString('utf8', 0, at);
  } finally {
    await handle.close();
  }
}
