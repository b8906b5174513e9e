import { pendingMigrations } from '../db/migrate';
import { whenRedisReady } from '../infra/redis';
import { STAGES } from '../domain/run-status';
import { readBreakers } from './breakers';
import type { Runtime } from '../runtime';
import { spoolDepth } from '../spool/spool';
import { classifyOutage, type OutageKind } from './classify-outage';
import { intakeState } from './intake';
import { redisLayout } from './redis-layout';
import { ALL_QUEUES } from '../queues/queues';

export type Level = 'PASS' | 'WARN' | 'FAIL';
export type Area = 'infra' | 'workers' | 'pipeline';
export type Finding = { area: Area; level: Level; code: string; message: string; details?: Record<string, unknown> };
export type Dependency = { name: string; ok: boolean; latency_ms: number | null; outage?: OutageKind; error?: string };
export type DoctorReport = {
  verdict: Record<Area, Level>;
  line: string;
  findings: Finding[];
  dependencies: Dependency[];
  at: string;
};

const DLQ_WINDOW_MS = 15 * 60_000;

/**
 * probeFailStreak: this many of the latest probes failing in a row is manual 001 §13's scenario 3, not one bad file.
 */
export type DoctorOptions = {
  staleGateMs: number;
  ingestionStallMs: number;
  lowVolumeRuns: number;
  probeFailStreak: number;
};
export const DOCTOR_DEFAULTS: DoctorOptions = {
  staleGateMs: 30 * 60_000,
  ingestionStallMs: 24 * 3600_000,
  lowVolumeRuns: 3,
  probeFailStreak: 3,
};

async function probe(name: string, fn: () => Promise<unknown>): Promise<Dependency> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('timeout after 3000 ms')), 3000))),
    ]);
    return { name, ok: true, latency_ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { name, ok: false, latency_ms: null, outage: classifyOutage(err), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

type Add = (f: Finding) => void;
type StatusRow = Awaited<ReturnType<Runtime['operations']['runsByStatus']>>[number];

/** Unreachable dependencies, pending migrations and spooled writes. */
async function checkInfra(rt: Runtime, deps: Dependency[], add: Add): Promise<void> {
  for (const d of deps)
    if (!d.ok)
      add({
        area: 'infra',
        level: 'FAIL',
        code: 'DEPENDENCY_DOWN',
        message: `${d.name} unreachable (${d.outage}): ${d.error}`,
        details: { ...d },
      });
  if (deps[1].ok) {
    const pending = await pendingMigrations(rt.pool).catch((e: Error) => [{ name: e.message }]);
    if (pending.length)
      add({
        area: 'infra',
        level: 'FAIL',
        code: 'MIGRATIONS_PENDING',
        message: `pending migrations: ${pending.map((m) => m.name).join(', ')} (run rayvault migrate)`,
      });
  }
  const spooled = spoolDepth(rt.spoolDir);
  if (spooled)
    add({
      area: 'infra',
      level: 'WARN',
      code: 'SPOOL_PENDING',
      message: `${spooled} spooled write(s) not yet in the database (rayvault replay-spool)`,
    });
}

/** On a Redis Cluster: its state, failed nodes, and which master holds each queue. */
async function checkRedisCluster(rt: Runtime, add: Add): Promise<void> {
  const layout = await redisLayout(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, ALL_QUEUES);
  if (layout.mode !== 'cluster') return;
  const masters = layout.nodes.filter((n) => n.role === 'master' && n.state === 'ok');
  const replicas = layout.nodes.filter((n) => n.role === 'replica' && n.state === 'ok');
  const details = { ...layout };
  if (layout.state !== 'ok')
    add({
      area: 'infra',
      level: 'FAIL',
      code: 'REDIS_CLUSTER_DOWN',
      message: `Redis Cluster state is ${layout.state}: jobs wait until it is ok`,
      details,
    });
  for (const n of layout.nodes.filter((x) => x.state !== 'ok'))
    add({
      area: 'infra',
      level: 'WARN',
      code: 'REDIS_NODE_FAILED',
      message: `Redis node ${n.address} (${n.role}) is ${n.state}: restart it or replace it (its slots are served by a replica)`,
    });
  const where = Object.entries(layout.placement).map(([part, addr]) => `${part}@${addr ?? 'unserved'}`);
  add({
    area: 'infra',
    level: 'PASS',
    code: 'REDIS_CLUSTER',
    message: `Redis Cluster ${layout.state}: ${masters.length} master(s), ${replicas.length} replica(s); ${where.join(' ')}`,
    details,
  });
}

/** Stale and panicked workers, and runs waiting with no live worker to take them. */
async function checkWorkers(rt: Runtime, by: Record<string, StatusRow>, add: Add): Promise<void> {
  const inFlight = ['queued', 'running', 'approved'].reduce((n, s) => n + (by[s]?.n ?? 0), 0);
  const workers = await rt.store.listWorkers();
  const staleMs = Math.max(rt.config.heartbeatMs * 3, rt.config.RAYVAULT_LEASE_MS);
  const live = workers.filter((w) => !w.stopped_at && w.heartbeat_age_ms <= staleMs);
  for (const w of workers.filter((x) => !x.stopped_at && x.heartbeat_age_ms > staleMs)) {
    add({
      area: 'workers',
      level: 'WARN',
      code: 'STALE_WORKER',
      message: `${w.id}: no heartbeat for ${Math.round(w.heartbeat_age_ms / 1000)} s (run ${w.current_run ?? '-'})`,
    });
  }
  for (const w of live.filter((x) => x.state === 'panic'))
    add({ area: 'workers', level: 'WARN', code: 'PANIC', message: `${w.id} is in panic: ${w.last_error ?? '?'}` });
  if (inFlight > 0 && live.length === 0)
    add({
      area: 'workers',
      level: 'FAIL',
      code: 'NO_WORKERS',
      message: `${inFlight} run(s) waiting but no live worker`,
    });
}

/** Runs in panic and gates waiting longer than `staleGateMs`. */
function checkDecisions(by: Record<string, StatusRow>, opts: DoctorOptions, add: Add): void {
  if (by.panic)
    add({
      area: 'pipeline',
      level: 'FAIL',
      code: 'PANIC',
      message: `${by.panic.n} run(s) in panic: decide resume or abort`,
    });
  const gate = by.waiting_approval?.oldest_gate;
  if (gate && Date.now() - gate.getTime() > opts.staleGateMs) {
    add({
      area: 'pipeline',
      level: 'WARN',
      code: 'STALE_GATE',
      message: `${by.waiting_approval.n} gate(s) waiting, oldest since ${gate.toISOString()}: open the dashboard and decide`,
    });
  }
}

/** Video index entries ffprobe fails on: a streak of them is the studio's export, a few are IO races. */
async function checkProbes(rt: Runtime, opts: DoctorOptions, add: Add): Promise<void> {
  const probes = await rt.media.index.probeHealth();
  if (probes.streak >= opts.probeFailStreak) {
    add({
      area: 'pipeline',
      level: 'WARN',
      code: 'PROBE_FAILED_STREAK',
      details: { ...probes },
      message:
        `${probes.streak} probe_failed in a row (${probes.probe_failed} in the video index; latest: ${probes.latest_error}): check \`ffprobe -version\`, ` +
        "then make maintenance to re-probe (an IO race resolves); if it persists, the studio's export/codec settings are at fault, not RayVault",
    });
  } else if (probes.probe_failed) {
    add({
      area: 'pipeline',
      level: 'WARN',
      code: 'PROBE_FAILED',
      details: { ...probes },
      message: `${probes.probe_failed} video index entr${probes.probe_failed === 1 ? 'y fails' : 'ies fail'} ffprobe: make maintenance re-probes them (rayvault index refresh lists them)`,
    });
  }
}

/** No new run for `ingestionStallMs` while intake is open; a low but living volume is said to be fine. */
async function checkIngestion(
  rt: Runtime,
  rows: StatusRow[],
  redisOk: boolean,
  opts: DoctorOptions,
  add: Add,
): Promise<void> {
  const recent = rows.reduce((n, r) => n + r.recent, 0);
  const last = rows.map((r) => r.last_created?.getTime() ?? 0).reduce((a, b) => Math.max(a, b), 0);
  const intake = redisOk ? await intakeState(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX) : { paused: false };
  if (!intake.paused && last && Date.now() - last > opts.ingestionStallMs) {
    add({
      area: 'pipeline',
      level: 'WARN',
      code: 'INGESTION_STALLED',
      message: `no new run since ${new Date(last).toISOString()}: check the schedule and scrapers before generating more`,
    });
  } else if (recent > 0 && recent < opts.lowVolumeRuns) {
    add({
      area: 'pipeline',
      level: 'PASS',
      code: 'NICHO_VOLUME',
      message: `only ${recent} run(s) in 24 h but ingestion is alive: no action needed`,
    });
  }
}

/** What Redis knows: open source circuits, and dead letters grown since the last window's baseline. */
async function checkRedisSignals(rt: Runtime, add: Add): Promise<void> {
  for (const b of await readBreakers(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX)) {
    if (b.state === 'open')
      add({
        area: 'pipeline',
        level: 'WARN',
        code: 'INGESTION_CIRCUIT_OPEN',
        message: `source ${b.source} circuit open (${Math.ceil(b.cooldown_remaining_ms / 1000)} s of cooldown left; last error: ${b.last_error ?? 'unknown'})`,
      });
  }
  const failed = (await Promise.all(STAGES.map((s) => rt.queues[s].getFailedCount()))).reduce((a, b) => a + b, 0);
  const key = `${rt.config.RAYVAULT_QUEUE_PREFIX}:doctor:dlq`;
  // The baseline moves at most once per window, so frequent callers (the
  // health endpoint) cannot hide growth from the operator's daily doctor.
  const [base, at] = ((await rt.fastRedis.get(key)) ?? '0@0').split('@').map(Number);
  if (Date.now() - at > DLQ_WINDOW_MS) await rt.fastRedis.set(key, `${failed}@${Date.now()}`);
  const previous = at ? base : failed;
  if (failed > previous)
    add({
      area: 'pipeline',
      level: 'WARN',
      code: 'DLQ_GROWING',
      message: `${failed} dead letter(s), up from ${previous}: list and re-drive them`,
    });
}

/** Each area's worst level. */
function verdictOf(findings: Finding[]): Record<Area, Level> {
  const worst = (area: Area): Level =>
    findings.some((f) => f.area === area && f.level === 'FAIL')
      ? 'FAIL'
      : findings.some((f) => f.area === area && f.level === 'WARN')
        ? 'WARN'
        : 'PASS';
  return { infra: worst('infra'), workers: worst('workers'), pipeline: worst('pipeline') };
}

/**
 * `rayvault doctor --health`: infrastructure, workers and pipeline, each
 * PASS / WARN / FAIL, with findings named as in the operator manual.
 */
export async function runDoctor(rt: Runtime, opts: DoctorOptions = DOCTOR_DEFAULTS): Promise<DoctorReport> {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  // The postgres probe and the migration check test the connection itself, so they use the pool rather than the store.
  const deps = [
    await probe('redis', () => whenRedisReady(rt.fastRedis).then(() => rt.fastRedis.ping())),
    await probe('postgres', () => rt.pool.query('SELECT 1')),
  ];
  await checkInfra(rt, deps, add);
  if (deps[0].ok) await checkRedisCluster(rt, add).catch(() => undefined);
  if (deps[1].ok) {
    const rows = await rt.operations.runsByStatus();
    const by = Object.fromEntries(rows.map((r) => [r.status, r]));
    await checkWorkers(rt, by, add);
    checkDecisions(by, opts, add);
    await checkProbes(rt, opts, add);
    await checkIngestion(rt, rows, deps[0].ok, opts, add);
    if (deps[0].ok) await checkRedisSignals(rt, add);
  } else {
    add({ area: 'workers', level: 'FAIL', code: 'UNKNOWN', message: 'database unreachable: worker state unknown' });
    add({ area: 'pipeline', level: 'FAIL', code: 'UNKNOWN', message: 'database unreachable: pipeline state unknown' });
  }
  const verdict = verdictOf(findings);
  return {
    verdict,
    line: `[${verdict.infra}|${verdict.workers}|${verdict.pipeline}]`,
    findings,
    dependencies: deps,
    at: new Date().toISOString(),
  };
}
