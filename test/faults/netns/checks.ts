// What the partition drill reads back: side effects across the hosts' own state dirs, the database's record of each
// run, and stage timings per host.
import { stageJobId, type Runtime, type Stage } from '@rayvault/shared';
import { stepCounts } from '../kit';

/** How many times each `stage:step` of a run ran, summed over the hosts (each keeps its own state dir). */
export function stepCountsAcross(stateDirs: string[], runId: string): Map<string, number> {
  const total = new Map<string, number>();
  for (const dir of stateDirs) for (const [k, n] of stepCounts(dir, runId)) total.set(k, (total.get(k) ?? 0) + n);
  return total;
}

/** Steps whose side effect happened more than once, as `run8:stage:i`. */
export function repeatedAcross(stateDirs: string[], ids: string[]): string[] {
  return ids.flatMap((id) =>
    [...stepCountsAcross(stateDirs, id)].filter(([, n]) => n > 1).map(([k]) => `${id.slice(0, 8)}:${k}`),
  );
}

/** The first claim of a run by someone else than `stale`'s holder, at a fence above `fence`. */
export async function takeoverOf(
  rt: Runtime,
  runId: string,
  fence: number,
  holder: string,
): Promise<{ seq: number; fence: number; actor: string; at: Date } | undefined> {
  const { rows } = await rt.pool.query<{ seq: number; fence: number; actor: string; at: Date }>(
    `SELECT seq, fence, actor, created_at AS at FROM run_events
    WHERE run_id = $1 AND type = 'stage_claimed' AND fence > $2 AND actor <> $3 ORDER BY seq LIMIT 1`,
    [runId, fence, holder],
  );
  return rows[0];
}

/** Events written with `fence` after event `afterSeq`: a stale holder's writes that landed (must be none). */
export async function staleWritesLanded(rt: Runtime, runId: string, fence: number, afterSeq: number): Promise<number> {
  const { rows } = await rt.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM run_events WHERE run_id = $1 AND fence = $2 AND seq > $3`,
    [runId, fence, afterSeq],
  );
  return rows[0].n;
}

export type StageTiming = { run: string; stage: string; worker: string; ms: number };

/** Each stage try that completed: from its claim to its completion (same fence), with the worker that ran it. */
export async function stageTimings(rt: Runtime, ids: string[]): Promise<StageTiming[]> {
  const { rows } = await rt.pool.query<StageTiming>(
    `SELECT c.run_id AS run, c.payload->>'stage' AS stage, c.actor AS worker,
      (extract(epoch FROM (d.created_at - c.created_at)) * 1000)::int AS ms
    FROM run_events c JOIN run_events d ON d.run_id = c.run_id AND d.fence = c.fence
      AND d.type IN ('stage_completed', 'run_done')
    WHERE c.run_id = ANY($1) AND c.type = 'stage_claimed'`,
    [ids],
  );
  return rows;
}

/** Nearest-rank percentile. */
export function percentile(xs: number[], p: number): number | undefined {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : undefined;
}

/** `{ stage: { host: { n, p50, p99 } } }` for the report. */
export function percentilesByStage(timings: StageTiming[], hostOf: (worker: string) => string) {
  const out: Record<string, Record<string, { n: number; p50?: number; p99?: number }>> = {};
  for (const stage of [...new Set(timings.map((x) => x.stage))]) {
    out[stage] = {};
    const of = timings.filter((x) => x.stage === stage);
    for (const host of [...new Set(of.map((x) => hostOf(x.worker)))].sort()) {
      const ms = of.filter((x) => hostOf(x.worker) === host).map((x) => x.ms);
      out[stage][host] = { n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99) };
    }
  }
  return out;
}

/** Lines of a worker's log with this message. */
export function logLines(output: string, msg: string): number {
  return output.split('\n').filter((l) => l.includes(`"msg":"${msg}`)).length;
}

/** Runs `holder` is inside of, with a step or more checkpointed and at least 4 of `steps` to go (not handing off). */
export async function heldMidStage(rt: Runtime, ids: string[], holder: string, steps: number) {
  const { rows } = await rt.pool.query<{ id: string; fence: number; stage: string }>(
    `SELECT r.id, r.fence, r.stage FROM runs r JOIN run_stages s ON s.run_id = r.id AND s.stage = r.stage
    WHERE r.id = ANY($1) AND r.status = 'running' AND r.worker_id = $2 AND s.fence = r.fence
      AND (SELECT count(*) FROM jsonb_object_keys(s.steps)) BETWEEN 1 AND $3`,
    [ids, holder, steps - 4],
  );
  return rows;
}

/** Says where unfinished runs are stuck (their last events, the workers' warnings), then rethrows: for `.catch`. */
export function explainStuck(rt: Runtime, ids: string[], workers: Array<{ workerId: string; output: () => string }>) {
  return async (err: unknown): Promise<never> => {
    const { rows } = await rt.pool.query(
      `SELECT r.id, r.status, r.stage, r.attempt, r.fence, r.worker_id, r.worker_last_error,
        (SELECT json_agg(e.type || ' by ' || e.actor || ' @' || coalesce(e.fence::text, '-') ||
          coalesce(': ' || e.reason, '') ORDER BY e.seq) FROM (SELECT * FROM run_events
          WHERE run_id = r.id ORDER BY seq DESC LIMIT 8) e) AS last_events
      FROM runs r WHERE r.id = ANY($1) AND r.status <> 'done'`,
      [ids],
    );
    const tails = workers.map((w) => ({
      id: w.workerId,
      tail: w
        .output()
        .split('\n')
        .filter((l) => /"level":(40|50|60)/.test(l))
        .slice(-30),
    }));
    // Where each stuck run's job is: none, waiting, active, delayed, failed...
    const jobs = await Promise.all(
      rows.map(async (r: { id: string; stage: Stage; attempt: number }) =>
        rt.queues[r.stage].getJobState(stageJobId({ runId: r.id, stage: r.stage, attempt: r.attempt })).catch(String),
      ),
    );
    const stuck = rows.map((r, i) => ({ ...r, job: jobs[i] }));
    console.log(JSON.stringify({ stuck, workers: tails }, null, 1));
    throw err;
  };
}
