import { existsSync } from 'node:fs';
import { readinessTotals, segmentReadiness, type PanicKind, type SegmentStatus } from '@rayvault/shared';
import type { Artifact } from '../artifacts';
import { probeMedia } from '../media/probe';

/** One planned segment: its target and, once rendered, its final file. */
export type TimelineInput = { segment: number; target_s: number; path: string | null };

export type TimelineRow = {
  segment: number;
  file: string | null;
  start_s: number;
  end_s: number;
  duration_s: number | null;
  target_s: number;
  drift_s: number | null;
  status: SegmentStatus;
  /** Why a segment is MISSING. */
  problem?: string;
};

export type Timeline = { rows: TimelineRow[]; total_s: number; target_total_s: number; ready: number; missing: number };

export type ContractResult = {
  pass: boolean;
  tolerance_s: number;
  slack_s: number;
  problems: string[];
  panic_kind: PanicKind | null;
};

/**
 * Video length may exceed its narration by a frame and an AAC packet; the contract allows that on top of the voice
 * tolerance.
 */
export const MEDIA_SLACK_S = 0.1;

const r3 = (n: number) => Math.round(n * 1000) / 1000;

/** The plan of a run: targets from its voice output, files from the video index (or the render output). */
export function timelineInputs(output: Record<string, unknown>, artifacts: Artifact[]): TimelineInput[] {
  const voice = (output.voice as { segments?: { segment: number; target_s: number }[] } | undefined)?.segments ?? [];
  const rendered = (output.render as { segments?: { segment: number; path: string }[] } | undefined)?.segments ?? [];
  return voice.map((v) => {
    const indexed = artifacts.find((a) => a.stage === 'render' && a.kind === 'video' && a.segment === v.segment);
    return {
      segment: v.segment,
      target_s: v.target_s,
      path: indexed?.path ?? rendered.find((s) => s.segment === v.segment)?.path ?? null,
    };
  });
}

/** ffprobe's verdict on a final file: its duration when whole, or why it is not usable. */
async function checkFile(path: string | null): Promise<{ duration: number } | { problem: string }> {
  if (!path) return { problem: 'not rendered' };
  if (!existsSync(path)) return { problem: `file missing: ${path}` };
  try {
    const p = await probeMedia(path, undefined, { countPackets: true });
    if (!p.streams.some((s) => s.codec_type === 'video')) return { problem: 'no video stream' };
    if (p.streams.some((s) => s.frames !== null && s.packets_read !== null && s.packets_read < s.frames))
      return { problem: 'truncated (fewer packets than its index)' };
    if (!(p.duration_s > 0)) return { problem: 'zero duration' };
    return { duration: p.duration_s };
  } catch (err) {
    return { problem: `ffprobe rejected it: ${(err as Error).message}` };
  }
}

/** ffprobes every segment: cumulative start/end, duration, target, drift, READY/MISSING, total. */
export async function buildTimeline(inputs: TimelineInput[]): Promise<Timeline> {
  const rows: TimelineRow[] = [];
  let cursor = 0;
  for (const input of [...inputs].sort((a, b) => a.segment - b.segment)) {
    const c = await checkFile(input.path);
    const start = cursor;
    if ('duration' in c) cursor = r3(cursor + c.duration);
    const r = segmentReadiness('duration' in c ? { duration_s: r3(c.duration) } : c, input.target_s);
    rows.push({
      segment: input.segment,
      file: input.path,
      start_s: start,
      end_s: cursor,
      duration_s: r.duration_s,
      target_s: input.target_s,
      drift_s: r.drift_s,
      status: r.status,
      ...(r.problem ? { problem: r.problem } : {}),
    });
  }
  const totals = readinessTotals(rows);
  return {
    rows,
    total_s: cursor,
    target_total_s: totals.target_s,
    ready: totals.segments_ready,
    missing: totals.segments_missing,
  };
}

/**
 * Every segment READY and within tolerance of its target. A missing file is a render failure; drift is a voice failure.
 */
export function checkContract(timeline: Timeline, toleranceS: number): ContractResult {
  const problems: string[] = [];
  if (timeline.rows.length === 0) problems.push('no segments: the run has no voice output');
  for (const r of timeline.rows) {
    if (r.status === 'MISSING') problems.push(`segment ${r.segment} MISSING (${r.problem})`);
    else if (Math.abs(r.drift_s!) > toleranceS + MEDIA_SLACK_S)
      problems.push(
        `segment ${r.segment} drifts ${r.drift_s} s from its target ${r.target_s} s (tolerance ${toleranceS} s)`,
      );
  }
  const kind: PanicKind | null =
    problems.length === 0
      ? null
      : timeline.missing > 0 || timeline.rows.length === 0
        ? 'panic_dzine_ui_failure'
        : 'panic_voice_contract_drift';
  return { pass: problems.length === 0, tolerance_s: toleranceS, slack_s: MEDIA_SLACK_S, problems, panic_kind: kind };
}

const csvCell = (v: string | number | null | undefined) => {
  const s = v === null || v === undefined ? '' : typeof v === 'number' ? v.toFixed(3) : v;
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The timeline for the editor: one row per segment and a TOTAL row. */
export function timelineCsv(t: Timeline): string {
  const head = 'segment,file,start_s,end_s,duration_s,target_s,drift_s,status';
  const rows = t.rows.map((r) =>
    [String(r.segment), r.file, r.start_s, r.end_s, r.duration_s, r.target_s, r.drift_s, r.status]
      .map(csvCell)
      .join(','),
  );
  const total = [
    'TOTAL',
    '',
    0,
    t.total_s,
    t.total_s,
    t.target_total_s,
    t.total_s - t.target_total_s,
    `${t.ready} READY / ${t.missing} MISSING`,
  ]
    .map(csvCell)
    .join(',');
  return [head, ...rows, total].join('\n') + '\n';
}
