import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type CachedPage = { url: string; fetched_at: string; sha256: string; content_type: string | null; body: string };
type PageMeta = Omit<CachedPage, 'body'>;

/**
 * Fetched pages by URL under `dir`, fresh for `ttlMs`: per URL (named by its
 * SHA-256) a small `.json` of metadata and the body as it came. Reads and
 * writes are asynchronous and the body is never JSON-encoded, so a page at the
 * byte cap does not hold the event loop (a 4.6 MB page in one JSON file cost
 * about 250 ms of blocking). A refetch skips `get` but still `put`s.
 */
export function createContentCache(dir: string, ttlMs: number) {
  mkdirSync(dir, { recursive: true });
  const base = (url: string) => path.join(dir, createHash('sha256').update(url).digest('hex'));
  const atomicWrite = async (file: string, data: string | Buffer) => {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, file);
  };
  return {
    async get(url: string, now = Date.now()): Promise<CachedPage | null> {
      try {
        const meta = JSON.parse(await readFile(`${base(url)}.json`, 'utf8')) as PageMeta;
        if (meta.url !== url || now - Date.parse(meta.fetched_at) > ttlMs) return null;
        const body = await readFile(`${base(url)}.body`, 'utf8');
        return sha256(body) === meta.sha256 ? { ...meta, body } : null; // torn or mismatched: fetch again
      } catch {
        return null; // missing or torn: fetch again
      }
    },
    async put(url: string, body: string, contentType: string | null): Promise<CachedPage> {
      const meta: PageMeta = {
        url,
        fetched_at: new Date().toISOString(),
        sha256: sha256(body),
        content_type: contentType,
      };
      // Body first: metadata that exists always describes a complete body.
      await atomicWrite(`${base(url)}.body`, body);
      await atomicWrite(`${base(url)}.json`, JSON.stringify(meta));
      return { ...meta, body };
    },
  };
}
export type ContentCache = ReturnType<typeof createContentCache>;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
