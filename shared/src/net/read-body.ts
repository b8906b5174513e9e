import type { IncomingMessage } from 'node:http';
import { Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { BadResponseError, BodyTooLargeError, FetchNetworkError } from './fetch-errors';

/** Content encodings one answer may stack; more is refused rather than decoded layer after layer. */
const MAX_ENCODINGS = 2;

/**
 * Reads a response body as a stream, decoding gzip/deflate/br on the way and
 * counting the decoded bytes: past `maxBytes` the stream is destroyed at once
 * (a 200 KB bomb never becomes 500 MB, an endless body stops at the cap).
 * `signal` (the fetch deadline) tears the pipeline down too.
 */
export async function readBody(
  res: IncomingMessage,
  url: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const decoders = decodersFor(res.headers['content-encoding'], url);
  const declared = Number(res.headers['content-length']);
  if (!decoders.length && Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw new BodyTooLargeError(url, maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new BodyTooLargeError(url, maxBytes));
      chunks.push(chunk);
      done();
    },
  });
  try {
    await pipeline([res, ...decoders, sink], { signal });
  } catch (err) {
    res.destroy();
    if (
      (err as NodeJS.ErrnoException).code?.startsWith('Z_') ||
      (err as NodeJS.ErrnoException).code === 'ERR_BROTLI_DECOMPRESSION_FAILED'
    ) {
      throw new BadResponseError(
        `${url}: the ${String(res.headers['content-encoding'])} body is corrupt (${(err as Error).message})`,
        { cause: err },
      );
    }
    if (err instanceof BodyTooLargeError || signal.aborted) throw err;
    throw new FetchNetworkError(url, (err as NodeJS.ErrnoException).code ?? (err as Error).message, { cause: err });
  }
  return Buffer.concat(chunks, size);
}

function decodersFor(header: string | undefined, url: string): Transform[] {
  const codings = (header ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c && c !== 'identity');
  if (codings.length > MAX_ENCODINGS)
    throw new BadResponseError(
      `${url}: ${codings.length} stacked content encodings (${header}); at most ${MAX_ENCODINGS} are decoded`,
    );
  // Encodings are listed in the order they were applied: undo them from the last.
  return codings.reverse().map((c) => {
    if (c === 'gzip' || c === 'x-gzip') return zlib.createGunzip();
    if (c === 'deflate') return zlib.createInflate();
    if (c === 'br') return zlib.createBrotliDecompress();
    throw new BadResponseError(`${url}: unsupported content encoding "${c}" (gzip, deflate and br are read)`);
  });
}
