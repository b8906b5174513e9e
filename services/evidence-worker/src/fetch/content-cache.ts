import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type CachedPage = { url: string; fetched_at: string; sha256: string; content_type: string | null; body: string };

/**
 * Fetched pages by URL under `dir` (one JSON file per URL, named by the
 * URL's SHA-256), fresh for `ttlMs`. A refetch skips `get` but still `put`s.
 */
export function createContentCache(dir: string, ttlMs: number) {
  mkdirSync(dir, { recursive: true });
  const fileOf = (url: string) => path.join(dir, `${createHash('sha256').update(url).digest('hex')}.json`);
  return {
    get(url: string, now = Date.now()): CachedPage | null {
      try {
        const page = JSON.parse(readFileSync(fileOf(url), 'utf8')) as CachedPage;
        return page.url === url && now - Date.parse(page.fetched_at) <= ttlMs ? page : null;
      } catch {
        return null; // missing or torn: fetch again
      }
    },
    put(url: string, body: string, contentType: string | null): CachedPage {
      const page: CachedPage = { url, fetched_at: new Date().toISOString(), sha256: sha256(body), content_type: contentType, body };
      const file = fileOf(url);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(page));
      renameSync(tmp, file);
      return page;
    },
  };
}
export type ContentCache = ReturnType<typeof createContentCache>;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
