/**
 * Segment READY/MISSING and drift, the one rule that `report`, the dashboard's
 * timeline and the qc stage share. Callers differ only in how they check a
 * file: qc ffprobes it, the report trusts the video index once the file exists.
 */
export type SegmentStatus = 'READY' | 'MISSING';

/** A planned segment's file as checked: usable with this duration (null: not measured), or why it is not. */
export type SegmentFileCheck = { duration_s: number | null } | { problem: string };

export type SegmentReadiness = {
  status: SegmentStatus;
  duration_s: number | null;
  drift_s: number | null;
  problem?: string;
};

export type ReadinessTotals = {
  segments_total: number;
  segments_ready: number;
  segments_missing: number;
  duration_s: number;
  target_s: number;
  drift_s: number;
};

const ms3 = (x: number) => Math.round(x * 1000) / 1000;

/** READY with its drift from the target (seconds, 3 decimals), or MISSING and why. */
export function segmentReadiness(check: SegmentFileCheck, target_s: number | null): SegmentReadiness {
  if ('problem' in check) return { status: 'MISSING', duration_s: null, drift_s: null, problem: check.problem };
  const d = check.duration_s;
  return { status: 'READY', duration_s: d, drift_s: d !== null && target_s !== null ? ms3(d - target_s) : null };
}

/** Counts, and the sums of READY durations and drifts against every segment's target. */
export function readinessTotals(rows: (SegmentReadiness & { target_s: number | null })[]): ReadinessTotals {
  const ready = rows.filter((r) => r.status === 'READY');
  const sum = (xs: (number | null)[]) => ms3(xs.reduce<number>((n, x) => n + (x ?? 0), 0));
  return {
    segments_total: rows.length,
    segments_ready: ready.length,
    segments_missing: rows.length - ready.length,
    duration_s: sum(ready.map((r) => r.duration_s)),
    target_s: sum(rows.map((r) => r.target_s)),
    drift_s: sum(ready.map((r) => r.drift_s)),
  };
}
