import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config/load-config';

/** What the housekeeping verbs need: the database (the video index), the state dir and the config. */
export type HousekeepingDeps = { pool: pg.Pool; stateDir: string; config: Config };

/** A worker silent this long is dead (the doctor's STALE_WORKER threshold). */
export const workerStaleMs = (config: Config) => Math.max(config.heartbeatMs * 3, config.RAYVAULT_LEASE_MS);

/** The state dir as the stages and the operator manual lay it out. */
export function stateLayout(stateDir: string) {
  const root = path.resolve(stateDir);
  const at = (name: string) => path.join(root, name);
  return {
    root,
    /** `<run8>-segNN-<sha8>.mp4`, each one a row of the video index. */
    final: at('final'),
    /** Orphans older than the quarantine age, moved here by `clean --zombies`. */
    quarantine: at('quarantine'),
    /** Per-claim render dirs; partial exports of panicked runs stay for inspection. */
    staging: at('staging'),
    /** Re-creatable intermediates (voice WAVs); only `clean --hard` removes them. */
    cache: at('cache'),
    tmp: at('tmp'),
    pids: at('pids'),
    checkpoints: at('checkpoints'),
    spool: at('spool'),
    baptism: at('baptism'),
  };
}
export type StateLayout = ReturnType<typeof stateLayout>;

export type FileEntry = { path: string; name: string; bytes: number; mtime_ms: number; age_s: number };

/** Every regular file below `dir` (none when it does not exist). */
export function listFiles(dir: string, now = Date.now()): FileEntry[] {
  if (!existsSync(dir)) return [];
  const out: FileEntry[] = [];
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const file = path.join(dir, rel);
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    out.push({ path: file, name: path.basename(file), bytes: st.size, mtime_ms: st.mtimeMs, age_s: Math.max(0, Math.round((now - st.mtimeMs) / 1000)) });
  }
  return out;
}

/** True while a process with this pid exists on this machine (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const HOUR_MS = 3_600_000;
