import { lstatSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stateLayout, workerStaleMs, type StateLayout } from '@rayvault/shared';
import { inspectPidFiles, workersAliveElsewhere } from './pid-files';
import {
  createStateGuard,
  HOUR_MS,
  listFiles,
  processAlive,
  type HousekeepingDeps,
  type SkippedEntry,
  type StateGuard,
} from './state-files';

export type CleanItem = {
  path: string;
  kind: 'staging' | 'temp' | 'pid' | 'checkpoint' | 'empty_dir' | 'cache';
  reason: string;
  bytes: number;
};
export type CleanReport = {
  level: 'safe' | 'hard';
  dry_run: boolean;
  removed: CleanItem[];
  kept: { path: string; reason: string }[];
  freed_bytes: number;
  /** Left alone: symbolic links, and anything that does not resolve inside the state dir. */
  skipped: SkippedEntry[];
  /** Why nothing was done (hard clean while runs still read the cache). */
  refused: string | null;
};
export type CleanOptions = { hard?: boolean; dryRun?: boolean; now?: number };
type RunRow = { id: string; status: string; fence: number };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FINISHED = new Set(['done', 'aborted']);
/** Temp files without a writer pid are left alone this long. */
const TEMP_GRACE_MS = HOUR_MS;

/**
 * `clean` (safe): staging dirs of finished runs and of earlier claims, temp
 * files of dead writers, pid files of dead workers, checkpoint files of
 * finished runs, empty dirs. The final dir is never touched. `--hard` also
 * empties the cache, refused while a run still needs its voice files.
 */
export async function cleanState(deps: HousekeepingDeps, opts: CleanOptions = {}): Promise<CleanReport> {
  const layout = stateLayout(deps.stateDir);
  const guard = createStateGuard(layout.root);
  const report: CleanReport = {
    level: opts.hard ? 'hard' : 'safe',
    dry_run: !!opts.dryRun,
    removed: [],
    kept: [],
    freed_bytes: 0,
    refused: null,
    skipped: [],
  };
  if (opts.hard) {
    const rows = await deps.media.housekeeping.runsReadingCache();
    if (rows.length) {
      report.refused = `${rows.length} run(s) at voice/render still read state/cache (${rows
        .slice(0, 3)
        .map((r) => `${r.id} ${r.status}`)
        .join(', ')}): let them finish or abort them, then clean --hard`;
      return report;
    }
  }
  const runs = await runsById(deps.media, layout);
  const found = [
    ...stagingItems(layout, runs, report),
    ...tempItems(layout, opts.now ?? Date.now(), report.skipped),
    ...(await stalePidItems(deps, layout)),
    ...checkpointItems(layout, runs),
    ...(opts.hard ? cacheItems(layout) : []),
  ];
  const items: CleanItem[] = [];
  for (const item of found) {
    // Checked right before removing: never a link, never below a dir that resolves outside the state dir.
    const refused = guard.refuse(item.path);
    if (refused) report.skipped.push({ path: item.path, reason: refused });
    else {
      if (!opts.dryRun) rmSync(item.path, { recursive: true, force: true });
      items.push(item);
    }
  }
  const empties = [layout.staging, layout.cache, layout.tmp, layout.quarantine].flatMap((d) =>
    removeEmptyDirs(d, !!opts.dryRun, guard, report.skipped),
  );
  report.removed = [
    ...items,
    ...empties.map((p): CleanItem => ({ path: p, kind: 'empty_dir', reason: 'empty directory', bytes: 0 })),
  ];
  report.freed_bytes = items.reduce((n, i) => n + i.bytes, 0);
  return report;
}

/** Pid files of workers that are not running, here or (by their heartbeat) elsewhere. */
async function stalePidItems(deps: HousekeepingDeps, layout: StateLayout): Promise<CleanItem[]> {
  const alive = await workersAliveElsewhere(deps.media, workerStaleMs(deps.config));
  return inspectPidFiles(layout.pids, alive)
    .filter((p) => p.state === 'stale')
    .map((p): CleanItem => ({
      path: p.path,
      kind: 'pid',
      reason: `worker ${p.worker_id} (pid ${p.pid ?? '?'}) is not running`,
      bytes: 0,
    }));
}

const cacheItems = (layout: StateLayout) =>
  topEntries(layout.cache).map((p): CleanItem => ({
    path: p,
    kind: 'cache',
    reason: 'cache (re-created on demand)',
    bytes: sizeOf(p),
  }));

async function runsById(media: HousekeepingDeps['media'], layout: StateLayout): Promise<Map<string, RunRow>> {
  const ids = [...new Set([...uuidDirs(layout.staging).map((d) => path.basename(d)), ...checkpointIds(layout)])];
  if (!ids.length) return new Map();
  const rows = await media.housekeeping.runsStatus(ids);
  return new Map(rows.map((r) => [r.id, r]));
}

/** Run dirs under staging: whole for finished or unknown runs, else only the dirs of earlier claims (`*.f<fence>`). */
function stagingItems(layout: StateLayout, runs: Map<string, RunRow>, report: CleanReport): CleanItem[] {
  const items: CleanItem[] = [];
  for (const dir of uuidDirs(layout.staging)) {
    const run = runs.get(path.basename(dir));
    if (!run || FINISHED.has(run.status)) {
      items.push({
        path: dir,
        kind: 'staging',
        reason: run ? `run is ${run.status}` : 'run unknown to the database',
        bytes: sizeOf(dir),
      });
    } else if (run.status === 'panic' || run.status === 'failed') {
      report.kept.push({ path: dir, reason: `run is ${run.status}: partial exports kept for inspection` });
    } else {
      for (const sub of readdirSync(dir)) {
        const fence = /\.f(\d+)$/.exec(sub);
        if (fence && Number(fence[1]) < run.fence)
          items.push({
            path: path.join(dir, sub),
            kind: 'staging',
            reason: `left by an earlier claim (fence ${fence[1]} < ${run.fence})`,
            bytes: sizeOf(path.join(dir, sub)),
          });
      }
    }
  }
  return items;
}

/** `*.tmp` of atomic writes whose writer died (`name.<pid>.tmp`), and anything in state/tmp older than an hour. */
function tempItems(layout: StateLayout, now: number, skipped: SkippedEntry[]): CleanItem[] {
  // Not the final dir, quarantine or spool: their files are the operator's, not leftovers.
  const tmps = [layout.checkpoints, layout.staging, layout.cache, layout.pids, layout.baptism]
    .flatMap((d) => listFiles(d, now, skipped))
    .filter((f) => f.name.endsWith('.tmp'));
  const items: CleanItem[] = [];
  for (const f of tmps) {
    const pid = Number(/\.(\d+)\.tmp$/.exec(f.name)?.[1]);
    if (pid ? !processAlive(pid) : now - f.mtime_ms > TEMP_GRACE_MS)
      items.push({
        path: f.path,
        kind: 'temp',
        reason: pid ? `writer pid ${pid} is gone` : 'temp file older than an hour',
        bytes: f.bytes,
      });
  }
  for (const f of listFiles(layout.tmp, now, skipped))
    if (now - f.mtime_ms > TEMP_GRACE_MS)
      items.push({ path: f.path, kind: 'temp', reason: 'temp file older than an hour', bytes: f.bytes });
  return items;
}

function checkpointItems(layout: StateLayout, runs: Map<string, RunRow>): CleanItem[] {
  return checkpointIds(layout).flatMap((id) => {
    const run = runs.get(id);
    const file = path.join(layout.checkpoints, `${id}.json`);
    return run && FINISHED.has(run.status)
      ? [{ path: file, kind: 'checkpoint' as const, reason: `run is ${run.status}`, bytes: sizeOf(file) }]
      : [];
  });
}

const checkpointIds = (layout: StateLayout) =>
  topEntries(layout.checkpoints)
    .map((p) => path.basename(p))
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -5))
    .filter((id) => UUID.test(id));

/** Directories below `root` named by a run id (not looking inside the ones found). */
function uuidDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of safeReaddir(dir)) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (UUID.test(e.name)) found.push(p);
      else walk(p);
    }
  };
  walk(root);
  return found;
}

const safeReaddir = (dir: string) => {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
};
const topEntries = (dir: string) => safeReaddir(dir).map((e) => path.join(dir, e.name));
const sizeOf = (p: string) =>
  lstatSync(p, { throwIfNoEntry: false })?.isDirectory()
    ? listFiles(p).reduce((n, f) => n + f.bytes, 0)
    : (lstatSync(p, { throwIfNoEntry: false })?.size ?? 0);

/**
 * Removes empty directories below `root` (not `root` itself), deepest first; returns them. A linked `root` is not
 * entered.
 */
function removeEmptyDirs(root: string, dryRun: boolean, guard: StateGuard, skipped: SkippedEntry[]): string[] {
  const removed: string[] = [];
  const st = lstatSync(root, { throwIfNoEntry: false });
  if (!st) return removed;
  const refused = guard.refuse(root);
  if (refused) {
    if (!skipped.some((s) => s.path === root)) skipped.push({ path: root, reason: refused });
    return removed;
  }
  const visit = (dir: string): boolean => {
    let empty = true;
    for (const e of safeReaddir(dir)) {
      if (!e.isDirectory() || !visit(path.join(dir, e.name))) empty = false;
    }
    if (empty && dir !== root) {
      if (!dryRun) rmdirSync(dir);
      removed.push(dir);
    }
    return empty;
  };
  visit(root);
  return removed;
}
