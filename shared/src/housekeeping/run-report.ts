import { existsSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { STAGES } from '../domain/run-status';
import { RunNotFoundError } from '../errors/errors';
import { readinessTotals, segmentReadiness, type ReadinessTotals, type SegmentStatus } from './segment-readiness';

export type ReportPrices = { creditPriceUsd: number; usdBrl: number };
export type SegmentQuality = {
  segment: number; status: SegmentStatus; path: string | null; sha8: string | null;
  duration_s: number | null; target_s: number | null; drift_s: number | null; problem?: string;
};
export type StageTiming = { stage: string; status: string; attempt: number; worker_id: string | null; started_at: string; finished_at: string | null; duration_s: number | null };
export type RunReport = {
  run_id: string; status: string; stage: string; product: string | null;
  credits: { total: number; entries: number; by_provider: Record<string, number> };
  cost: { credit_price_usd: number; usd_brl: number; usd: number; brl: number };
  quality: ReadinessTotals & { segments: SegmentQuality[] };
  timings: { stages: StageTiming[]; wall_s: number | null };
};

const cents = (x: number) => Math.round(x * 100) / 100;
const ms3 = (x: number) => Math.round(x * 1000) / 1000;
const order = (stage: string) => (STAGES as readonly string[]).indexOf(stage);

/**
 * `report <run>`: credits spent (the ledger), their cost in USD and BRL,
 * quality (segments READY in the video index against the voice script) and
 * stage timings. Reads the database and checks files exist; probes nothing.
 */
export async function buildRunReport(pool: pg.Pool, runId: string, prices: ReportPrices, stateDir: string): Promise<RunReport> {
  const { rows: [run] } = await pool.query<{ id: string; status: string; stage: string; product: { name?: string }; output: Record<string, unknown> }>(
    'SELECT id::text, status, stage, product, output FROM runs WHERE id = $1', [runId]);
  if (!run) throw new RunNotFoundError(`run ${runId} not found`);
  const { rows: ledger } = await pool.query<{ provider: string; credits: number; n: number }>(
    'SELECT provider, sum(credits)::float8 AS credits, count(*)::int AS n FROM credits_ledger WHERE run_id = $1 GROUP BY provider ORDER BY provider', [runId]);
  const total = ledger.reduce((n, l) => n + l.credits, 0);
  const usd = total * prices.creditPriceUsd;
  return {
    run_id: run.id, status: run.status, stage: run.stage, product: run.product?.name ?? null,
    credits: { total, entries: ledger.reduce((n, l) => n + l.n, 0), by_provider: Object.fromEntries(ledger.map((l) => [l.provider, l.credits])) },
    cost: { credit_price_usd: prices.creditPriceUsd, usd_brl: prices.usdBrl, usd: cents(usd), brl: cents(usd * prices.usdBrl) },
    quality: await quality(pool, run.id, run.output, stateDir),
    timings: await timings(pool, run.id),
  };
}

async function quality(pool: pg.Pool, runId: string, output: Record<string, unknown>, stateDir: string): Promise<RunReport['quality']> {
  const { rows: videos } = await pool.query<{ segment: number; path: string; sha256: string; duration_s: number | null; meta: { target_s?: number } }>(
    `SELECT segment, path, sha256, duration_s, meta FROM artifacts WHERE run_id = $1 AND stage = 'render' AND kind = 'video' AND segment IS NOT NULL`, [runId]);
  const script = (output.voice as { segments?: { segment: number; target_s: number }[] } | undefined)?.segments ?? [];
  const numbers = [...new Set([...script.map((s) => s.segment), ...videos.map((v) => v.segment)])].sort((a, b) => a - b);
  const segments = numbers.map((n): SegmentQuality => {
    const v = videos.find((x) => x.segment === n);
    const target = script.find((s) => s.segment === n)?.target_s ?? v?.meta.target_s ?? null;
    const file = v ? path.resolve(stateDir, v.path) : null;
    const r = segmentReadiness(file && existsSync(file) ? { duration_s: v!.duration_s } : { problem: v ? 'file missing' : 'not rendered' }, target);
    return { segment: n, status: r.status, path: file, sha8: v?.sha256.slice(0, 8) ?? null, duration_s: r.duration_s, target_s: target, drift_s: r.drift_s,
      ...(r.problem ? { problem: r.problem } : {}) };
  });
  return { ...readinessTotals(segments), segments };
}

async function timings(pool: pg.Pool, runId: string): Promise<RunReport['timings']> {
  const { rows } = await pool.query<{ stage: string; status: string; attempt: number; worker_id: string | null; started_at: Date; finished_at: Date | null }>(
    'SELECT stage, status, attempt, worker_id, started_at, finished_at FROM run_stages WHERE run_id = $1', [runId]);
  rows.sort((a, b) => order(a.stage) - order(b.stage));
  const stages = rows.map((r): StageTiming => ({ stage: r.stage, status: r.status, attempt: r.attempt, worker_id: r.worker_id,
    started_at: r.started_at.toISOString(), finished_at: r.finished_at?.toISOString() ?? null,
    duration_s: r.finished_at ? ms3((r.finished_at.getTime() - r.started_at.getTime()) / 1000) : null }));
  const first = Math.min(...rows.map((r) => r.started_at.getTime()));
  const last = rows.every((r) => r.finished_at) ? Math.max(...rows.map((r) => r.finished_at!.getTime())) : null;
  return { stages, wall_s: rows.length && last !== null ? ms3((last - first) / 1000) : null };
}
