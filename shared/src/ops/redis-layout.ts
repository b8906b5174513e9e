import { Cluster } from 'ioredis';
import { slotTag } from '../domain/keys';
import type { RedisClient } from '../infra/redis';

export type RedisNode = {
  id: string;
  address: string;
  role: 'master' | 'replica';
  /** `ok`, or the cluster's own word for a node it cannot reach (`fail`, `fail?`, `handshake`, `noaddr`). */
  state: string;
  /** A replica's master (its address). */
  replica_of: string | null;
  slots: string[];
};

/** Where RayVault's keys live: one server, or which master holds each queue and the run locks. */
export type RedisLayout =
  | { mode: 'single' }
  | {
      mode: 'cluster';
      state: string;
      nodes: RedisNode[];
      /** Queue name (and `locks`, `misc`) → address of the master that holds its hash tag's slot. */
      placement: Record<string, string | null>;
      /** Queue name (and `locks`, `misc`) → the hash slot of its tag. */
      slots: Record<string, number>;
    };

/** One line of CLUSTER NODES: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slots...>`. */
function parseNode(line: string): RedisNode & { masterId: string } {
  const [id, addr, flags, masterId, , , , link, ...slots] = line.trim().split(' ');
  const f = flags.split(',');
  const failed = f.find((x) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(x));
  return {
    id,
    address: addr.split('@')[0],
    role: f.includes('master') ? 'master' : 'replica',
    state: failed ?? (link === 'connected' ? 'ok' : 'disconnected'),
    replica_of: null,
    masterId,
    // Migrating/importing entries (`[slot->-id]`) are not ownership.
    slots: slots.filter((s) => !s.startsWith('[')),
  };
}

const inRange = (slot: number, range: string) => {
  const [a, b = a] = range.split('-').map(Number);
  return slot >= a && slot <= b;
};

/** A tag's hash slot never changes: asked of the cluster once per process, not on every poll of the overview. */
const knownSlots = new Map<string, number>();
async function slotOf(redis: RedisClient, tag: string): Promise<number> {
  let slot = knownSlots.get(tag);
  if (slot === undefined) knownSlots.set(tag, (slot = (await redis.cluster('KEYSLOT', tag)) as number));
  return slot;
}

/**
 * Ask the cluster itself (CLUSTER NODES, CLUSTER KEYSLOT), so what the doctor and /api/ops/queues show is what Redis
 * holds, including nodes it has marked failed.
 */
export async function redisLayout(redis: RedisClient, prefix: string, queues: readonly string[]): Promise<RedisLayout> {
  if (!(redis instanceof Cluster)) return { mode: 'single' };
  const [info, raw] = (await Promise.all([redis.cluster('INFO'), redis.cluster('NODES')])) as [string, string];
  const parsed = raw.split('\n').filter(Boolean).map(parseNode);
  const byId = new Map(parsed.map((n) => [n.id, n.address]));
  const nodes: RedisNode[] = parsed
    .map(({ masterId, ...n }) => ({ ...n, replica_of: n.role === 'replica' ? (byId.get(masterId) ?? null) : null }))
    .sort((a, b) => a.address.localeCompare(b.address));
  const parts = [...queues, 'locks'];
  const tags = [...parts.map((p) => slotTag(prefix, p)), prefix];
  const slots = await Promise.all(tags.map((t) => slotOf(redis, t)));
  const owner = (slot: number) =>
    nodes.find((n) => n.role === 'master' && n.state === 'ok' && n.slots.some((r) => inRange(slot, r)))?.address ??
    null;
  const names = [...parts, 'misc'];
  return {
    mode: 'cluster',
    state: /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown',
    nodes,
    placement: Object.fromEntries(names.map((p, i) => [p, owner(slots[i])])),
    slots: Object.fromEntries(names.map((p, i) => [p, slots[i]])),
  };
}
