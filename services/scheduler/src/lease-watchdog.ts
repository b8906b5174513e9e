import { dedupeKeys, type Runtime } from '@rayvault/shared';

/** Heartbeats missed before a worker is reported stale. */
const MISSED_BEATS = 3;

/**
 * Reports workers whose heartbeat stopped (STALE WORKER alert, once per
 * silence). Their runs' leases expire on their own and the reconciler re-queues them.
 */
export function createLeaseWatchdog(rt: Runtime) {
  const staleAfterMs = Math.max(rt.config.heartbeatMs * MISSED_BEATS, rt.config.RAYVAULT_LEASE_MS);
  async function pass(): Promise<string[]> {
    const stale = (await rt.store.listWorkers()).filter((w) => !w.stopped_at && w.heartbeat_age_ms > staleAfterMs);
    for (const w of stale) {
      await rt.alerter.raise({
        kind: 'stale_worker',
        workerId: w.id,
        title: `STALE WORKER: ${w.id}`,
        text: `No heartbeat for ${Math.round(w.heartbeat_age_ms / 1000)} s (state ${w.state}, run ${w.current_run ?? '-'}). Run doctor; if it persists, restart the worker.`,
        details: { worker: w.id, current_run: w.current_run, last_heartbeat_at: w.last_heartbeat_at },
        dedupeKey: dedupeKeys.staleWorker(w.id, w.last_heartbeat_at),
      });
    }
    return stale.map((w) => w.id);
  }
  return { pass, staleAfterMs };
}
