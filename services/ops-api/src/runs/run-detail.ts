import type { Rpc, RunDetail } from '@rayvault/shared';

type Extras = { claims: unknown[]; artifacts: unknown[]; credits: { total: number | string; entries: unknown[] } };
type GateDiff = { field: string; values: { source: string; tier: number; value: unknown }[] }[];

/** The latest gate_opened event of the run: the evidence diff the operator decides on. */
export function latestGate(run: RunDetail) {
  const e = [...run.events].reverse().find((x) => x.type === 'gate_opened');
  if (!e) return null;
  const p = e.payload as { diff?: GateDiff; summary?: string };
  return { open: run.status === 'waiting_approval', event_id: e.id, at: e.created_at, actor: e.actor, summary: p.summary ?? null, diff: p.diff ?? [] };
}

/** GET /api/runs/:id: the run, its stages with durations, events, evidence diff, artifacts, credits and cost. */
export async function runDetail(rpc: Rpc, run: RunDetail, prices: { creditPriceUsd: number; usdBrl: number }) {
  const extras = (await rpc('rv_ops_run_extras', { p_run: run.id })) as Extras;
  const credits = Number(extras.credits.total);
  const usd = credits * prices.creditPriceUsd;
  return {
    ...run,
    stages: run.stages.map((s) => ({ ...s, duration_s: s.finished_at ? (Date.parse(s.finished_at) - Date.parse(s.started_at)) / 1000 : null })),
    evidence: { gate: latestGate(run), claims: extras.claims },
    artifacts: extras.artifacts,
    cost: { credits, entries: extras.credits.entries, usd: round2(usd), brl: round2(usd * prices.usdBrl), credit_price_usd: prices.creditPriceUsd, usd_brl: prices.usdBrl },
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
