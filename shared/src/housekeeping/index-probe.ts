import { statSync } from 'node:fs';
import type { MediaStore } from '../store/media-store';
import type { IndexEntry } from './video-index';
import { probeVideoFile } from './video-probe';

type Status = IndexEntry['probe_status'];
/** An entry whose probe status a refresh changed (meta filled in, a failure, a recovery). */
export type ProbeChange = {
  path: string;
  run_id: string;
  segment: number | null;
  was: Status;
  now: Exclude<Status, null>;
  error?: string;
};
export type ProbeFailure = {
  path: string;
  reason: string;
  run_id: string;
  segment: number | null;
  probed_at: string | null;
};
export type ProbeSummary = {
  /** Entries ffprobe read in this refresh. */
  probed: number;
  /** Entries never probed (no metadata); a refresh that is not a dry run probes them. */
  unprobed: number;
  probe_failed: ProbeFailure[];
  probe_changes: ProbeChange[];
};

/**
 * Metadata is missing, the last probe failed, or the file changed since it was
 * probed (size or mtime): the index's metadata cannot be trusted, probe again.
 */
function needsProbe(e: IndexEntry, force: boolean): boolean {
  if (force || e.probe_status !== 'ok' || !e.probed_at) return true;
  const st = statSync(e.path, { throwIfNoEntry: false });
  return !!st && (st.size !== Number(e.bytes) || st.mtimeMs > e.probed_at.getTime());
}

const failure = (e: IndexEntry, reason: string, at: Date | null): ProbeFailure => ({
  path: e.path,
  reason,
  run_id: e.run_id,
  segment: e.segment,
  probed_at: at?.toISOString() ?? null,
});

/**
 * Probes the entries whose files exist and need it, stores each outcome and
 * reports failures and changes. A dry run probes nothing and writes nothing:
 * it reports the probe state the index holds (what `make status` shows).
 */
export async function probeEntries(
  media: MediaStore,
  entries: IndexEntry[],
  opts: { force: boolean; dryRun: boolean },
): Promise<ProbeSummary> {
  const s: ProbeSummary = { probed: 0, unprobed: 0, probe_failed: [], probe_changes: [] };
  for (const e of entries) {
    if (!statSync(e.path, { throwIfNoEntry: false })) continue; // reported missing, nothing to probe
    if (opts.dryRun || !needsProbe(e, opts.force)) {
      if (e.probe_status === 'probe_failed')
        s.probe_failed.push(failure(e, e.probe_error ?? 'probe failed', e.probed_at));
      else if (e.probe_status === null) s.unprobed++;
      continue;
    }
    const p = await probeVideoFile(e.path);
    await media.index.saveProbe(e.id, p);
    s.probed++;
    if (p.status === 'probe_failed') s.probe_failed.push(failure(e, p.error, new Date()));
    if (p.status !== e.probe_status) {
      s.probe_changes.push({
        path: e.path,
        run_id: e.run_id,
        segment: e.segment,
        was: e.probe_status,
        now: p.status,
        ...(p.status === 'probe_failed' ? { error: p.error } : {}),
      });
    }
  }
  return s;
}
