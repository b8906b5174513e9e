import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive, type HousekeepingDeps } from './state-files';

/**
 * `state/pids/<worker>.pid`, written by a worker at start and removed on a
 * clean stop. A file whose process is gone is the trace of a crash (kill -9).
 */
export type PidFile = {
  path: string;
  worker_id: string;
  pid: number | null;
  state: 'alive' | 'alive_elsewhere' | 'stale';
};

/**
 * Worker ids heartbeating from another host: their pid means nothing here (a
 * shared state volume), so their pid files are not judged by local pids.
 */
export function workersAliveElsewhere(media: HousekeepingDeps['media'], staleMs: number): Promise<Set<string>> {
  return media.housekeeping.workersAliveElsewhere(os.hostname(), staleMs);
}

export function inspectPidFiles(pidsDir: string, aliveElsewhere: Set<string> = new Set()): PidFile[] {
  if (!existsSync(pidsDir)) return [];
  return readdirSync(pidsDir)
    .filter((f) => f.endsWith('.pid'))
    .sort()
    .map((f) => {
      const file = path.join(pidsDir, f);
      const workerId = f.slice(0, -'.pid'.length);
      const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      const known = Number.isInteger(pid) && pid > 0 ? pid : null;
      const state = known && processAlive(known) ? 'alive' : aliveElsewhere.has(workerId) ? 'alive_elsewhere' : 'stale';
      return { path: file, worker_id: workerId, pid: known, state };
    });
}
