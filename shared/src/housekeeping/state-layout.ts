import path from 'node:path';
import type { Config } from '../config/load-config';

/** A worker silent this long is dead (the doctor's STALE_WORKER threshold). */
export const workerStaleMs = (config: Config) => Math.max(config.heartbeatMs * 3, config.RAYVAULT_LEASE_MS);

/**
 * The state dir as the stages and the operator manual lay it out: the only place
 * a path below RAYVAULT_STATE_DIR is spelled.
 */
export function stateLayout(stateDir: string) {
  const root = path.resolve(stateDir);
  const at = (...names: string[]) => path.join(root, ...names);
  const pids = at('pids');
  return {
    root,
    /** `<run8>-segNN-<sha8>.mp4`, each one a row of the video index. */
    final: at('final'),
    /** Orphans older than the quarantine age, moved here by `clean --zombies`. */
    quarantine: at('quarantine'),
    /** Per-claim render dirs; partial exports of panicked runs stay for inspection. */
    staging: at('staging'),
    renderStaging: at('staging', 'render'),
    /** Re-creatable intermediates (voice WAVs, fetched pages); only `clean --hard` removes them. */
    cache: at('cache'),
    voiceCache: at('cache', 'voice'),
    evidenceCache: at('cache', 'evidence'),
    /** qc's `<run>.csv` for the editor. */
    timelines: at('timelines'),
    /** Local product images when RAYVAULT_MEDIA_DIR is unset. */
    media: at('media'),
    tmp: at('tmp'),
    pids,
    /** `pids/<worker>.pid`, written by a worker at start, removed on a clean stop. */
    pidFile: (workerId: string) => path.join(pids, `${workerId}.pid`),
    checkpoints: at('checkpoints'),
    spool: at('spool'),
    baptism: at('baptism'),
    /** `npm start`'s connection URLs for the CLI (written by scripts/start.mjs, read by loadConfig). */
    stackEnv: at('stack.env'),
  };
}
export type StateLayout = ReturnType<typeof stateLayout>;

/** A regular file below the state dir, as housekeeping lists it. */
export type FileEntry = { path: string; name: string; bytes: number; mtime_ms: number; age_s: number };
