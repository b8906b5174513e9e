import type { Socket } from 'node:net';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisTarget } from '../config/redis-target';
import { oneWritePerTurn } from './one-write-per-turn';
import { UNREACHABLE_SOCKET_CODES } from './unreachable';

/** One Redis server or a Redis Cluster: the same commands, and BullMQ takes either. */
export type RedisClient = Redis | Cluster;

const backoff = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 2000);

/**
 * A Redis connection that reconnects forever (BullMQ workers need
 * `maxRetriesPerRequest: null`) and logs its errors instead of crashing.
 * BullMQ does not close connections it is given: the caller quits them.
 * A string is a REDIS_URL; a target with `clusterNodes` gives a cluster connection.
 */
export function createRedis(target: RedisTarget | string, log: Logger, options: RedisOptions = {}): RedisClient {
  const t = typeof target === 'string' ? { url: target } : target;
  const nodeOptions: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // No auto-pipelining: it defers every command to the next turn of the event loop and builds a
    // pipeline carrying all of BullMQ's scripts each time; measured, it tripled hand-off latency under load.
    retryStrategy: backoff,
    ...(t.password ? { password: t.password } : {}),
    ...options,
  };
  const redis =
    'clusterNodes' in t ? new Cluster(t.clusterNodes, clusterOptions(nodeOptions)) : new Redis(t.url, nodeOptions);
  if (redis instanceof Redis) coalesceWrites(redis);
  logErrors(redis, log);
  return redis;
}

/**
 * A master failover or a resharding is ridden out like an outage: commands wait (or fail fast, for the fast-fail
 * connection) while the cluster re-forms, and MOVED/ASK redirections are followed.
 */
function clusterOptions(node: RedisOptions): ClusterOptions {
  const { enableOfflineQueue, ...redisOptions } = node;
  return {
    redisOptions,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
    clusterRetryStrategy: backoff,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    maxRedirections: 32,
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 5000,
  };
}

function logErrors(redis: RedisClient, log: Logger): void {
  let lastLogged = 0;
  redis.on('error', (err) => {
    // Reconnect loops repeat the same error; once every 5 s is enough to see it.
    if (Date.now() - lastLogged > 5000) {
      lastLogged = Date.now();
      log.warn({ err }, 'redis connection error');
    }
  });
}

/**
 * Commands sent in the same turn of the event loop leave in one socket write (unlike auto-pipelining, no pipeline
 * object is built).
 */
function coalesceWrites(redis: Redis): void {
  // Each reconnect brings a new socket.
  redis.on('connect', () => {
    const stream = (redis as unknown as { stream: Socket }).stream;
    const write = stream.write;
    stream.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
      oneWritePerTurn(stream);
      return write.apply(this, args);
    } as Socket['write'];
  });
}

/**
 * A connection for commands that must fail fast (locks, heartbeats, health) instead of queueing while Redis is down.
 */
export function createFastFailRedis(target: RedisTarget | string, log: Logger): RedisClient {
  return createRedis(target, log, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000 });
}

const UNREACHABLE_CODES = new Set(UNREACHABLE_SOCKET_CODES);
/** A cluster re-forming (failover, resharding) or not reachable yet: an outage, not a refusal. */
const CLUSTER_UNAVAILABLE =
  /Cluster isn't ready|CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes/;

/**
 * True when a Redis command failed because Redis could not be reached (down, or
 * this connection still reconnecting), as opposed to a command Redis refused.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { name, code, message } = err as { name?: string; code?: string; message?: string };
  if (name === 'MaxRetriesPerRequestError' || (code && UNREACHABLE_CODES.has(code))) return true;
  return (
    CLUSTER_UNAVAILABLE.test(message ?? '') ||
    /Stream isn't writeable|Connection is closed|Command timed out/.test(message ?? '')
  );
}

/**
 * Resolves once `redis` is connected, rejects with the connection error when it
 * cannot connect. The fail-fast connection has no offline queue, so a command
 * sent before it is connected fails at once; health probes await this first.
 */
export function whenRedisReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      redis.off('ready', onReady);
      redis.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    redis.once('ready', onReady);
    redis.once('error', done);
  });
}
