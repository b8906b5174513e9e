import type pg from 'pg';
import type { VideoProbe } from './video-probe';

/** A final file the index lacks, proven by its name (run8, segment) and its bytes (sha8). */
export type IndexAddition = { path: string; run_id: string; segment: number; sha256: string; bytes: number; legacy: boolean };
/** An indexed file found under another name: same SHA-256, so the entry is re-pointed to it. */
export type IndexRelink = { id: number; path: string; from: string; run_id: string; segment: number | null; sha256: string; legacy: boolean };

/** One transaction: the index change and its audit event (the event id makes a repeat a no-op). */
async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/** Indexes a found file; returns its entry id (null when a render indexed the segment meanwhile). */
export function addToIndex(pool: pg.Pool, a: IndexAddition): Promise<number | null> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<{ id: number }>(`INSERT INTO artifacts (run_id, stage, segment, kind, path, sha256, bytes, meta)
      VALUES ($1, 'render', $2, 'video', $3, $4, $5, $6) ON CONFLICT (run_id, stage, segment, kind) DO NOTHING RETURNING id::int`,
    [a.run_id, a.segment, a.path, a.sha256, a.bytes, { indexed_by: 'index-refresh', legacy: a.legacy }]);
    if (rows.length) {
      await client.query(`INSERT INTO run_events (id, run_id, type, actor, payload) VALUES ($1, $2, 'artifact_indexed', 'cli:index-refresh', $3)
        ON CONFLICT (id) DO NOTHING`, [`index-refresh:${a.run_id}:${a.segment}:${a.sha256.slice(0, 8)}`, a.run_id,
        { stage: 'render', segment: a.segment, kind: 'video', path: a.path, sha8: a.sha256.slice(0, 8), legacy: a.legacy }]);
    }
    return rows[0]?.id ?? null;
  });
}

/**
 * Re-points an entry whose file was renamed (same bytes). A legacy name is
 * recorded as accepted (`meta.legacy`), so later checks need no flag for it.
 * Changes nothing when the entry moved meanwhile (a re-render).
 */
export function relinkEntry(pool: pg.Pool, l: IndexRelink): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    const { rowCount } = await client.query(`UPDATE artifacts SET path = $2, meta = meta || $4::jsonb WHERE id = $1 AND path = $3 AND sha256 = $5`,
      [l.id, l.path, l.from, { relinked_from: l.from, ...(l.legacy ? { legacy: true } : {}) }, l.sha256]);
    if (rowCount) {
      await client.query(`INSERT INTO run_events (id, run_id, type, actor, payload) VALUES ($1, $2, 'artifact_relinked', 'cli:index-refresh', $3)
        ON CONFLICT (id) DO NOTHING`, [`index-refresh:relink:${l.id}:${l.sha256.slice(0, 8)}:${l.path}`, l.run_id,
        { segment: l.segment, from: l.from, to: l.path, sha8: l.sha256.slice(0, 8), legacy: l.legacy }]);
    }
    return !!rowCount;
  });
}

/** Stores a probe's outcome; a failed probe keeps the last good metadata (what the file was) beside the error. */
export async function saveProbe(pool: pg.Pool, id: number, p: VideoProbe): Promise<void> {
  if (p.status === 'probe_failed') {
    await pool.query(`UPDATE artifacts SET probe_status = 'probe_failed', probe_error = $2, probed_at = now() WHERE id = $1`, [id, p.error]);
    return;
  }
  await pool.query(`UPDATE artifacts SET probe_status = 'ok', probe_error = NULL, probed_at = now(), duration_s = coalesce($2, duration_s),
    container = $3, video_codec = $4, audio_codec = $5, width = $6, height = $7 WHERE id = $1`,
  [id, p.duration_s, p.container, p.video_codec, p.audio_codec, p.width, p.height]);
}
