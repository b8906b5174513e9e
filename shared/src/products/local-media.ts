// Local files a product may name: a source page saved to disk (`file`) and a
// product picture (`image`). A run's product and its claims can come from a
// remote caller or a remote page, so a path is honoured only where the
// operator put media on purpose, and only as a bounded regular file.
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../errors/errors';
import { stateLayout } from '../housekeeping/state-layout';

/** An image given as an http(s) URL (fetched through the guard); anything else is a local path. */
export const isHttpUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/** RAYVAULT_MEDIA_DIR, else `<RAYVAULT_STATE_DIR>/media`, absolute. */
export function mediaDirOf(config: { RAYVAULT_MEDIA_DIR?: string; RAYVAULT_STATE_DIR: string }): string {
  return path.resolve(config.RAYVAULT_MEDIA_DIR ?? stateLayout(config.RAYVAULT_STATE_DIR).media);
}

export type MediaLimits = { mediaDir: string; maxBytes: number };

const inside = (dir: string, file: string) => {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

function realpathOf(file: string, what: string, nextStep = ''): string {
  try {
    return realpathSync(file);
  } catch (err) {
    throw new InvalidInputError(
      `${what} ${file} cannot be opened (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})${nextStep}`,
      { cause: err },
    );
  }
}

/** A regular file of at most `maxBytes`: not a device, FIFO or directory, and nothing that reads forever. */
function checkRegular(st: Stats, file: string, what: string, maxBytes: number): void {
  if (!st.isFile())
    throw new InvalidInputError(`${what} ${file} is not a regular file: give a file, not a directory, device or pipe`);
  if (st.size > maxBytes)
    throw new InvalidInputError(
      `${what} ${file} is ${st.size} bytes, over the ${maxBytes}-byte cap (RAYVAULT_FETCH_MAX_BYTES)`,
    );
}

/**
 * The real path of a local image, which must lie inside the media directory once
 * symlinks are resolved (a link pointing out of it is refused) and be a bounded regular file.
 */
export function resolveMediaFile(file: string, limits: MediaLimits): string {
  const dir = realpathOf(
    limits.mediaDir,
    'the media directory (RAYVAULT_MEDIA_DIR)',
    ': create it and put product images there',
  );
  const real = realpathOf(path.resolve(file), 'image');
  if (!inside(dir, real)) {
    throw new InvalidInputError(
      `image ${file} is outside the media directory ${dir}: copy it into RAYVAULT_MEDIA_DIR, or give an http(s) URL`,
    );
  }
  checkRegular(statSync(real), file, 'image', limits.maxBytes);
  return real;
}

/**
 * Reads a local image for the render, re-checking at use time what `resolveMediaFile`
 * checked at submission: a symlink swapped in since then, or a directory on the way
 * replaced by one, is refused, because the check is made on the opened descriptor.
 */
export function readMediaFile(file: string, limits: MediaLimits): Buffer {
  const real = resolveMediaFile(file, limits);
  // O_NOFOLLOW: the last component cannot become a link after the check; O_NONBLOCK: a FIFO cannot hang the open.
  const fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    checkRegular(fstatSync(fd), file, 'image', limits.maxBytes);
    const opened = openedPath(fd);
    if (opened !== undefined && !inside(realpathSync(limits.mediaDir), opened)) {
      throw new InvalidInputError(
        `image ${file} was moved out of the media directory while it was read (now ${opened}): refused`,
      );
    }
    const buf = Buffer.alloc(fstatSync(fd).size);
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

/** Where an open descriptor really points (Linux /proc); undefined where the system cannot say. */
function openedPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** A saved source page named by a product file: a bounded regular file (symlinks followed, then checked). */
export function checkSourceFile(file: string, maxBytes: number): void {
  const real = realpathOf(file, 'source file');
  checkRegular(statSync(real), file, 'source file', maxBytes);
}
