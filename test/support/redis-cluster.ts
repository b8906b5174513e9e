// A real Redis Cluster for the tests: redis-server processes in cluster mode on
// free loopback ports, joined by `redis-cli --cluster create`, with replicas,
// AOF everysec (as `npm start` runs Redis) and a short node timeout so a
// killed master fails over in a couple of seconds.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './harness';

export type ClusterNodeProc = { port: number; proc: ChildProcess };
export type TestRedisCluster = {
  /** REDIS_CLUSTER_NODES for the processes under test. */
  seeds: string;
  nodes: ClusterNodeProc[];
  /** Addresses (127.0.0.1:port) of the nodes that are masters now. */
  masters: () => Promise<string[]>;
  /** SIGKILL one node, as a crash would. */
  kill: (port: number) => Promise<void>;
  stop: () => Promise<void>;
};

const clusterInfo = (port: number) =>
  execFileSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8', timeout: 3000 });

/** A master, or a replica whose link to its master is up (it has the data, so it may take over). */
function replicaSynced(port: number): boolean {
  const info = execFileSync('redis-cli', ['-p', String(port), 'info', 'replication'], { encoding: 'utf8' });
  return /role:master/.test(info) || /master_link_status:up/.test(info);
}

function startNode(dir: string, port: number, busPort: number, nodeTimeoutMs: number): ChildProcess {
  const nodeDir = path.join(dir, String(port));
  mkdirSync(nodeDir);
  // prettier-ignore
  return spawn('redis-server', [
    '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
    '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(nodeTimeoutMs), '--dir', nodeDir, '--logfile', 'redis.log', '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction',
    // A replica that never synced cannot take over; without the default 5 s delay the first sync is at once.
    '--repl-diskless-sync-delay', '0',
  ], { stdio: 'ignore' });
}

export async function startRedisCluster(
  opts: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {},
): Promise<TestRedisCluster> {
  const { masters = 3, replicas = 1, nodeTimeoutMs = 1000 } = opts;
  const dir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'redis-cluster-'));
  const nodes: ClusterNodeProc[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => kill(n)));
  };
  const kill = async (n: ClusterNodeProc) => {
    if (n.proc.exitCode !== null || n.proc.signalCode !== null) return;
    const gone = new Promise((r) => n.proc.once('exit', r));
    n.proc.kill('SIGKILL');
    await gone;
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const [port, bus] = [await freePort(), await freePort()];
      nodes.push({ port, proc: startNode(dir, port, bus, nodeTimeoutMs) });
    }
    for (const n of nodes)
      await waitFor(`cluster node ${n.port} to answer`, () => /cluster_state/.test(clusterInfo(n.port)), 10000, 50);
    execFileSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 },
    );
    for (const n of nodes) {
      await waitFor(`cluster ok on ${n.port}`, () => /cluster_state:ok/.test(clusterInfo(n.port)), 30000, 100);
      await waitFor(`replica ${n.port} in sync`, () => replicaSynced(n.port), 30000, 100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const seeds = nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  return {
    seeds,
    nodes,
    masters: async () => {
      const alive = nodes.find((n) => n.proc.exitCode === null && n.proc.signalCode === null)!;
      const r = new Redis(alive.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        const raw = (await r.cluster('NODES')) as string;
        return raw
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' '))
          .filter(([, , flags]) => flags.split(',').includes('master') && !flags.includes('fail'))
          .map(([, addr]) => addr.split('@')[0]);
      } finally {
        r.disconnect();
      }
    },
    kill: (port) => kill(nodes.find((n) => n.port === port)!),
    stop,
  };
}
