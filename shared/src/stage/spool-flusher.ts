import type { Runtime } from '../runtime';
import { replaySpool } from '../spool/spool';

/**
 * Replays this machine's spool, one replay at a time (callers share the one in
 * flight). `flush(true)` reads nothing when this process spooled nothing since
 * the last replay that emptied it: the hot path of every hand-off.
 */
export function createSpoolFlusher(rt: Pick<Runtime, 'spool' | 'spoolDir' | 'store' | 'log'>) {
  let flushing: Promise<boolean> | undefined;
  // Own spool appends covered by the last replay that left the spool empty.
  let emptiedThrough = -1;
  return (ownSince?: boolean): Promise<boolean> => {
    if (ownSince && rt.spool.appends === emptiedThrough) return Promise.resolve(true);
    flushing ??= (async () => {
      const through = rt.spool.appends;
      rt.spool.rotate();
      const r = await replaySpool(rt.spoolDir, rt.store.rpc, rt.log);
      if (r.applied || r.duplicates || r.rejected || r.quarantined) rt.log.info(r, 'spool replayed');
      if (r.remaining === 0) emptiedThrough = through;
      return r.remaining === 0;
    })().finally(() => (flushing = undefined));
    return flushing;
  };
}
