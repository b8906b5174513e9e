// Shared pieces of the fault drill: a fleet of real worker processes that can
// be killed, stopped and replaced, and checks for lost or repeated work.
import { submitRun, type Runtime } from '@rayvault/shared';
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
