// The bench's side of the durable peers: each peer gets its own database on
// the bench's Postgres (same server, same flags as RayVault's), its worker
// bundled like RayVault's stage workers (bench/infra.ts bundleForBench: our
// code bundled, npm packages required as installed) and run with plain node,
// and is then driven round by round like raw BullMQ and RayVault.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { ROOT } from '../../test/support/harness';
import { benchNode, childEnv } from '../bench-config';
import { bundleForBench, stopAll, type Proc } from '../infra';
import type { RunReply, RunRequest } from './peer-protocol';

export type PeerDef = { name: string; pkg: string; entry: string; processes: number; setup: string };

/** The best configuration of each, from the sweep in ../shared/PEERS.md. */
export const PEERS: PeerDef[] = [
  {
    name: 'graphile-worker + ledger',
    pkg: 'graphile-worker',
    entry: 'bench/peers/graphile-worker-peer.ts',
    processes: 1,
    setup:
      '1 process, concurrency 10, localQueue 500, completeJobBatchDelay 0; run row + event in the statement that add_job()s the next stage',
  },
  {
    name: 'pg-boss, batched + ledger',
    pkg: 'pg-boss',
    entry: 'bench/peers/pg-boss-peer.ts',
    processes: 2,
    setup:
      '2 processes x 5 work() loops per queue, batchSize 50, polling 0.5 s; run rows, events and the next jobs (one insert()) in one transaction',
  },
  {
    name: 'DBOS Transact, direct start',
    pkg: '@dbos-inc/dbos-sdk',
    entry: 'bench/peers/dbos-peer.ts',
    processes: 1,
    setup: '1 process, a workflow of 4 no-op steps per run, started directly in-process',
  },
];

export type Peer = {
  def: PeerDef;
  version: string;
  pids: number[];
  run: (n: number, tag: string, paced: boolean, rate: number) => Promise<{ seconds: number; lat: number[] }>;
  stop: () => Promise<void>;
};

export async function startPeer(
  def: PeerDef,
  o: { pgUrl: string; redisUrl: string; redis: Redis; dir: string },
): Promise<Peer> {
  const slug = def.pkg.replace(/\W/g, '_').replace(/^_+/, '');
  const dbName = `peer_${slug}`;
  const admin = new pg.Client({ connectionString: o.pgUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const doneKey = `{bench}:peer-${slug}-done`;
  const env = { PEER_DB_URL: o.pgUrl.replace(/\/[^/]*$/, `/${dbName}`), REDIS_URL: o.redisUrl, PEER_DONE_KEY: doneKey };
  const file = await bundleForBench(def.entry, o.dir);
  // The submitter first: it creates the schema the others use.
  const procs: Proc[] = [];
  for (let i = 0; i < def.processes; i++) {
    const p = spawnPeer(file, { ...env, PEER_SUBMITTER: i === 0 ? '1' : '0' });
    procs.push(p);
    await p.ready;
  }
  const submitter = procs[0].proc;
  const version = (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules', def.pkg, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const run = async (n: number, tag: string, paced: boolean, rate: number) => {
    const t0 = Date.now();
    const reply = new Promise<RunReply>((resolve) => submitter.once('message', (m) => resolve(m as RunReply)));
    submitter.send({ run: { n, tag: `${slug}-${tag}`, paced, rate } satisfies RunRequest });
    const { sent } = await reply;
    const deadline = Date.now() + 600000;
    while ((await o.redis.hlen(doneKey)) < n) {
      if (Date.now() > deadline) throw new Error(`${def.name}: benchmark timed out`);
      await sleep(50);
    }
    const seconds = (Date.now() - t0) / 1000;
    const done = await o.redis.hgetall(doneKey);
    await o.redis.del(doneKey);
    return { seconds, lat: Object.entries(sent).map(([id, at]) => Number(done[id]) - at) };
  };
  const stop = () => stopAll(procs);
  return { def, version, pids: procs.map((p) => p.pid), run, stop };
}

function spawnPeer(file: string, env: Record<string, string>): Proc {
  // --no-deprecation: DBOS's own pg calls print a pg@9 deprecation warning, not ours to fix.
  const proc = spawn(benchNode(), ['--no-deprecation', file], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      if (/ready/.test(out)) resolve();
    });
    proc.on('exit', (c) => reject(new Error(`${file} exited ${c}`)));
  });
  ready.catch(() => undefined);
  return { proc, ready, pid: proc.pid! };
}
