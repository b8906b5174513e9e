// Item 3b: what a stage transition's calls cost Postgres by themselves: each
// call alone, in turn, on one connection, with its backend's CPU read from
// /proc (the bench's Postgres runs on this machine). This is the floor the
// throughput ratio stands on: on the normal path one fenced, evented
// transaction per transition (the hand-off: complete this stage, claim the
// next); the explicit claim and the plain completion are what a re-delivery,
// the first stage and the last one use.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { cpuOfPid } from './cpu';

export async function measurePostgresFloor(dbUrl: string, n: number) {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const {
      rows: [{ pid }],
    } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const ids = Array.from({ length: n }, () => randomUUID());
    const fences: number[] = [];
    const each = async (fn: (id: string, i: number) => Promise<unknown>) => {
      const c0 = cpuOfPid(pid);
      for (const [i, id] of ids.entries()) await fn(id, i);
      return Math.round(((cpuOfPid(pid) - c0) * 1000) / n);
    };
    const call = (name: string, text: string, values: unknown[]) => client.query({ name, text, values });
    const us = {
      select_1: await each((id) => call('floor_select', 'SELECT $1::uuid', [id])),
      create: await each((id) =>
        call(
          'floor_create',
          `SELECT rv_create_run(p_id => $1::uuid, p_product => '{"name":"floor"}', p_input => '{}', p_actor => 'bench', p_event_id => $2)`,
          [id, `${id}:created`],
        ),
      ),
      claim: await each(
        async (id, i) =>
          (fences[i] = (
            await call(
              'floor_claim',
              `SELECT rv_claim_stage(p_run => $1, p_stage => 'evidence', p_attempt => 1, p_worker => 'bench', p_event_id => $2) AS r`,
              [id, randomUUID()],
            )
          ).rows[0].r.run.fence),
      ),
      complete: await each((id, i) =>
        call(
          'floor_complete',
          `SELECT rv_complete_stage(p_run => $1, p_stage => 'evidence', p_fence => $2, p_output => NULL, p_next => 'voice', p_event_id => $3)`,
          [id, fences[i], `${id}:floor`],
        ),
      ),
      hand_off: await each((id, i) =>
        call(
          'floor_hand_off',
          `SELECT rv_hand_off(p_run => $1, p_stage => 'voice', p_fence => $2, p_output => NULL, p_next => 'render', p_worker => 'bench', p_event_id => $3)`,
          [id, fences[i], `${id}:floor-hand-off`],
        ),
      ),
    };
    // Left at render the runs would look in flight to anything reading this database later on.
    for (const id of ids)
      await call(
        'floor_abort',
        `SELECT rv_operator_action(p_run => $1, p_action => 'abort', p_actor => 'bench', p_reason => 'postgres floor measured')`,
        [id],
      );
    return { calls: n, postgres_cpu_us: us };
  } finally {
    await client.end();
  }
}
