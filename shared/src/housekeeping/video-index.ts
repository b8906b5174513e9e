import path from 'node:path';
import { InvalidInputError, RunNotFoundError } from '../errors/errors';
import type { IndexEntry } from '../store/media.schema';
import type { MediaStore } from '../store/media-store';
import type { FileEntry } from './state-layout';

export * from './video-probe';
export type { IndexEntry, IndexProbe } from '../store/media.schema';

/**
 * The video index: rendered videos and every artifact whose file lives in the
 * final dir. Paths are absolute as the render stage writes them; a relative
 * one is taken relative to the state dir.
 */
export async function loadVideoIndex(media: MediaStore, stateDir: string, finalDir: string): Promise<IndexEntry[]> {
  const rows = await media.index.entries();
  const inFinal = (p: string) => !path.relative(finalDir, p).startsWith('..');
  return rows
    .map((r) => ({ ...r, path: path.resolve(stateDir, r.path) }))
    .filter((r) => (r.stage === 'render' && r.kind === 'video') || inFinal(r.path));
}

/**
 * Files of the final dir that the index names, matched by path or by file
 * name (names carry run8 and sha8, so a moved state dir still matches).
 */
export function indexMatcher(index: IndexEntry[]): (f: FileEntry) => boolean {
  const paths = new Set(index.map((e) => e.path));
  const names = new Set(index.map((e) => path.basename(e.path)));
  return (f) => paths.has(f.path) || names.has(f.name);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A run id or a unique prefix of one (the run8 of a final file name works). */
export async function resolveRunRef(media: MediaStore, ref: string): Promise<string> {
  const prefix = ref.toLowerCase();
  if (!UUID.test(ref) && !/^[0-9a-f-]{4,35}$/.test(prefix))
    throw new InvalidInputError(`'${ref}' is not a run id (a UUID or at least its first 4 hex digits)`);
  const ids = await media.runsByIdPrefix(prefix, 3);
  if (!ids.length) throw new RunNotFoundError(`run ${ref} not found`);
  if (ids.length > 1)
    throw new InvalidInputError(`'${ref}' matches several runs (${ids.join(', ')}…): give more of the id`);
  return ids[0];
}
