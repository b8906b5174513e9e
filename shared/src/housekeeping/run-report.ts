import { existsSync } from 'node:fs';
import path from 'node:path';
import { STAGES } from '../domain/run-status';
import { RunNotFoundError } from '../errors/errors';
import type { MediaStore } from '../store/media-store';
import { readinessTotals, segmentReadiness, type ReadinessTotals, type SegmentStatus } from './segment-readiness';

export type ReportPrices = { creditPriceUsd: number; usdBrl: number };
export type SegmentQuality = {
  segment: number;
  status: SegmentStatus;
  path: string | null;
  sha8: string | null;
  duration_s: number | null;
  target_s: number | null;
  drift_s: number | null;
  problem?: string;
};
export type StageTiming = {
  stage: string;
  status: string;
  attempt: number;
  worker_id: string | null;
  started_at: string;
  finished_at: string | null;
  duration_s: number | null;
};
export type RunCost = { credit_price_usd: number; usd_brl: number; usd: number; brl: number };
export type RunReport = {
  run_id: string;
  status: string;
  stage: string;
  product: string | null;
  credits: { total: number; entries: number; by_provider: Record<string, number> };
  cost: RunCost;
  quality: ReadinessTotals & { segments: SegmentQuality[] };
  timings: { stages: StageTiming[]; wall_s: number | null };
};

/** A run's rendered segment in the video index. */
export type ReportVideo = {
  segment: number;
  path: string;
  sha256: string;
  duration_s: number | null;
  meta: { target_s?: number };
};
/** A stage row as the store or a query gives it (timestamps as Date or ISO text). */
export type ReportStageRow = {
  stage: string;
  status: string;
  attempt: number;
  worker_id: string | null;
  started_at: Date | string;
  finished_at: Date | string | null;
};
/** What a report is made of, however it was loaded. */
export type RunReportInput = {
  run: {
    id: string;
    status: string;
    stage: string;
    product: { name?: string } | null;
    output: Record<string, unknown>;
  };
  /** The credits ledger summed per provider. */
  ledger: { provider: string; credits: number; n: number }[];
  videos: ReportVideo[];
  stages: ReportStageRow[];
};

const cents = (x: number) => Math.round(x * 100) / 100;
const ms3 = (x: number) => Math.round(x * 1000) / 1000;
const order = (stage: string) => (STAGES as readonly string[]).indexOf(stage);
const epochMs = (t: Date | string) => (typeof t === 'string' ? Date.parse(t) : t.getTime());
const iso = (t: Date | string) => (typeof t === 'string' ? new Date(t).toISOString() : t.toISOString());

/**
 * The read model of a run's report, shared by `rayvault report`, `GET /api/runs/:id`
 * and the dashboard's timeline: credits spent (the ledger) and their cost in USD and
 * BRL, quality (segments READY in the video index against the voice script) and stage
 * timings. Checks files exist; probes nothing.
 */
export function runReport(input: RunReportInput, prices: ReportPrices, stateDir: string): RunReport {
  const { run, ledger } = input;
  const total = ledger.reduce((n, l) => n + l.credits, 0);
  return {
    run_id: run.id,
    status: run.status,
    stage: run.stage,
    product: run.product?.name ?? null,
    credits: {
      total,
      entries: ledger.reduce((n, l) => n + l.n, 0),
      by_provider: Object.fromEntries(ledger.map((l) => [l.provider, l.credits])),
    },
    cost: runCost(total, prices),
    quality: segmentQuality(run.output, input.videos, stateDir),
    timings: stageTimings(input.stages),
  };
}

/** What `credits` cost at the configured prices, in USD and BRL, to the cent. */
export function runCost(credits: number, prices: ReportPrices): RunCost {
  const usd = credits * prices.creditPriceUsd;
  return {
    credit_price_usd: prices.creditPriceUsd,
    usd_brl: prices.usdBrl,
    usd: cents(usd),
    brl: cents(usd * prices.usdBrl),
  };
}

/** Seconds a stage took, to the millisecond; null while it runs. */
export function stageDurationS(startedAt: Date | string, finishedAt: Date | string | null): number | null {
  return finishedAt ? ms3((epochMs(finishedAt) - epochMs(startedAt)) / 1000) : null;
}

function segmentQuality(
  output: Record<string, unknown>,
  videos: ReportVideo[],
  stateDir: string,
): RunReport['quality'] {
  const script = (output.voice as { segments?: { segment: number; target_s: number }[] } | undefined)?.segments ?? [];
  const numbers = [...new Set([...script.map((s) => s.segment), ...videos.map((v) => v.segment)])].sort(
    (a, b) => a - b,
  );
  const segments = numbers.map((n): SegmentQuality => {
    const v = videos.find((x) => x.segment === n);
    const target = script.find((s) => s.segment === n)?.target_s ?? v?.meta.target_s ?? null;
    const file = v ? path.resolve(stateDir, v.path) : null;
    const r = segmentReadiness(
      file && existsSync(file) ? { duration_s: v!.duration_s } : { problem: v ? 'file missing' : 'not rendered' },
      target,
    );
    return {
      segment: n,
      status: r.status,
      path: file,
      sha8: v?.sha256.slice(0, 8) ?? null,
      duration_s: r.duration_s,
      target_s: target,
      drift_s: r.drift_s,
      ...(r.problem ? { problem: r.problem } : {}),
    };
  });
  return { ...readinessTotals(segments), segments };
}

function stageTimings(rows: ReportStageRow[]): RunReport['timings'] {
  const sorted = [...rows].sort((a, b) => order(a.stage) - order(b.stage));
  const stages = sorted.map((r): StageTiming => ({
    stage: r.stage,
    status: r.status,
    attempt: r.attempt,
    worker_id: r.worker_id,
    started_at: iso(r.started_at),
    finished_at: r.finished_at ? iso(r.finished_at) : null,
    duration_s: stageDurationS(r.started_at, r.finished_at),
  }));
  const first = Math.min(...sorted.map((r) => epochMs(r.started_at)));
  const last = sorted.every((r) => r.finished_at) ? Math.max(...sorted.map((r) => epochMs(r.finished_at!))) : null;
  return { stages, wall_s: sorted.length && last !== null ? ms3((last - first) / 1000) : null };
}

/** `report <run>`: loads the run, its ledger, its rendered segments and its stages from the database. */
export async function buildRunReport(
  media: MediaStore,
  runId: string,
  prices: ReportPrices,
  stateDir: string,
): Promise<RunReport> {
  const { run, ...rows } = await media.reportRows(runId);
  if (!run) throw new RunNotFoundError(`run ${runId} not found`);
  return runReport({ run, ...rows }, prices, stateDir);
}
