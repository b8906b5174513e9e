import { lstatSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stateLayout, type FileEntry } from '@rayvault/shared';
import { findOrphans } from './orphans';
import { createStateGuard, HOUR_MS, listFiles, type HousekeepingDeps, type SkippedEntry } from './state-files';

/** Defaults of the operator manual: quarantine orphans older than 6 h, delete those older than 48 h. */
export const ZOMBIE_DEFAULTS = { quarantineAfterH: 6, deleteAfterH: 48 } as const;

export type ZombieOptions = {
  /** Delete instead of quarantine (the CLI asks for --confirm). */
  delete?: boolean;
  dryRun?: boolean;
  /** Minimum age in hours; defaults to 6 (quarantine) or 48 (delete). */
  olderThanH?: number;
  now?: number;
};
export type ZombieAction = { from: string; to: string | null; bytes: number; age_s: number };
export type ZombieReport = {
  mode: 'quarantine' | 'delete';
  dry_run: boolean;
  older_than_h: number;
  quarantine_dir: string;
  acted: ZombieAction[];
  younger: number;
  freed_bytes: number;
  /** Left alone: symbolic links, and anything that does not resolve inside the state dir. */
  skipped: SkippedEntry[];
};

/**
 * `clean --zombies`: orphans of the final dir (files the index does not name)
 * older than the threshold are moved to `state/quarantine/`; with `delete`,
 * orphans and quarantined files older than the threshold are deleted.
 */
export async function cleanZombies(deps: HousekeepingDeps, opts: ZombieOptions = {}): Promise<ZombieReport> {
  const layout = stateLayout(deps.stateDir);
  const guard = createStateGuard(layout.root);
  const now = opts.now ?? Date.now();
  const olderThanH = opts.olderThanH ?? (opts.delete ? ZOMBIE_DEFAULTS.deleteAfterH : ZOMBIE_DEFAULTS.quarantineAfterH);
  const { orphans, skipped } = await findOrphans(deps, now);
  const candidates = opts.delete ? [...orphans, ...listFiles(layout.quarantine, now, skipped)] : orphans;
  const old = (f: FileEntry) => now - f.mtime_ms >= olderThanH * HOUR_MS;
  const report: ZombieReport = {
    mode: opts.delete ? 'delete' : 'quarantine',
    dry_run: !!opts.dryRun,
    older_than_h: olderThanH,
    quarantine_dir: layout.quarantine,
    acted: [],
    younger: candidates.filter((f) => !old(f)).length,
    freed_bytes: 0,
    skipped,
  };
  for (const f of candidates.filter(old)) {
    // The render stage may have indexed this very file since the scan (same bytes, same name).
    if (f.path.startsWith(layout.final + path.sep) && (await deps.media.index.names(f))) continue;
    // Checked right before acting: the file itself, then (a linked quarantine dir would send it elsewhere) the target.
    const target = opts.delete ? null : guard.refuseTarget(layout.quarantine);
    const refused = guard.refuse(f.path) ?? (target && `quarantine refused: ${target}`);
    if (refused) {
      skipped.push({ path: f.path, reason: refused });
      continue;
    }
    const to = opts.delete ? null : freeName(layout.quarantine, f.name);
    if (!opts.dryRun) {
      if (to) {
        mkdirSync(layout.quarantine, { recursive: true });
        renameSync(f.path, to);
      } else rmSync(f.path, { force: true });
    }
    report.acted.push({ from: f.path, to, bytes: f.bytes, age_s: f.age_s });
  }
  if (opts.delete) report.freed_bytes = report.acted.reduce((n, a) => n + a.bytes, 0);
  return report;
}

/** The same name in quarantine, or `name.N` when a file of that name is already there. */
function freeName(dir: string, name: string): string {
  let candidate = path.join(dir, name);
  for (let n = 1; lstatSync(candidate, { throwIfNoEntry: false }); n++) candidate = path.join(dir, `${name}.${n}`);
  return candidate;
}
