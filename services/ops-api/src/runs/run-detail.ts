import {
  createMediaStore,
  runCost,
  stageDurationS,
  type ReportPrices,
  type Rpc,
  type RunDetail,
} from '@rayvault/shared';

type GateDiff = { field: string; values: { source: string; tier: number; value: unknown }[] }[];

/** The latest gate_opened event of the run: the evidence diff the operator decides on. */
export function latestGate(run: RunDetail) {
  const e = [...run.events].reverse().find((x) => x.type === 'gate_opened');
  if (!e) return null;
  const p = e.payload as { diff?: GateDiff; summary?: string };
  return {
    open: run.status === 'waiting_approval',
    event_id: e.id,
    at: e.created_at,
    actor: e.actor,
    summary: p.summary ?? null,
    diff: p.diff ?? [],
  };
}

/**
 * GET /api/runs/:id: the run, its stages with durations, events, evidence diff, artifacts, credits and cost.
 * Durations and cost come from the report's read model, so `rayvault report` and this page agree.
 */
export async function runDetail(rpc: Rpc, run: RunDetail, prices: ReportPrices) {
  const extras = await createMediaStore(rpc).runExtras(run.id);
  const credits = extras.credits.total;
  const { usd, brl, credit_price_usd, usd_brl } = runCost(credits, prices);
  return {
    ...run,
    stages: run.stages.map((s) => ({ ...s, duration_s: stageDurationS(s.started_at, s.finished_at) })),
    evidence: { gate: latestGate(run), claims: extras.claims },
    artifacts: extras.artifacts,
    cost: { credits, entries: extras.credits.entries, usd, brl, credit_price_usd, usd_brl },
  };
}
