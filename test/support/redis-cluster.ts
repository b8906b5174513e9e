// A real Redis Cluster for the tests: redis-server processes in cluster mode on
// free loopback ports, joined by `redis-cli --cluster create`, with replicas,
// AOF everysec (as `npm start` runs Redis) and a short node timeout so a
// killed master fails over in a couple of seconds.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './harness';

export type ClusterNodeProc = { port: number; bus: number; proc: ChildProcess };
/** A node as CLUSTER NODES shows it. */
export type NodeView = {
  id: string;
  address: string;
  port: number;
  role: 'master' | 'replica';
  failed: boolean;
  masterId: string;
  slots: number;
  ranges: Array<[number, number]>;
};
export type TestRedisCluster = {
  /** REDIS_CLUSTER_NODES for the processes under test. */
  seeds: string;
  nodes: ClusterNodeProc[];
  /** Addresses (127.0.0.1:port) of the masters serving slots now (not failed). */
  masters: () => Promise<string[]>;
  view: () => NodeView[];
  /** SIGKILL one node, as a crash would. */
  kill: (port: number) => Promise<void>;
  /** Start a killed node again on its own data (nodes.conf and AOF). */
  restart: (port: number) => Promise<void>;
  /**
   * Move slots to another master the way `redis-cli --cluster reshard` does (IMPORTING/MIGRATING, MIGRATE key by key,
   * SETSLOT NODE): clients see ASK while a slot moves and MOVED after.
   */
  moveSlots: (slots: number[], to: string) => void;
  /** Every live node says cluster_state:ok. */
  ok: () => boolean;
  stop: () => Promise<void>;
};

const cli = (port: number, ...args: string[]) =>
  execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 3000 });
const alive = (n: ClusterNodeProc) => n.proc.exitCode === null && n.proc.signalCode === null;

/** A master, or a replica whose link to its master is up (it has the data, so it may take over). */
function replicaSynced(port: number): boolean {
  const info = cli(port, 'info', 'replication');
  return /role:master/.test(info) || /master_link_status:up/.test(info);
}

function startNode(dir: string, port: number, busPort: number, nodeTimeoutMs: number): ChildProcess {
  const nodeDir = path.join(dir, String(port));
  mkdirSync(nodeDir, { recursive: true });
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

function moveSlot(nodes: NodeView[], slot: number, to: string): void {
  const owner = nodes.find(
    (n) => n.role === 'master' && !n.failed && n.ranges.some(([a, b]) => slot >= a && slot <= b),
  )!;
  const target = nodes.find((n) => n.address === to)!;
  if (owner.id === target.id) return;
  cli(target.port, 'cluster', 'setslot', String(slot), 'importing', owner.id);
  cli(owner.port, 'cluster', 'setslot', String(slot), 'migrating', target.id);
  for (;;) {
    const keys = cli(owner.port, 'cluster', 'getkeysinslot', String(slot), '50').split('\n').filter(Boolean);
    if (!keys.length) break;
    cli(owner.port, 'migrate', '127.0.0.1', String(target.port), '', '0', '5000', 'KEYS', ...keys);
  }
  for (const n of nodes.filter((x) => x.role === 'master' && !x.failed))
    cli(n.port, 'cluster', 'setslot', String(slot), 'node', target.id);
}

function parseNodes(raw: string): NodeView[] {
  return raw
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, addr, flags, masterId, , , , , ...slots] = l.split(' ');
      const address = addr.split('@')[0];
      const ranges = slots
        .filter((s) => !s.startsWith('['))
        .map((r) => r.split('-').map(Number))
        .map(([a, b = a]) => [a, b] as [number, number]);
      const count = ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
      const f = flags.split(',');
      const role = f.includes('master') ? ('master' as const) : ('replica' as const);
      return {
        id,
        address,
        port: Number(address.split(':')[1]),
        role,
        failed: flags.includes('fail'),
        masterId,
        slots: count,
        ranges,
      };
    });
}

async function create(nodes: ClusterNodeProc[], replicas: number): Promise<void> {
  for (const n of nodes)
    await waitFor(
      `cluster node ${n.port} to answer`,
      () => /cluster_state/.test(cli(n.port, 'cluster', 'info')),
      10000,
      50,
    );
  // prettier-ignore
  execFileSync('redis-cli', [
    '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes',
  ], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
  for (const n of nodes) {
    await waitFor(`cluster ok on ${n.port}`, () => /cluster_state:ok/.test(cli(n.port, 'cluster', 'info')), 30000, 100);
    await waitFor(`replica ${n.port} in sync`, () => replicaSynced(n.port), 30000, 100);
  }
}

export async function startRedisCluster(
  opts: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {},
): Promise<TestRedisCluster> {
  const { masters = 3, replicas = 1, nodeTimeoutMs = 1000 } = opts;
  const dir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'redis-cluster-'));
  const nodes: ClusterNodeProc[] = [];
  const node = (port: number) => nodes.find((n) => n.port === port)!;
  const kill = async (n: ClusterNodeProc) => {
    if (!alive(n)) return;
    const gone = new Promise((r) => n.proc.once('exit', r));
    n.proc.kill('SIGKILL');
    await gone;
  };
  const stop = async () => {
    await Promise.all(nodes.map((n) => kill(n)));
  };
  const view = () => parseNodes(cli(nodes.find(alive)!.port, 'cluster', 'nodes'));
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const [port, bus] = [await freePort(), await freePort()];
      nodes.push({ port, bus, proc: startNode(dir, port, bus, nodeTimeoutMs) });
    }
    await create(nodes, replicas);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    nodes,
    view,
    masters: async () =>
      view()
        .filter((n) => n.role === 'master' && !n.failed && n.slots > 0)
        .map((n) => n.address),
    kill: (port) => kill(node(port)),
    restart: async (port) => {
      const n = node(port);
      n.proc = startNode(dir, n.port, n.bus, nodeTimeoutMs);
      await waitFor(`node ${port} back`, () => /cluster_state/.test(cli(port, 'cluster', 'info')), 10000, 50);
    },
    moveSlots: (slots, to) => {
      for (const slot of slots) moveSlot(view(), slot, to);
    },
    ok: () => nodes.filter(alive).every((n) => /cluster_state:ok/.test(cli(n.port, 'cluster', 'info'))),
    stop,
  };
}
