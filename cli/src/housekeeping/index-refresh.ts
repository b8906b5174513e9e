import { statSync } from 'node:fs';
import path from 'node:path';
import { parseFinalName, sha256File } from '@rayvault/render-worker';
import {
  addToIndex,
  indexMatcher,
  loadVideoIndex,
  probeEntries,
  relinkEntry,
  stateLayout,
  type FileEntry,
  type IndexAddition,
  type IndexEntry,
  type IndexRelink,
  type ProbeSummary,
} from '@rayvault/shared';
import { listFiles, type HousekeepingDeps } from './state-files';

export type { IndexAddition, IndexRelink };
export type RefreshOptions = {
  /** Re-hash and re-probe every indexed file; by default only files changed since indexed (mtime) are hashed, and only
   * entries without metadata, with a failed probe or changed since probed are probed. */
  force?: boolean;
  /** Accept legacy names without a sha8 (`<run8>-segNN.mp4`): index them, relink entries to them. */
  allowMissingSha8?: boolean;
  /** Report only: add, relink and probe nothing (the probe state shown is the one the index holds). */
  dryRun?: boolean;
  onProgress?: (done: number, total: number) => void;
};
export type RefreshProblem = { path: string; reason: string; run_id?: string; segment?: number | null };
export type RefreshReport = ProbeSummary & {
  final_dir: string;
  dry_run: boolean;
  force: boolean;
  checked: number;
  hashed: number;
  ok: number;
  missing: RefreshProblem[];
  mismatched: RefreshProblem[];
  refused: RefreshProblem[];
  added: IndexAddition[];
  relinked: IndexRelink[];
  unattributed: RefreshProblem[];
  /** No missing, mismatched or refused file, and none failing its probe. */
  consistent: boolean;
};

type HashJob = { kind: 'indexed'; entry: IndexEntry } | { kind: 'candidate'; file: FileEntry; legacy: boolean };
type Pass = { media: HousekeepingDeps['media']; index: IndexEntry[]; lost: IndexEntry[]; r: RefreshReport };
const NO_SHA8 = 'name has no sha8 (legacy file): rename it to <run8>-segNN-<sha8>.mp4 or pass --allow-missing-sha8';

/**
 * `index refresh`: every indexed file must exist with its size and SHA-256
 * and pass ffprobe; files of the final dir that the index lacks are added when
 * their name and content prove which run and segment they are, and an entry
 * whose file is missing is re-pointed to a file with its exact SHA-256.
 */
export async function refreshIndex(deps: HousekeepingDeps, opts: RefreshOptions = {}): Promise<RefreshReport> {
  const layout = stateLayout(deps.stateDir);
  const index = await loadVideoIndex(deps.media, layout.root, layout.final);
  const r = emptyReport(layout.final, index.length, opts);
  const pass: Pass = { media: deps.media, index, lost: [], r };
  const jobs: HashJob[] = [];
  for (const entry of index) {
    const job = checkEntry(entry, opts, pass);
    if (job) jobs.push(job);
  }
  const indexed = indexMatcher(index);
  for (const file of listFiles(layout.final).filter((f) => !indexed(f))) {
    const name = parseFinalName(file.name);
    if (name?.sha8 || (name && opts.allowMissingSha8)) jobs.push({ kind: 'candidate', file, legacy: !name.sha8 });
    else if (opts.allowMissingSha8)
      r.unattributed.push({ path: file.path, reason: 'name does not say which run and segment it is' });
    else r.refused.push({ path: file.path, reason: NO_SHA8 });
  }
  await hashAll(pass, jobs, opts.onProgress);
  const fresh = opts.dryRun ? [] : await writeChanges(deps.media, index, r);
  const relinkedIds = new Set(r.relinked.map((l) => l.id));
  Object.assign(
    r,
    await probeEntries(deps.media, [...index.filter((e) => !relinkedIds.has(e.id)), ...fresh], {
      force: !!opts.force,
      dryRun: !!opts.dryRun,
    }),
  );
  r.consistent = !r.missing.length && !r.mismatched.length && !r.refused.length && !r.probe_failed.length;
  return r;
}

function emptyReport(finalDir: string, checked: number, opts: RefreshOptions): RefreshReport {
  return {
    final_dir: finalDir,
    dry_run: !!opts.dryRun,
    force: !!opts.force,
    checked,
    hashed: 0,
    ok: 0,
    missing: [],
    mismatched: [],
    refused: [],
    added: [],
    relinked: [],
    unattributed: [],
    probed: 0,
    unprobed: 0,
    probe_failed: [],
    probe_changes: [],
    consistent: true,
  };
}

/** Applies the relinks and additions found; returns the entries they made, to be probed with the rest. */
async function writeChanges(
  media: HousekeepingDeps['media'],
  index: IndexEntry[],
  r: RefreshReport,
): Promise<IndexEntry[]> {
  const fresh: IndexEntry[] = [];
  for (const l of r.relinked)
    if (await relinkEntry(media, l)) fresh.push({ ...index.find((e) => e.id === l.id)!, path: l.path });
  for (const a of r.added) {
    const id = await addToIndex(media, a);
    if (id !== null)
      fresh.push({
        ...a,
        id,
        stage: 'render',
        kind: 'video',
        duration_s: null,
        meta: {},
        created_at: new Date(),
        ...UNPROBED,
      });
  }
  return fresh;
}

const UNPROBED = {
  probe_status: null,
  probe_error: null,
  probed_at: null,
  container: null,
  video_codec: null,
  audio_codec: null,
  width: null,
  height: null,
} as const;

/** Reads the bytes of every file that needs it: indexed files are compared, candidates attributed. */
async function hashAll(pass: Pass, jobs: HashJob[], onProgress: RefreshOptions['onProgress']): Promise<void> {
  const { r } = pass;
  for (const [i, job] of jobs.entries()) {
    const sha = await sha256File(job.kind === 'indexed' ? job.entry.path : job.file.path).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null; // removed while we walked (a clean, a re-render)
        throw err;
      },
    );
    onProgress?.(i + 1, jobs.length);
    if (sha === null) {
      if (job.kind === 'indexed') lose(pass, job.entry);
      continue;
    }
    r.hashed++;
    if (job.kind === 'indexed') {
      if (sha === job.entry.sha256) r.ok++;
      else
        r.mismatched.push(
          problem(
            job.entry,
            `content changed: sha256 ${sha.slice(0, 8)}…, index says ${job.entry.sha256.slice(0, 8)}…`,
          ),
        );
    } else {
      await attribute(pass, job.file, sha, job.legacy);
    }
  }
}

const problem = (e: IndexEntry, reason: string): RefreshProblem => ({
  path: e.path,
  reason,
  run_id: e.run_id,
  segment: e.segment,
});
function lose(pass: Pass, e: IndexEntry): null {
  pass.r.missing.push(problem(e, 'file not found'));
  pass.lost.push(e);
  return null;
}

/** Cheap checks of one indexed file; returns a hash job when its bytes must be read. */
function checkEntry(e: IndexEntry, opts: RefreshOptions, pass: Pass): HashJob | null {
  const flag = (list: RefreshProblem[], reason: string) => {
    list.push(problem(e, reason));
    return null;
  };
  const st = statSync(e.path, { throwIfNoEntry: false });
  if (!st) return lose(pass, e);
  const name = parseFinalName(path.basename(e.path));
  // A legacy name accepted once (--allow-missing-sha8) is recorded in the entry and stays accepted.
  if (!name?.sha8 && !opts.allowMissingSha8 && e.meta.legacy !== true) return flag(pass.r.refused, NO_SHA8);
  if (name?.sha8 && name.sha8 !== e.sha256.slice(0, 8))
    return flag(pass.r.mismatched, `name says sha8 ${name.sha8}, index says ${e.sha256.slice(0, 8)}`);
  if (st.size !== Number(e.bytes)) return flag(pass.r.mismatched, `size ${st.size} bytes, index says ${e.bytes}`);
  // A file written after it was indexed may have been changed; --force trusts nothing.
  if (opts.force || st.mtimeMs > e.created_at.getTime()) return { kind: 'indexed', entry: e };
  pass.r.ok++;
  return null;
}

async function attribute(pass: Pass, file: FileEntry, sha: string, legacy: boolean): Promise<void> {
  const { r, index } = pass;
  const name = parseFinalName(file.name)!;
  if (name.sha8 && name.sha8 !== sha.slice(0, 8)) {
    r.mismatched.push({
      path: file.path,
      reason: `name says sha8 ${name.sha8}, content is ${sha.slice(0, 8)} (corrupt or tampered)`,
    });
    return;
  }
  // The SHA-256 proves this is the render a missing entry names: the file only moved.
  const lost = pass.lost.find((e) => e.sha256 === sha && !r.relinked.some((l) => l.id === e.id));
  if (lost) {
    r.missing.splice(
      r.missing.findIndex((m) => m.path === lost.path && m.run_id === lost.run_id && m.segment === lost.segment),
      1,
    );
    r.relinked.push({
      id: lost.id,
      path: file.path,
      from: lost.path,
      run_id: lost.run_id,
      segment: lost.segment,
      sha256: sha,
      legacy,
    });
    return;
  }
  const ids = await pass.media.runsByIdPrefix(name.run8, 2);
  if (ids.length !== 1) {
    r.unattributed.push({
      path: file.path,
      reason: ids.length ? `run8 ${name.run8} matches several runs` : `no run ${name.run8}…`,
    });
    return;
  }
  const runId = ids[0];
  const taken =
    index.some((e) => e.run_id === runId && e.stage === 'render' && e.kind === 'video' && e.segment === name.segment) ||
    r.added.some((a) => a.run_id === runId && a.segment === name.segment);
  if (taken) {
    r.unattributed.push({
      path: file.path,
      run_id: runId,
      segment: name.segment,
      reason: 'the index holds another file for this segment (a superseded render)',
    });
    return;
  }
  r.added.push({ path: file.path, run_id: runId, segment: name.segment, sha256: sha, bytes: file.bytes, legacy });
}
