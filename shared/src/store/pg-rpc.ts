import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import pg from 'pg';
import {
  DatabaseUnavailableError,
  FencedWriteError,
  IllegalTransitionError,
  InvalidInputError,
  RunNotFoundError,
} from '../errors/errors';
import { oneWritePerTurn } from '../infra/one-write-per-turn';
import { isConnectionError } from '../infra/postgres';
import { withGroupCommit, type GroupCommitStats, type GroupedCall, type GroupedResult } from './group-commit';
import type { Rpc } from './types';

const statements = new Map<string, { name: string; text: string }>();

/** `SELECT fn(p_a => $1, ...)`, built once per function and argument set, then run as a named prepared statement. */
function statementFor(fn: string, keys: string[]): { name: string; text: string } {
  const key = `${fn}(${keys.join(',')})`;
  let st = statements.get(key);
  if (!st) {
    if (!/^rv_[a-z_]+$/.test(fn) || keys.some((k) => !/^p_[a-z_]+$/.test(k))) throw new Error(`bad rpc ${key}`);
    st = {
      name: `${fn.slice(0, 40)}_${createHash('sha1').update(key).digest('hex').slice(0, 10)}`,
      text: `SELECT ${fn}(${keys.map((k, i) => `${k} => $${i + 1}`).join(', ')}) AS r`,
    };
    statements.set(key, st);
  }
  return st;
}

/** Maps the SQLSTATEs of our SQL functions (RVxxx) and connection failures to typed errors. */
export function mapDbError(err: unknown): unknown {
  const e = err as { code?: string; message?: string };
  const cause = { cause: err };
  switch (e.code) {
    case 'RV404':
      return new RunNotFoundError(e.message ?? 'run not found', cause);
    case 'RV409':
      return new IllegalTransitionError(e.message ?? 'illegal transition', cause);
    case 'RV412':
      return new FencedWriteError(e.message ?? 'stale fencing token', cause);
    case 'RV422':
    case '22P02':
    case '23514':
      return new InvalidInputError(e.message ?? 'invalid input', cause);
  }
  if (isConnectionError(err)) return new DatabaseUnavailableError(`database unreachable: ${e.message}`, cause);
  return err;
}

/** `groupCommit: false` sends every call alone (the bench's comparison). */
export function createPgRpc(pool: pg.Pool, opts: { groupCommit?: boolean } = {}): Rpc & { stats: GroupCommitStats } {
  const connections = Math.min(PIPELINED_CONNECTIONS, pool.options.max ?? PIPELINED_CONNECTIONS);
  const query = pipelinedQuery(pool, connections);
  const alone: Rpc = async (fn, args) => {
    const keys = Object.keys(args);
    const { name, text } = statementFor(fn, keys);
    try {
      const res = await query({ name, text, values: keys.map((k) => toParam(k, args[k])) });
      return res.rows[0]?.r ?? null;
    } catch (err) {
      throw mapDbError(err);
    }
  };
  // Inside a group, jsonb arguments travel as JSON values of the one jsonb parameter.
  const group = async (calls: GroupedCall[]) =>
    (await query({ name: 'rv_group', text: 'SELECT rv_group($1::jsonb) AS r', values: [JSON.stringify(calls)] }))
      .rows[0].r as GroupedResult[];
  const flushes = commitsFlush(query);
  return withGroupCommit(alone, group, mapDbError, () =>
    opts.groupCommit !== false && flushes() ? connections : Infinity,
  );
}

/**
 * Whether this server's commits wait for a disk flush (fsync on, synchronous_commit not off), asked once: only then is
 * a shared commit worth grouping for (measured: 1.6-2.4x the transitions/s with fsync on; without it, a group of
 * subtransactions in one backend is slower than the calls spread over the connections). False until known.
 */
function commitsFlush(query: (q: pg.QueryConfig) => Promise<pg.QueryResult>): () => boolean {
  let known: boolean | undefined;
  let asking = false;
  return () => {
    if (known === undefined && !asking) {
      asking = true;
      query({ text: "SELECT current_setting('fsync') = 'on' AND current_setting('synchronous_commit') <> 'off' AS f" })
        .then((r) => (known = r.rows[0].f === true))
        .catch(() => undefined)
        .finally(() => (asking = false));
    }
    return known === true;
  };
}

const PIPELINED_CONNECTIONS = 2;

/**
 * The store's calls share a few pipelined connections (pg's `pipeline` mode)
 * instead of taking a pool client each: every call is still its own implicit
 * transaction (one Sync each), but concurrent calls no longer pay a pool
 * checkout and a socket wake-up per connection, which is what bounded stage
 * throughput on small machines. Connection settings come from the pool; the
 * connections close with `pool.end()`, reopen after an error, and never keep
 * the process alive while idle (like the pool's own idle clients).
 */
function pipelinedQuery(pool: pg.Pool, size: number) {
  type Slot = {
    client: pg.Client & { ref(): void; unref(): void; connection: { stream: Writable } };
    ready: Promise<unknown>;
    pending: number;
    idle?: NodeJS.Timeout;
  };
  const slots: Array<Slot | undefined> = new Array(size);
  const idleMs = pool.options.idleTimeoutMillis || 10000;
  let next = 0;

  const drop = (i: number, slot: Slot) => {
    if (slots[i] === slot) slots[i] = undefined;
    clearTimeout(slot.idle);
  };
  const open = (i: number): Slot => {
    const client = new pg.Client({ ...pool.options, pipeline: true } as pg.ClientConfig) as Slot['client'];
    const slot: Slot = { client, ready: client.connect(), pending: 0 };
    // The failing calls get the error; the next call opens a new connection.
    client.on('error', () => drop(i, slot));
    client.on('end', () => drop(i, slot));
    slot.ready.catch(() => drop(i, slot));
    slots[i] = slot;
    return slot;
  };
  const end = pool.end.bind(pool) as (cb?: () => void) => Promise<void> | void;
  pool.end = ((cb?: () => void) => {
    slots.forEach((s, i) => {
      if (s) {
        drop(i, s);
        void s.client.end().catch(() => undefined);
      }
    });
    return end(cb);
  }) as typeof pool.end;

  return async (q: pg.QueryConfig): Promise<pg.QueryResult> => {
    if (pool.ending) return pool.query(q); // refused by the pool with its own message
    const i = next++ % size;
    const slot = slots[i] ?? open(i);
    if (slot.pending++ === 0) {
      clearTimeout(slot.idle);
      slot.client.ref();
    }
    try {
      await slot.ready;
      // Each call is still its own transaction (its own Sync), only the socket write is shared.
      oneWritePerTurn(slot.client.connection.stream);
      return await slot.client.query(q);
    } finally {
      if (--slot.pending === 0 && slots[i] === slot) {
        slot.client.unref();
        slot.idle = setTimeout(() => {
          drop(i, slot);
          void slot.client.end().catch(() => undefined);
        }, idleMs).unref();
      }
    }
  };
}

/** Arguments declared jsonb in the SQL functions; they travel as JSON text. */
const JSONB_ARGS = new Set([
  'p_product',
  'p_input',
  'p_result',
  'p_payload',
  'p_output',
  'p_claims',
  'p_meta',
  'p_data',
]);

function toParam(key: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  return JSONB_ARGS.has(key) ? JSON.stringify(v) : v;
}
