// Items 1, 2, 3 and 6a: a raw BullMQ four-queue chain against RayVault's full
// machinery (no-op processors), each with a process per stage on the same
// Redis, and the durable peers (bench/peers/) on the same Postgres;
// throughput, paced latency, cost per transition, memory.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { STAGES, submitRun, type Runtime } from '@rayvault/shared';
import { contextSwitches, cpuDelta, treeCpuMs } from './cpu';
import { childEnv } from './bench-config';
import { bundleForBench, percentile, rssMb, serviceNodeFlags, spawnBuilt, stopAll, type Proc } from './infra';
import { startPeer, type Peer, type PeerDef } from './peers/peer-driver';

export type ChainOptions = {
  runs: number;
  rounds: number;
  pacedS: number;
  rate: number;
  costRuns: number;
  pids: Record<string, number[]>;
  profileDir?: string;
  peers: PeerDef[];
  infra: { pgUrl: string; redisUrl: string; dir: string };
};

// eslint-disable-next-line max-lines-per-function -- the rounds and the paced runs share the contenders and their sums
export async function measureChain(
  env: Record<string, string>,
  rt: Runtime,
  redis: Redis,
  db: pg.Pool,
  o: ChainOptions,
) {
  const cpuRoots = (pids: number[]) => ({ stages: pids, bench: [process.pid], ...o.pids });
  const cpuOf = (procs: Proc[]) => treeCpuMs(cpuRoots(procs.map((p) => p.pid)));

  // --- raw BullMQ chain, a process per stage ---
  // Both sides run built JavaScript with plain node, as the services do; ours with the services' V8 flags.
  const worker = await bundleForBench('bench/stage-worker.ts', path.dirname(env.RAYVAULT_STATE_DIR));
  const flags = await serviceNodeFlags(childEnv(env));
  const raw = await startRawChain(worker, env, redis, o.rate);
  const rawProcs = raw.procs;
  const rawRun = raw.run;

  // --- RayVault, a process per stage, full machinery ---
  const ours = await startOurChain(worker, env, [...flags], o.profileDir);
  const idleRss = Object.fromEntries(ours.map((p, i) => [STAGES[i], rssMb(p.pid)]));
  const peers: Peer[] = [];
  for (const def of o.peers) peers.push(await startPeer(def, { ...o.infra, redis }));
  const ourRun = (n: number, paced: boolean) => runOurs(rt, db, ours, n, paced ? o.rate : 0);
  // Both systems stay up and take turns, so a slow minute of a shared machine hits both alike:
  // each is measured over the same number of rounds and its median round is reported.
  const rawRounds: number[] = [];
  const ourRounds: number[] = [];
  const peak: Record<string, number> = {};
  let rawCpuSum: Record<string, number> | undefined;
  let ourCpuSum: Record<string, number> | undefined;
  // Long-lived workers run JIT-compiled code: an unmeasured warm-up round each first (the first
  // measured round used to be the slowest for both, by up to a half).
  await rawRun(Math.ceil(o.runs / 4), 'rawwarm', false);
  await ourRun(Math.ceil(o.runs / 4), false);
  for (const p of peers) await p.run(Math.ceil(o.runs / 4), 'warm', false, o.rate);
  const switches = { raw: 0, rayvault: 0 };
  const peerRounds = peers.map(() => [] as number[]);
  const peerCpuSum: (Record<string, number> | undefined)[] = peers.map(() => undefined);
  // Every contender takes one turn per round; the order rotates each round, so no one always
  // follows the same neighbour (a contender leaves work behind: vacuum, AOF rewrite, JIT).
  const turns: (() => Promise<void>)[] = [
    async () => {
      const r0 = cpuOf(rawProcs);
      const s0 = contextSwitches();
      rawRounds.push(o.runs / (await rawRun(o.runs, `raw${rawRounds.length}`, false)).seconds);
      rawCpuSum = add(rawCpuSum, r0, cpuOf(rawProcs));
      switches.raw += contextSwitches() - s0;
    },
    async () => {
      const c0 = cpuOf(ours);
      const s1 = contextSwitches();
      const t = await ourRun(o.runs, false);
      ourRounds.push(o.runs / t.seconds);
      ourCpuSum = add(ourCpuSum, c0, cpuOf(ours));
      switches.rayvault += contextSwitches() - s1;
      for (const [k, v] of Object.entries(t.peak)) peak[k] = Math.max(peak[k] ?? 0, v);
    },
    ...peers.map((p, i) => async () => {
      const c0 = treeCpuMs(cpuRoots(p.pids));
      peerRounds[i].push(o.runs / (await p.run(o.runs, `r${peerRounds[i].length}`, false, o.rate)).seconds);
      peerCpuSum[i] = add(peerCpuSum[i], c0, treeCpuMs(cpuRoots(p.pids)));
    }),
  ];
  for (let round = 0; round < o.rounds; round++) {
    for (let k = 0; k < turns.length; k++) await turns[(round + k) % turns.length]();
  }
  const per = o.rounds * o.runs * STAGES.length;
  const zero = Object.fromEntries(Object.keys(rawCpuSum!).map((k) => [k, 0]));
  const rawCpu = split(cpuDelta(zero, rawCpuSum!, per));
  const ourCpu = split(cpuDelta(zero, ourCpuSum!, per));

  const rawPaced = await rawRun(o.rate * o.pacedS, 'rawp', true);
  await raw.stop();
  // The peers' paced runs, then they stop: RayVault's paced run and its cost sample run alone
  // (a peer polling Postgres would take transaction ids the cost sample counts).
  const peerResults = [];
  for (const [i, p] of peers.entries()) {
    const paced = await p.run(o.rate * o.pacedS, 'paced', true, o.rate);
    await p.stop();
    const cpu = split(cpuDelta(zero, peerCpuSum[i]!, per));
    peerResults.push(peerResult(p, paced.lat, peerRounds[i], median(rawRounds), cpu));
  }
  const { ourLat, hops } = await pacedLatency(db, () => ourRun(o.rate * o.pacedS, true));

  const cost = await measureCost(redis, db, () => ourRun(o.costRuns, false));
  await stopAll(ours);

  const rawRate = median(rawRounds);
  const ourRate = median(ourRounds);
  return {
    throughput: {
      raw_runs_per_s: round(rawRate),
      rayvault_runs_per_s: round(ourRate),
      ratio: round(ourRate / rawRate, 2),
      rounds: { raw: rawRounds.map((x) => round(x)), rayvault: ourRounds.map((x) => round(x)) },
      cpu_ms_per_transition: { raw: rawCpu, rayvault: ourCpu },
      context_switches_per_transition: {
        raw: round(switches.raw / per, 1),
        rayvault: round(switches.rayvault / per, 1),
      },
    },
    latency_ms: {
      rate_per_s: o.rate,
      raw: { p50: percentile(rawPaced.lat, 50), p99: percentile(rawPaced.lat, 99) },
      rayvault: { p50: round(percentile(ourLat, 50)), p99: round(percentile(ourLat, 99)) },
      rayvault_hops: hops,
    },
    cost_per_transition: costPerTransition(cost, o.costRuns),
    rss_mb: { idle: idleRss, under_load: peak },
    peers: peerResults,
  };
}

/** The bench process tree holds everything: its own share is the rest. */
const split = (d: Record<string, number>): Record<string, number> => ({
  ...d,
  bench: Math.round((d.bench - d.stages - d.redis - d.postgres) * 100) / 100,
  total: d.bench,
});

/** `sum` plus the growth from `a` to `b`, key by key. */
const add = (sum: Record<string, number> | undefined, a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(a).map((k) => [k, (sum?.[k] ?? 0) + b[k] - a[k]]));

/** RayVault's paced run: each run's latency, and where it went stage by stage. */
async function pacedLatency(db: pg.Pool, pacedRun: () => Promise<unknown>) {
  const pacedStart = new Date();
  await pacedRun();
  const { rows } = await db.query(
    `SELECT extract(epoch FROM (updated_at - created_at)) * 1000 AS ms FROM runs WHERE created_at >= $1`,
    [pacedStart],
  );
  return { ourLat: rows.map((r) => Number(r.ms)), hops: await latencyHops(db, pacedStart) };
}

function costPerTransition(cost: { sent: number; inLua: number; xids: number }, costRuns: number) {
  const transitions = costRuns * STAGES.length;
  return {
    redis_commands_sent: round(cost.sent / transitions, 1),
    redis_commands_in_scripts: round(cost.inLua / transitions, 1),
    postgres_round_trips: round(cost.xids / transitions, 2),
    // The run's creation (one call per run, by the submitter) is a quarter of a call per transition.
    postgres_round_trips_stage_workers: round((cost.xids - costRuns) / transitions, 2),
  };
}

/** The raw BullMQ chain: a process per stage, runs fed to its first queue. */
async function startRawChain(worker: string, env: Record<string, string>, redis: Redis, rate: number) {
  const procs = STAGES.map((s) => spawnBuilt(worker, { ...env, BENCH_STAGE: s, BENCH_MODE: 'raw' }));
  await Promise.all(procs.map((p) => p.ready));
  const first = new Queue('raw-evidence', { connection: redis, prefix: '{bench}' });
  const run = async (n: number, tag: string, paced: boolean) => {
    const sent = new Map<string, number>();
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const id = `${tag}-${i}`;
      sent.set(id, Date.now());
      await first.add('evidence', { runId: id }, { jobId: `${id}-evidence`, removeOnComplete: true });
      if (paced) await sleep(Math.max(0, t0 + ((i + 1) * 1000) / rate - Date.now()));
    }
    await waitUntil(async () => (await redis.hlen('{bench}:raw-done')) >= n);
    const done = await redis.hgetall('{bench}:raw-done');
    await redis.del('{bench}:raw-done');
    return { seconds: (Date.now() - t0) / 1000, lat: [...sent].map(([id, at]) => Number(done[id]) - at) };
  };
  const stop = async () => {
    await stopAll(procs);
    await first.close();
  };
  return { procs, run, stop };
}

/** RayVault: a process per stage with the services' V8 flags and full machinery. */
async function startOurChain(worker: string, env: Record<string, string>, flags: string[], profileDir?: string) {
  const prof = (s: string) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/${s}`] : []);
  const ours = STAGES.map((s) =>
    spawnBuilt(worker, { ...env, BENCH_STAGE: s, BENCH_MODE: 'rayvault' }, [...flags, ...prof(s)]),
  );
  await Promise.all(ours.map((p) => p.ready));
  return ours;
}

/** Submits `n` runs (at `rate` per second, or as fast as it can when 0) and waits until all are done. */
async function runOurs(rt: Runtime, db: pg.Pool, ours: Proc[], n: number, rate: number) {
  const paced = rate > 0;
  const t0 = Date.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    inflight.push(submitRun(rt, { product: { name: `bench-${i}` }, actor: 'bench' }));
    if (paced) await sleep(Math.max(0, t0 + ((i + 1) * 1000) / rate - Date.now()));
    else if (inflight.length >= 50) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  const peak: Record<string, number> = {};
  // The poll uses the status index: a scan of every run each 50 ms would load the Postgres being measured.
  await waitUntil(async () => {
    ours.forEach((p, i) => (peak[STAGES[i]] = Math.max(peak[STAGES[i]] ?? 0, rssMb(p.pid))));
    return !(await db.query(`SELECT 1 FROM runs WHERE status IN ('queued', 'approved', 'running') LIMIT 1`)).rowCount;
  });
  const seconds = (Date.now() - t0) / 1000;
  const {
    rows: [left],
  } = await db.query(`SELECT count(*)::int AS n FROM runs WHERE status <> 'done'`);
  if (left.n) throw new Error(`${left.n} bench runs did not reach done`);
  return { seconds, peak };
}

/**
 * Cost: exact counts on a small sample. MONITOR shows what clients send and,
 * tagged "lua", what BullMQ's scripts run inside Redis; every Postgres call of
 * the hot path writes, so each one takes a transaction id.
 */
async function measureCost(redis: Redis, db: pg.Pool, sample: () => Promise<unknown>) {
  // monitor() opens a connection of its own: the one it is called on must be closed too, or it
  // keeps reconnecting (and complaining) once the bench's Redis is stopped.
  const monitorOwner = new Redis(redis.options);
  const monitor = await monitorOwner.monitor();
  let sent = 0;
  let inLua = 0;
  monitor.on('monitor', (_t: string, _args: string[], source: string) => (source.startsWith('lua') ? inLua++ : sent++));
  const xid = async () => Number((await db.query('SELECT pg_current_xact_id()::text::bigint AS x')).rows[0].x);
  const xid0 = await xid();
  await sample();
  const xids = (await xid()) - xid0 - 1;
  monitor.disconnect();
  monitorOwner.disconnect();
  return { sent, inLua, xids };
}

/** One durable peer's figures: its rounds against raw BullMQ's median, its paced latency and CPU. */
function peerResult(p: Peer, lat: number[], rounds: number[], rawRate: number, cpu: Record<string, number>) {
  return {
    name: p.def.name,
    version: p.version,
    setup: p.def.setup,
    runs_per_s: round(median(rounds)),
    rounds: rounds.map((x) => round(x)),
    ratio: round(median(rounds) / rawRate, 2),
    p50_ms: percentile(lat, 50),
    p99_ms: percentile(lat, 99),
    cpu_ms_per_transition: { total: cpu.total, processes: cpu.stages, postgres: cpu.postgres, redis: cpu.redis },
  };
}

/**
 * Where a paced run's time goes, from its events: `wait` is from the previous
 * event (created, or the previous stage completed) to the stage's claim, i.e.
 * queue delivery + run lock + claim; `in_stage` is claim to completion. A
 * stage claimed by the previous one's completion (the hand-off, migration 016)
 * has a wait of 0: its queue delivery and run lock count in `in_stage`.
 */
async function latencyHops(db: pg.Pool, since: Date) {
  const { rows } = await db.query<{ hop: string; ms: number }>(
    `SELECT (CASE WHEN type = 'stage_claimed' THEN 'wait:' ELSE 'in_stage:' END) || (payload->>'stage') AS hop,
      extract(epoch FROM created_at - lag(created_at) OVER (PARTITION BY run_id ORDER BY seq)) * 1000 AS ms
    FROM run_events WHERE run_id IN (SELECT id FROM runs WHERE created_at >= $1)`,
    [since],
  );
  const by = new Map<string, number[]>();
  for (const r of rows) if (r.ms !== null && r.hop) by.set(r.hop, [...(by.get(r.hop) ?? []), Number(r.ms)]);
  return Object.fromEntries(
    STAGES.flatMap((s) => [`wait:${s}`, `in_stage:${s}`]).map((h) => [
      h,
      { p50: round(percentile(by.get(h) ?? [], 50), 1), p99: round(percentile(by.get(h) ?? [], 99), 1) },
    ]),
  );
}

export async function waitUntil(fn: () => Promise<boolean>, timeoutMs = 600000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await sleep(50);
  }
}

export const round = (n: number, d = 0) => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
