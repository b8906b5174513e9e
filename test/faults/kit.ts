// Shared pieces of the fault drill: a fleet of real worker processes that can
// be killed, stopped and replaced, and checks for lost or repeated work.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import {
  readCounters,
  stageJobId,
  submitRun,
  type CounterName,
  type Runtime,
  type SpoolRecord,
} from '@rayvault/shared';
import { createScheduler } from '@rayvault/scheduler';
import { ROOT, spawnWorker, testRuntime, waitFor, type ChildWorker, type TestEnv } from '../support/harness';
import { readEffects, type TestInput } from '../support/test-processors';

/** Real worker processes of one test env; `wrap` (e.g. `ip netns exec <ns>`) is passed to each spawn. */
export function createFleet(t: TestEnv, extraEnv: Record<string, string> = {}, wrap: string[] = []) {
  const workers = new Map<string, ChildWorker>();
  const start = async (id: string) => {
    const w = spawnWorker(t, id, extraEnv, wrap);
    workers.set(id, w);
    await waitFor(`${id} ready`, () => w.output().includes('worker ready') || w.proc.exitCode !== null, 30000);
    return w;
  };
  return {
    workers,
    start,
    async killAll() {
      await Promise.all(
        [...workers.values()].map(async (w) => {
          if (w.proc.exitCode === null) {
            w.proc.kill('SIGKILL');
            await w.exited;
          }
        }),
      );
    },
  };
}

export async function submitMany(rt: Runtime, n: number, input: TestInput): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push((await submitRun(rt, { product: { name: `fault-${i}` }, input, actor: 'fault-drill' })).id);
  return ids;
}

export async function statuses(rt: Runtime, ids: string[]): Promise<Record<string, number>> {
  const { rows } = await rt.pool.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM runs WHERE id = ANY($1) GROUP BY status',
    [ids],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** How many times each `stage:step` ran, per run. */
export function stepCounts(stateDir: string, runId: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of readEffects(stateDir, runId)) {
    const key = l.split(':').slice(0, 2).join(':');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Database-recorded step events that appear more than once (must be none: exactly-once writes). */
export async function duplicateStepEvents(rt: Runtime, ids: string[]): Promise<number> {
  const { rows } = await rt.pool.query(
    `SELECT count(*)::int AS n FROM (SELECT run_id, payload->>'stage', payload->>'step' FROM run_events
    WHERE run_id = ANY($1) AND type = 'step_done' GROUP BY 1, 2, 3 HAVING count(*) > 1) d`,
    [ids],
  );
  return rows[0].n;
}

export function report(title: string, figures: Record<string, unknown>): void {
  process.stdout.write(
    `\n[fault] ${title}\n${Object.entries(figures)
      .map(([k, v]) => `  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join('\n')}\n`,
  );
}

export const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: s[0], median: s[Math.floor(s.length / 2)], max: s.at(-1) };
};

/** Sum of a cluster-wide counter over all its labels. */
export async function counterTotal(rt: Runtime, name: CounterName): Promise<number> {
  const all = await readCounters(rt.redis, rt.config.RAYVAULT_QUEUE_PREFIX); // queues while Redis restarts
  return Object.entries(all)
    .filter(([k]) => k === name || k.startsWith(`${name}{`))
    .reduce((n, [, v]) => n + v, 0);
}

/** `appendfsync` of a running Redis (the test servers start with `always`; production runs `everysec`). */
export async function setAppendFsync(url: string, mode: 'always' | 'everysec'): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await r.config('SET', 'appendfsync', mode);
  } finally {
    r.disconnect();
  }
}

/** FLUSHALL: Redis lost everything (a wiped volume, a fresh replica promoted). */
export async function flushRedis(url: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await r.flushall();
  } finally {
    r.disconnect();
  }
}

const LIVE_JOB = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** Runs the database says are in flight that Redis knows nothing about: no lock holder and no live job. */
export async function unrestoredRuns(rt: Runtime): Promise<string[]> {
  const missing: string[] = [];
  for (const run of await rt.store.runsInFlight()) {
    if (await rt.locks.holder(run.id)) continue;
    const state = await rt.queues[run.stage].getJobState(
      stageJobId({ runId: run.id, stage: run.stage, attempt: run.attempt }),
    );
    if (!LIVE_JOB.has(state)) missing.push(run.id);
  }
  return missing;
}

/** Records sitting in the spool files right now (pending or being replayed). */
export function spooledRecords(spoolDir: string): SpoolRecord[] {
  if (!existsSync(spoolDir)) return [];
  return readdirSync(spoolDir)
    .filter((f) => f.endsWith('.jsonl') || f.endsWith('.replaying'))
    .flatMap((f) => {
      try {
        return readFileSync(path.join(spoolDir, f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .flatMap((l) => {
            try {
              return [JSON.parse(l) as SpoolRecord];
            } catch {
              return [];
            }
          });
      } catch {
        return []; // replayed and removed between listing and reading
      }
    });
}

/** Lines in the spool's rejected/ and quarantine/ side files (writes the database refused or that were torn). */
export function spoolSideLines(spoolDir: string): { rejected: number; quarantined: number } {
  const count = (kind: string) => {
    const dir = path.join(spoolDir, kind);
    if (!existsSync(dir)) return 0;
    return readdirSync(dir).reduce(
      (n, f) => n + readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).length,
      0,
    );
  };
  return { rejected: count('rejected'), quarantined: count('quarantine') };
}

/** "within target 9/10" for timing figures, which are printed, never asserted. */
export function withinTarget(xs: number[], targetMs: number): string {
  return `within target ${xs.filter((ms) => ms <= targetMs).length}/${xs.length} (target ${targetMs} ms)`;
}

/** A seeded generator (mulberry32): the same seed gives the same inputs, so a failure reproduces. */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}

/** Counts of values, for figures such as "responses by status". */
export function tally(xs: Array<string | number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

export type TsChild = { proc: ChildProcess; exited: Promise<number | null>; output: () => string };

/**
 * A TypeScript script of the drill in its own process (through tsx), with extra environment; `wrap` runs it under a
 * command such as prlimit.
 */
export function spawnTs(script: string, env: Record<string, string>, wrap: string[] = []): TsChild {
  const argv = [...wrap, process.execPath, '--import', 'tsx', path.join(ROOT, script)];
  const proc = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exited, output: () => out };
}

/** The rows a replay writes, in a comparable form (ids, types, payloads; no sequence numbers or times). */
export async function dumpRunRows(rt: Pick<Runtime, 'pool'>, runIds: string[]): Promise<string> {
  const events = await rt.pool.query(
    `SELECT id, run_id, type, actor, reason, fence, md5(payload::text) AS payload FROM run_events WHERE run_id = ANY($1) ORDER BY id`,
    [runIds],
  );
  const stages = await rt.pool.query(
    `SELECT run_id, stage, status, attempt, fence, worker_id, md5(steps::text) AS steps, md5(coalesce(output::text, '')) AS output
    FROM run_stages WHERE run_id = ANY($1) ORDER BY run_id, stage`,
    [runIds],
  );
  const runs = await rt.pool.query(
    `SELECT id, status, stage, attempt, fence, worker_id FROM runs WHERE id = ANY($1) ORDER BY id`,
    [runIds],
  );
  return JSON.stringify({ events: events.rows, stages: stages.rows, runs: runs.rows });
}

/** How many events of each type the runs have (for figures such as requeues and panics). */
export async function eventCounts(
  rt: Runtime,
  ids: string[],
  types: string[],
  since = new Date(0),
): Promise<Record<string, number>> {
  const { rows } = await rt.pool.query<{ type: string; n: number }>(
    `SELECT type, count(*)::int AS n FROM run_events
    WHERE run_id = ANY($1) AND type = ANY($2) AND created_at > $3 GROUP BY type`,
    [ids, types, since],
  );
  return Object.fromEntries(types.map((ty) => [ty, rows.find((r) => r.type === ty)?.n ?? 0]));
}

/** Totals of the "spool replayed" reports in a worker's log: a record applied by two replays would count twice. */
export function spoolReplays(output: string): {
  applied: number;
  duplicates: number;
  rejected: number;
  quarantined: number;
} {
  const total = { applied: 0, duplicates: 0, rejected: 0, quarantined: 0 };
  for (const line of output.split('\n')) {
    if (!line.includes('"msg":"spool replayed"')) continue;
    const r = JSON.parse(line) as typeof total;
    total.applied += r.applied;
    total.duplicates += r.duplicates;
    total.rejected += r.rejected;
    total.quarantined += r.quarantined;
  }
  return total;
}

/** The scheduler (reconciler, lease watchdog) on its own runtime, as deployed beside the workers, started. */
export function startScheduler(t: TestEnv): { close: () => Promise<void> } {
  const rt = testRuntime(t, 'scheduler');
  const scheduler = createScheduler(rt);
  scheduler.start();
  return {
    close: async () => {
      await scheduler.close();
      await rt.releasers.close();
    },
  };
}
