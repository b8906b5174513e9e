// The worker side of a durable peer in the bench: each peer is its own
// process(es), started by bench/peers/peer-driver.ts with an IPC channel. The
// process that submits answers {run: {...}} by submitting the runs itself
// (as a user of that library would, from its own process) and replying with
// the submit time of each; the process that ends a run's 4th stage writes the
// end time to a Redis hash, as the raw BullMQ chain does, so every contender
// is timed the same way.
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export const PEER_STAGES = ['evidence', 'voice', 'render', 'qc'] as const;

/**
 * The ledger a durable pipeline keeps beside its queue, as RayVault's runs and run_events do:
 * a run row (stage, fence) updated and an event inserted on every transition.
 */
export const LEDGER_SQL = `CREATE TABLE IF NOT EXISTS bench_runs (id text PRIMARY KEY, stage text NOT NULL, fence int NOT NULL DEFAULT 0, status text NOT NULL DEFAULT 'running',
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS bench_events (seq bigserial PRIMARY KEY, run_id text NOT NULL, type text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());`;

export type RunRequest = { n: number; tag: string; paced: boolean; rate: number };
export type RunReply = { sent: Record<string, number> };

/** Records the end of a run's last stage. */
export function doneMarker(redisUrl: string, key: string) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  return { mark: async (id: string) => void (await redis.hset(key, id, Date.now())), close: () => redis.disconnect() };
}

/**
 * Serves run requests over IPC: unpaced with at most 50 submissions in flight
 * (as the bench submits raw BullMQ and RayVault runs), paced at `rate` per second.
 */
export function serveRuns(submit: (id: string) => Promise<void>) {
  process.on('message', async (msg: { run?: RunRequest }) => {
    if (!msg.run) return;
    const { n, tag, paced, rate } = msg.run;
    const sent: Record<string, number> = {};
    const inflight: Promise<void>[] = [];
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const id = `${tag}-${i}`;
      sent[id] = Date.now();
      inflight.push(submit(id));
      if (paced) await sleep(Math.max(0, t0 + ((i + 1) * 1000) / rate - Date.now()));
      else if (inflight.length >= 50) await Promise.all(inflight.splice(0));
    }
    await Promise.all(inflight);
    process.send!({ sent } satisfies RunReply);
  });
}

export function ready(onStop: () => Promise<void>) {
  process.on('SIGTERM', () => void onStop().finally(() => process.exit(0)));
  process.stdout.write('ready\n');
}
