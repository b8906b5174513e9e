import { statSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { parseFinalName, sha256OfFile } from './final-files';
import { listFiles, stateLayout, type FileEntry, type HousekeepingDeps } from './state-layout';
import { indexMatcher, loadVideoIndex, type IndexEntry } from './video-index';

export type RefreshOptions = {
  /** Re-hash every indexed file; by default only files changed since they were indexed (mtime) are hashed. */
  force?: boolean;
  /** Accept legacy names without a sha8 (`<run8>-segNN.mp4`) and index them. */
  allowMissingSha8?: boolean;
  /** Report only; add nothing to the index. */
  dryRun?: boolean;
  onProgress?: (done: number, total: number) => void;
};
export type RefreshProblem = { path: string; reason: string; run_id?: string; segment?: number | null };
export type IndexAddition = { path: string; run_id: string; segment: number; sha256: string; bytes: number; legacy: boolean };
export type RefreshReport = {
  final_dir: string; dry_run: boolean; force: boolean; checked: number; hashed: number; ok: number;
  missing: RefreshProblem[]; mismatched: RefreshProblem[]; refused: RefreshProblem[]; added: IndexAddition[]; unattributed: RefreshProblem[];
  /** No missing, mismatched or refused file. */
  consistent: boolean;
};

type HashJob = { kind: 'indexed'; entry: IndexEntry } | { kind: 'candidate'; file: FileEntry; legacy: boolean };
const NO_SHA8 = 'name has no sha8 (legacy file): rename it to <run8>-segNN-<sha8>.mp4 or pass --allow-missing-sha8';

/**
 * `index refresh`: every indexed file must exist with its size and SHA-256;
 * files of the final dir that the index lacks are added when their name and
 * content prove which run and segment they are.
 */
export async function refreshIndex(deps: HousekeepingDeps, opts: RefreshOptions = {}): Promise<RefreshReport> {
  const layout = stateLayout(deps.stateDir);
  const index = await loadVideoIndex(deps.pool, layout.root, layout.final);
  const r: RefreshReport = { final_dir: layout.final, dry_run: !!opts.dryRun, force: !!opts.force, checked: index.length, hashed: 0, ok: 0,
    missing: [], mismatched: [], refused: [], added: [], unattributed: [], consistent: true };
  const jobs: HashJob[] = [];
  for (const entry of index) {
    const job = checkEntry(entry, opts, r);
    if (job) jobs.push(job);
  }
  const indexed = indexMatcher(index);
  for (const file of listFiles(layout.final).filter((f) => !indexed(f))) {
    const name = parseFinalName(file.name);
    if (name?.sha8 || (name && opts.allowMissingSha8)) jobs.push({ kind: 'candidate', file, legacy: !name.sha8 });
    else if (opts.allowMissingSha8) r.unattributed.push({ path: file.path, reason: 'name does not say which run and segment it is' });
    else r.refused.push({ path: file.path, reason: NO_SHA8 });
  }
  await hashAll(deps.pool, index, jobs, r, opts.onProgress);
  if (!opts.dryRun) for (const a of r.added) await addToIndex(deps.pool, a);
  r.consistent = !r.missing.length && !r.mismatched.length && !r.refused.length;
  return r;
}

/** Reads the bytes of every file that needs it: indexed files are compared, candidates attributed. */
async function hashAll(pool: pg.Pool, index: IndexEntry[], jobs: HashJob[], r: RefreshReport, onProgress: RefreshOptions['onProgress']): Promise<void> {
  for (const [i, job] of jobs.entries()) {
    const sha = await sha256OfFile(job.kind === 'indexed' ? job.entry.path : job.file.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null; // removed while we walked (a clean, a re-render)
      throw err;
    });
    onProgress?.(i + 1, jobs.length);
    if (sha === null) {
      if (job.kind === 'indexed') r.missing.push(problem(job.entry, 'file not found'));
      continue;
    }
    r.hashed++;
    if (job.kind === 'indexed') {
      if (sha === job.entry.sha256) r.ok++;
      else r.mismatched.push(problem(job.entry, `content changed: sha256 ${sha.slice(0, 8)}…, index says ${job.entry.sha256.slice(0, 8)}…`));
    } else {
      await attribute(pool, index, r, job.file, sha, job.legacy);
    }
  }
}

const problem = (e: IndexEntry, reason: string): RefreshProblem => ({ path: e.path, reason, run_id: e.run_id, segment: e.segment });

/** Cheap checks of one indexed file; returns a hash job when its bytes must be read. */
function checkEntry(e: IndexEntry, opts: RefreshOptions, r: RefreshReport): HashJob | null {
  const flag = (list: RefreshProblem[], reason: string) => {
    list.push(problem(e, reason));
    return null;
  };
  const st = statSync(e.path, { throwIfNoEntry: false });
  if (!st) return flag(r.missing, 'file not found');
  const name = parseFinalName(path.basename(e.path));
  if (!name?.sha8 && !opts.allowMissingSha8) return flag(r.refused, NO_SHA8);
  if (name?.sha8 && name.sha8 !== e.sha256.slice(0, 8)) return flag(r.mismatched, `name says sha8 ${name.sha8}, index says ${e.sha256.slice(0, 8)}`);
  if (st.size !== Number(e.bytes)) return flag(r.mismatched, `size ${st.size} bytes, index says ${e.bytes}`);
  // A file written after it was indexed may have been changed; --force trusts nothing.
  if (opts.force || st.mtimeMs > e.created_at.getTime()) return { kind: 'indexed', entry: e };
  r.ok++;
  return null;
}

async function attribute(pool: pg.Pool, index: IndexEntry[], r: RefreshReport, file: FileEntry, sha: string, legacy: boolean): Promise<void> {
  const name = parseFinalName(file.name)!;
  if (name.sha8 && name.sha8 !== sha.slice(0, 8)) {
    r.mismatched.push({ path: file.path, reason: `name says sha8 ${name.sha8}, content is ${sha.slice(0, 8)} (corrupt or tampered)` });
    return;
  }
  const { rows } = await pool.query<{ id: string }>(`SELECT id::text FROM runs WHERE id::text LIKE $1 || '%' LIMIT 2`, [name.run8]);
  if (rows.length !== 1) {
    r.unattributed.push({ path: file.path, reason: rows.length ? `run8 ${name.run8} matches several runs` : `no run ${name.run8}…` });
    return;
  }
  const runId = rows[0].id;
  const taken = index.some((e) => e.run_id === runId && e.stage === 'render' && e.kind === 'video' && e.segment === name.segment)
    || r.added.some((a) => a.run_id === runId && a.segment === name.segment);
  if (taken) {
    r.unattributed.push({ path: file.path, run_id: runId, segment: name.segment, reason: 'the index holds another file for this segment (a superseded render)' });
    return;
  }
  r.added.push({ path: file.path, run_id: runId, segment: name.segment, sha256: sha, bytes: file.bytes, legacy });
}

/** Indexes a found file and leaves an audit event (the event id makes a repeat a no-op). */
async function addToIndex(pool: pg.Pool, a: IndexAddition): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rowCount } = await client.query(`INSERT INTO artifacts (run_id, stage, segment, kind, path, sha256, bytes, meta)
      VALUES ($1, 'render', $2, 'video', $3, $4, $5, $6) ON CONFLICT (run_id, stage, segment, kind) DO NOTHING`,
    [a.run_id, a.segment, a.path, a.sha256, a.bytes, { indexed_by: 'index-refresh', legacy: a.legacy }]);
    if (rowCount) {
      await client.query(`INSERT INTO run_events (id, run_id, type, actor, payload) VALUES ($1, $2, 'artifact_indexed', 'cli:index-refresh', $3)
        ON CONFLICT (id) DO NOTHING`, [`index-refresh:${a.run_id}:${a.segment}:${a.sha256.slice(0, 8)}`, a.run_id,
        { stage: 'render', segment: a.segment, kind: 'video', path: a.path, sha8: a.sha256.slice(0, 8), legacy: a.legacy }]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}
