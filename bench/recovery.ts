// kill -9 of the worker holding a run mid-stage, N times, two workers: time
// until the run makes progress again (a new step finished on the survivor).
// One run is in flight per kill (it is aborted once it has progressed): a job
// whose worker died twice is a poison suspect and runs alone, which holds up
// bystanders on purpose; the fault drill's poison and kill scenarios cover that.
import path from 'node:path';
import { createLogger, createRuntime, loadConfig, runOperatorAction, submitRun, type Runtime } from '@rayvault/shared';
import { spawnWorker, waitFor, type TestEnv } from '../test/support/harness';
import { readEffects } from '../test/support/test-processors';

type Worker = ReturnType<typeof spawnWorker>;

export async function measureRecovery(env: Record<string, string>, kills: number) {
  const leaseMs = 2000;
  const e = {
    ...env,
    RAYVAULT_LEASE_MS: String(leaseMs),
    RAYVAULT_QUEUE_PREFIX: '{bench-rec}',
    RAYVAULT_STATE_DIR: path.join(env.RAYVAULT_STATE_DIR, 'rec'),
  };
  const config = loadConfig(e, { useDotenv: false });
  const t = { env: e, config, stateDir: config.RAYVAULT_STATE_DIR } as unknown as TestEnv;
  const rt = createRuntime(config, createLogger('bench-rec', 'error'), { workerId: 'bench-rec' });
  const workers = [spawnWorker(t, 'rec-a'), spawnWorker(t, 'rec-b')];
  const ms: number[] = [];
  const slow: Array<{ ms: number; holder: string | null; events: string[]; survivor_log: string[] }> = [];
  try {
    for (const w of workers) await waitFor('worker ready', () => w.output().includes('worker ready'), 30000);
    for (let i = 0; i < kills; i++) {
      const run = await submitRun(rt, {
        product: { name: `rec-${i}` },
        input: { steps: 12, stepMs: 150 },
        actor: 'bench',
      });
      await waitFor('steps under way', () => readEffects(t.stateDir, run.id).length >= 3, 30000, 20);
      const holder = (await rt.store.getRun(run.id))!.worker_id;
      const idx = workers.findIndex((w) => w.workerId === holder);
      if (idx < 0) continue;
      const before = readEffects(t.stateDir, run.id).length;
      workers[idx].proc.kill('SIGKILL');
      const killedAt = Date.now();
      await waitFor('progress after kill', () => readEffects(t.stateDir, run.id).length > before + 1, 60000, 20);
      const took = Date.now() - killedAt;
      ms.push(took);
      // Say where the time went when a recovery misses its target.
      if (took > leaseMs + 2000) {
        const survivors = workers.filter((w) => w !== workers[idx]);
        slow.push({ ms: took, holder, ...(await whereTimeWent(rt, survivors, run.id, killedAt)) });
      }
      await runOperatorAction(rt, { runId: run.id, action: 'abort', actor: 'bench', reason: 'recovery measured' });
      await workers[idx].exited;
      workers[idx] = spawnWorker(t, holder!);
      await waitFor('worker back', () => workers[idx].output().includes('worker ready'), 30000);
    }
  } finally {
    for (const w of workers) w.proc.kill('SIGKILL');
    await rt.releasers.close();
  }
  return {
    kills: ms.length,
    lease_ms: leaseMs,
    max_ms: Math.max(...ms),
    median_ms: ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)],
    all_ms: ms,
    target_ms: leaseMs + 2000,
    slow,
  };
}

/** A recovery that missed its target: the run's events around the kill, and what the survivors logged of it. */
async function whereTimeWent(rt: Runtime, survivors: Worker[], runId: string, killedAt: number) {
  const { rows } = await rt.pool.query(
    `SELECT type, actor, round(extract(epoch FROM created_at) * 1000 - $2) AS at_ms FROM run_events
    WHERE run_id = $1 AND created_at > to_timestamp(($2 - 5000) / 1000.0) ORDER BY seq`,
    [runId, killedAt],
  );
  const log = survivors.flatMap((w) =>
    w
      .output()
      .split('\n')
      .filter((l) => l.includes(runId))
      .map((l) => {
        const j = JSON.parse(l) as { time: number | string; msg: string; why?: string; inMs?: number };
        return `${new Date(j.time).getTime() - killedAt} ${j.msg}${j.why ? `: ${j.why} (${j.inMs} ms)` : ''}`;
      }),
  );
  return { events: rows.map((r) => `${r.at_ms} ${r.type} ${r.actor}`), survivor_log: log };
}
