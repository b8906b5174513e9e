// Item 3c: what group commit buys on the bench's Postgres, under the mode's
// durability: runs claimed and completed (one stage transition each) by N
// concurrent callers through one pg adapter, with group commit and with every
// call alone, in alternating rounds.
import pg from 'pg';
import { createPgRpc, createStore } from '@rayvault/shared';
import type { Row } from './chain-report';

type Round = { per_s: number; groups: number; in_groups: number };

async function round(dbUrl: string, n: number, concurrency: number, grouped: boolean): Promise<Round> {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
  const rpc = createPgRpc(pool, { groupCommit: grouped });
  const store = createStore(rpc);
  try {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await store.createRun({ product: { name: `gc-${i}` }, actor: 'bench' })).id);
    const before = { ...rpc.stats };
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let id = ids[next++]; id; id = ids[next++]) {
          const c = await store.claimStage({ runId: id, stage: 'evidence', attempt: 1, workerId: 'bench' });
          const eventId = `${id}:evidence:1:complete`;
          await store.completeStage({
            runId: id,
            stage: 'evidence',
            fence: c.run.fence,
            output: null,
            next: 'voice',
            eventId,
          });
        }
      }),
    );
    const perS = Math.round(n / ((performance.now() - t0) / 1000));
    // Left at voice the runs would look in flight to anything reading this database later on.
    for (const id of ids)
      await store.operatorAction({ runId: id, action: 'abort', actor: 'bench', reason: 'group commit measured' });
    return { per_s: perS, groups: rpc.stats.groups - before.groups, in_groups: rpc.stats.inGroups - before.inGroups };
  } finally {
    await pool.end();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function measureGroupCommit(dbUrl: string, n: number, rounds: number, concurrencies = [8, 32]) {
  const out = [];
  for (const concurrency of concurrencies) {
    const alone: Round[] = [];
    const grouped: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      alone.push(await round(dbUrl, n, concurrency, false));
      grouped.push(await round(dbUrl, n, concurrency, true));
    }
    const [a, g] = [median(alone.map((x) => x.per_s)), median(grouped.map((x) => x.per_s))];
    const groups = grouped.reduce((s, x) => s + x.groups, 0);
    out.push({
      concurrency,
      alone_per_s: a,
      grouped_per_s: g,
      ratio: Math.round((g / a) * 100) / 100,
      mean_group_size: groups ? Math.round((grouped.reduce((s, x) => s + x.in_groups, 0) / groups) * 10) / 10 : 0,
      rounds: { alone: alone.map((x) => x.per_s), grouped: grouped.map((x) => x.per_s) },
    });
  }
  return { transitions_per_round: n, by_concurrency: out };
}

/** One row per concurrency: transitions/s alone and grouped, and the mean group size. */
export function groupCommitRows(tag: string, g: Awaited<ReturnType<typeof measureGroupCommit>>): Row[] {
  return g.by_concurrency.map((c) => [
    `3c group commit, ${c.concurrency} concurrent callers (stage transitions/s, median of ${c.rounds.alone.length})${tag}`,
    `alone ${c.alone_per_s}, grouped ${c.grouped_per_s}: x${c.ratio}, ${c.mean_group_size} calls per group (rounds alone ${c.rounds.alone.join('/')}, grouped ${c.rounds.grouped.join('/')})`,
    'report',
    null,
  ]);
}
