// Shared pieces of the fault drill: a fleet of real worker processes that can
// be killed, stopped and replaced, and checks for lost or repeated work.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { readCounters, stageJobId, submitRun, type CounterName, type Runtime, type SpoolRecord } from '@rayvault/shared';
import { spawnWorker, waitFor, type ChildWorker, type TestEnv } from '../support/harness';
import { readEffects, type TestInput } from '../support/test-processors';

export function createFleet(t: TestEnv, extraEnv: Record<string, string> = {}) {
  const workers = new Map<string, ChildWorker>();
  const start = async (id: string) => {
    const w = spawnWorker(t, id, extraEnv);
    workers.set(id, w);
    await waitFor(`${id} ready`, () => w.output().includes('worker ready') || w.proc.exitCode !== null, 30000);
    return w;
  };
  return {
    workers,
    start,
    async killAll() {
      await Promise.all([...workers.values()].map(async (w) => { if (w.proc.exitCode === null) { w.proc.kill('SIGKILL'); await w.exited; } }));
    },
  };
}

export async function submitMany(rt: Runtime, n: number, input: TestInput): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await submitRun(rt, { product: { name: `fault-${i}` }, input, actor: 'fault-drill' })).id);
  return ids;
}

export async function statuses(rt: Runtime, ids: string[]): Promise<Record<string, number>> {
  const { rows } = await rt.pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM runs WHERE id = ANY($1) GROUP BY status', [ids]);
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
  const { rows } = await rt.pool.query(`SELECT count(*)::int AS n FROM (SELECT run_id, payload->>'stage', payload->>'step' FROM run_events
    WHERE run_id = ANY($1) AND type = 'step_done' GROUP BY 1, 2, 3 HAVING count(*) > 1) d`, [ids]);
  return rows[0].n;
}

export function report(title: string, figures: Record<string, unknown>): void {
  process.stdout.write(`\n[fault] ${title}\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n')}\n`);
}

export const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: s[0], median: s[Math.floor(s.length / 2)], max: s.at(-1) };
};

/** Sum of a cluster-wide counter over all its labels. */
export async function counterTotal(rt: Runtime, name: CounterName): Promise<number> {
  const all = await readCounters(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX);
  return Object.entries(all).filter(([k]) => k === name || k.startsWith(`${name}{`)).reduce((n, [, v]) => n + v, 0);
}

/** `appendfsync` of a running Redis (the test servers start with `always`; production runs `everysec`). */
export async function setAppendFsync(url: string, mode: 'always' | 'everysec'): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try { await r.config('SET', 'appendfsync', mode); } finally { r.disconnect(); }
}

/** FLUSHALL: Redis lost everything (a wiped volume, a fresh replica promoted). */
export async function flushRedis(url: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try { await r.flushall(); } finally { r.disconnect(); }
}

const LIVE_JOB = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** Runs the database says are in flight that Redis knows nothing about: no lock holder and no live job. */
export async function unrestoredRuns(rt: Runtime): Promise<string[]> {
  const missing: string[] = [];
  for (const run of await rt.store.runsInFlight()) {
    if (await rt.locks.holder(run.id)) continue;
    const state = await rt.queues[run.stage].getJobState(stageJobId({ runId: run.id, stage: run.stage, attempt: run.attempt }));
    if (!LIVE_JOB.has(state)) missing.push(run.id);
  }
  return missing;
}

/** Records sitting in the spool files right now (pending or being replayed). */
export function spooledRecords(spoolDir: string): SpoolRecord[] {
  if (!existsSync(spoolDir)) return [];
  return readdirSync(spoolDir).filter((f) => f.endsWith('.jsonl') || f.endsWith('.replaying')).flatMap((f) => {
    try {
      return readFileSync(path.join(spoolDir, f), 'utf8').split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l) as SpoolRecord]; } catch { return []; } });
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
    return readdirSync(dir).reduce((n, f) => n + readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).length, 0);
  };
  return { rejected: count('rejected'), quarantined: count('quarantine') };
}

/** "within target 9/10" for timing figures, which are printed, never asserted. */
export function withinTarget(xs: number[], targetMs: number): string {
  return `within target ${xs.filter((ms) => ms <= targetMs).length}/${xs.length} (target ${targetMs} ms)`;
}
