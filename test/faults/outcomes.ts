// What every fault scenario checks at its end: each run done once, each step
// recorded once, and which side effects ran again (a step in flight when its
// holder lost the run).
import type { Runtime } from '@rayvault/shared';
import { duplicateStepEvents, statuses, stepCounts } from './kit';

/** Every run done, every step of every stage recorded once in the database. */
export async function expectCompleteOnce(rt: Runtime, ids: string[], steps: number) {
  expect(await statuses(rt, ids)).toEqual({ done: ids.length });
  expect(await duplicateStepEvents(rt, ids)).toBe(0);
  const { rows } = await rt.pool.query<{ run_id: string; n: number; done: number }>(
    `SELECT r.id AS run_id,
      (SELECT count(*)::int FROM run_events e WHERE e.run_id = r.id AND e.type = 'step_done') AS n,
      (SELECT count(*)::int FROM run_events e WHERE e.run_id = r.id AND e.type = 'run_done') AS done
    FROM runs r WHERE r.id = ANY($1)`,
    [ids],
  );
  for (const r of rows)
    expect({ run: r.run_id, steps: r.n, done: r.done }).toEqual({ run: r.run_id, steps: 4 * steps, done: 1 });
}

/**
 * Steps whose side effect happened more than once (a step in flight when its holder lost the run), as `run:stage:i`.
 */
export function repeatedSteps(stateDir: string, ids: string[]): string[] {
  return ids.flatMap((id) =>
    [...stepCounts(stateDir, id)].filter(([, n]) => n > 1).map(([k]) => `${id.slice(0, 8)}:${k}`),
  );
}
