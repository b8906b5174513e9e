import path from 'node:path';
import type pg from 'pg';
import { InvalidInputError, RunNotFoundError } from '../errors/errors';
import type { Artifact } from '../store/types';
import type { FileEntry } from './state-layout';

export * from './video-probe';

/** What the index holds of the last probe of a file; `probe_status` null: never probed ("meta missing"). */
export type IndexProbe = {
  probe_status: 'ok' | 'probe_failed' | null; probe_error: string | null; probed_at: Date | null;
  container: string | null; video_codec: string | null; audio_codec: string | null; width: number | null; height: number | null;
};
/** A row of the video index (`artifacts`), its path resolved against the state dir. */
export type IndexEntry = Omit<Artifact, 'created_at'> & IndexProbe & { id: number; created_at: Date };

/**
 * The video index: rendered videos and every artifact whose file lives in the
 * final dir. Paths are absolute as the render stage writes them; a relative
 * one is taken relative to the state dir.
 */
export async function loadVideoIndex(pool: pg.Pool, stateDir: string, finalDir: string): Promise<IndexEntry[]> {
  const { rows } = await pool.query<IndexEntry>(`SELECT id::int, run_id::text, stage, segment, kind, path, sha256, bytes::float8 AS bytes,
    duration_s, meta, created_at, probe_status, probe_error, probed_at, container, video_codec, audio_codec, width, height FROM artifacts ORDER BY run_id, stage, segment, kind`);
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
export async function resolveRunRef(pool: pg.Pool, ref: string): Promise<string> {
  const prefix = ref.toLowerCase();
  if (!UUID.test(ref) && !/^[0-9a-f-]{4,35}$/.test(prefix)) throw new InvalidInputError(`'${ref}' is not a run id (a UUID or at least its first 4 hex digits)`);
  const { rows } = await pool.query<{ id: string }>(`SELECT id::text FROM runs WHERE id::text LIKE $1 || '%' ORDER BY created_at LIMIT 3`, [prefix]);
  if (!rows.length) throw new RunNotFoundError(`run ${ref} not found`);
  if (rows.length > 1) throw new InvalidInputError(`'${ref}' matches several runs (${rows.map((r) => r.id).join(', ')}…): give more of the id`);
  return rows[0].id;
}
