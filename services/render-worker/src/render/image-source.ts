// Where a product image's bytes come from: an http(s) URL through the fetch
// guard, or (from the CLI only) a file inside the media directory.
import { guardedFetch, readMediaFile, type FetchAllow } from '@rayvault/shared';
import { ImageRefusedError } from './image-refused-error';

/** How product images are obtained; every default filled by the caller. */
export type ImageSourceOptions = {
  /** The only directory a local image may be read from (RAYVAULT_MEDIA_DIR). */
  mediaDir: string;
  /** Cap on an image, downloaded or local (RAYVAULT_FETCH_MAX_BYTES). */
  maxBytes: number;
  /** Private destinations an image URL may reach (RAYVAULT_FETCH_ALLOW). */
  allow: FetchAllow;
  /** Deadline of one image download. */
  timeoutMs: number;
};

/**
 * Top-level names reserved for documentation and testing (RFC 2606): no real image lives
 * there, so they are not looked up at all (sample pages use them; a lookup would leave the machine).
 */
const RESERVED_TLDS = new Set(['example', 'invalid', 'test']);

/** Downloads an image URL through the guard: HTTP 200 with an image/* content type, under the cap. */
export async function downloadImage(url: string, o: ImageSourceOptions, signal: AbortSignal): Promise<Buffer> {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase().replace(/\.$/, '');
  } catch {
    throw new ImageRefusedError('not a valid URL');
  }
  if (RESERVED_TLDS.has(host.split('.').pop()!))
    throw new ImageRefusedError(`${host} is a reserved documentation name (RFC 2606): not fetched`);
  let res: Awaited<ReturnType<typeof guardedFetch>>;
  try {
    res = await guardedFetch(url, {
      allow: o.allow,
      maxBytes: o.maxBytes,
      timeoutMs: o.timeoutMs,
      signal,
      accept: 'image/png,image/jpeg,image/webp,image/gif;q=0.9,*/*;q=0.1',
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ImageRefusedError((err as Error).message, { cause: err });
  }
  if (res.status !== 200) throw new ImageRefusedError(`${res.url} answered HTTP ${res.status}`);
  const type = String(res.headers['content-type'] ?? '');
  if (!/^image\//i.test(type)) throw new ImageRefusedError(`${res.url} sent ${type || 'no content type'}, not image/*`);
  return res.body;
}

/** A local image, read only from inside the media directory (re-checked now: it may have changed since submission). */
export function readLocalImage(file: string, o: ImageSourceOptions): Buffer {
  try {
    return readMediaFile(file, { mediaDir: o.mediaDir, maxBytes: o.maxBytes });
  } catch (err) {
    throw new ImageRefusedError((err as Error).message, { cause: err });
  }
}
