// The table rows of the chain item (items 1, 2, 3 and 6a) for one durability
// mode: RayVault against raw BullMQ (the limit) and against the durable peers
// measured in the same rounds, with how far ahead of or behind the best peer it is.
import { STAGES } from '@rayvault/shared';
import type { measureChain } from './chain';
import type { measurePostgresFloor } from './postgres-floor';

export type Row = [item: string, measured: string, target: string, met: boolean | null];
type Chain = Awaited<ReturnType<typeof measureChain>>;
type Floor = Awaited<ReturnType<typeof measurePostgresFloor>>;

export function chainRows(tag: string, c: Chain, f: Floor): Row[] {
  return [
    ...throughputRows(tag, c),
    ...latencyRows(tag, c),
    ...peerRows(tag, c),
    ...costRows(tag, c, f),
    ...rssRows(tag, c),
  ];
}

/** Item 1: throughput against raw BullMQ, and what a transition costs in CPU and context switches. */
function throughputRows(tag: string, c: Chain): Row[] {
  const rows: Row[] = [];
  const t = c.throughput;
  // Issue 14: at least the best durable peer's throughput and at least 0.7 of raw BullMQ.
  rows.push([
    `1 throughput${tag} (runs/s, 4 stages, median of ${t.rounds.raw.length} rotating rounds)`,
    `raw ${t.raw_runs_per_s}, rayvault ${t.rayvault_runs_per_s}: ratio ${t.ratio} (rounds raw ${t.rounds.raw.join('/')}, rayvault ${t.rounds.rayvault.join('/')})`,
    'ratio >= 0.7',
    t.ratio >= 0.7,
  ]);
  rows.push([
    '  cpu ms per transition',
    `raw ${t.cpu_ms_per_transition.raw.total}, rayvault ${t.cpu_ms_per_transition.rayvault.total} (stages ${t.cpu_ms_per_transition.rayvault.stages}, postgres ${t.cpu_ms_per_transition.rayvault.postgres}, redis ${t.cpu_ms_per_transition.rayvault.redis})`,
    '',
    null,
  ]);
  const cs = t.context_switches_per_transition;
  rows.push([
    '  context switches per transition (whole machine, throughput rounds)',
    `raw ${cs.raw}, rayvault ${cs.rayvault}`,
    'report',
    null,
  ]);
  return rows;
}

/** Item 2: latency at a fixed rate, and where RayVault spends it per stage. */
function latencyRows(tag: string, c: Chain): Row[] {
  const rows: Row[] = [];
  const l = c.latency_ms;
  rows.push([
    `2 latency${tag} p50/p99 at ${l.rate_per_s} runs/s (ms)`,
    `raw ${l.raw.p50}/${l.raw.p99}, rayvault ${l.rayvault.p50}/${l.rayvault.p99}`,
    `p99 <= 2 x raw (${2 * l.raw.p99})`,
    l.rayvault.p99 <= 2 * l.raw.p99,
  ]);
  const hop = (h: string) => `${l.rayvault_hops[h].p50}/${l.rayvault_hops[h].p99}`;
  rows.push([
    '  rayvault per stage p50/p99 (ms)',
    STAGES.map((s) => `${s} wait ${hop(`wait:${s}`)} run ${hop(`in_stage:${s}`)}`).join(', '),
    'report',
    null,
  ]);
  return rows;
}

/** The durable peers, and how far ahead of or behind the best of them RayVault is. */
function peerRows(tag: string, c: Chain): Row[] {
  const rows: Row[] = [];
  const t = c.throughput;
  const l = c.latency_ms;
  for (const p of c.peers) {
    rows.push([
      `  peer: ${p.name} ${p.version}`,
      `${p.runs_per_s} runs/s (rounds ${p.rounds.join('/')}), ratio ${p.ratio}; p50/p99 ${p.p50_ms}/${p.p99_ms} ms; cpu ms per transition ${p.cpu_ms_per_transition.total}`,
      'report',
      null,
    ]);
  }
  if (c.peers.length) {
    const fastest = c.peers.reduce((a, b) => (b.runs_per_s > a.runs_per_s ? b : a));
    const steadiest = c.peers.reduce((a, b) => (b.p99_ms < a.p99_ms ? b : a));
    const byRate = t.rayvault_runs_per_s / fastest.runs_per_s;
    rows.push([
      `1p throughput${tag} vs the best durable peer`,
      `${byRate >= 1 ? 'ahead of' : 'behind'} the best peer by ${Math.round(Math.abs(byRate - 1) * 100)}% (rayvault ${t.rayvault_runs_per_s}, ${fastest.name} ${fastest.runs_per_s} runs/s; x${byRate.toFixed(2)})`,
      '>= best peer',
      byRate >= 1,
    ]);
    const dp99 = steadiest.p99_ms - l.rayvault.p99;
    rows.push([
      `2p p99${tag} at ${l.rate_per_s} runs/s vs the best durable peer`,
      `${dp99 >= 0 ? 'ahead of' : 'behind'} the best peer by ${Math.abs(dp99)} ms (rayvault ${l.rayvault.p99}, ${steadiest.name} ${steadiest.p99_ms} ms; x${(l.rayvault.p99 / steadiest.p99_ms).toFixed(2)})`,
      '<= best peer',
      dp99 >= 0,
    ]);
  }
  return rows;
}

/** Item 3: Postgres round trips and Redis commands per transition, and Postgres CPU per call. */
function costRows(tag: string, c: Chain, f: Floor): Row[] {
  const rows: Row[] = [];
  const k = c.cost_per_transition;
  // A stage transition is one hand-off (this stage's completion with the next one's claim); the first stage's
  // claim and intake (creating the run) are one more call each per run, not per transition.
  rows.push([
    `3 postgres round trips / stage transition${tag}`,
    `${k.postgres_round_trips_stage_workers} in the stage workers (hand-offs, the first stage's claim, and heartbeats: one per worker per lease/3 whatever the load); with intake spread over the 4 transitions ${k.postgres_round_trips}`,
    '<= 2',
    k.postgres_round_trips_stage_workers <= 2,
  ]);
  const u = f.postgres_cpu_us;
  rows.push([
    '3b postgres CPU per call, each alone (us)',
    `hand-off ${u.hand_off} (a transition); explicit claim ${u.claim}, plain complete ${u.complete}; create ${u.create}; SELECT 1 ${u.select_1}`,
    'report',
    null,
  ]);
  rows.push([
    '3 redis commands / transition',
    `${k.redis_commands_sent} sent, ${k.redis_commands_in_scripts} inside BullMQ scripts`,
    'report',
    null,
  ]);
  return rows;
}

/** Item 6a: memory of the stage processes. */
function rssRows(tag: string, c: Chain): Row[] {
  const rows: Row[] = [];
  const loadRss = Math.max(...Object.values(c.rss_mb.under_load));
  rows.push([
    `6a RSS per RayVault stage process, built, service flags (MB)${tag}`,
    `idle ${Object.values(c.rss_mb.idle).join('/')}, load ${Object.values(c.rss_mb.under_load).join('/')}`,
    '<= 120 under load',
    loadRss <= 120,
  ]);
  return rows;
}
