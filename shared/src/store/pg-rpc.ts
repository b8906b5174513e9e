import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DatabaseUnavailableError, FencedWriteError, IllegalTransitionError, InvalidInputError, RunNotFoundError } from '../errors/errors';
import { isConnectionError } from '../infra/postgres';
import type { Rpc } from './types';

const sqlCache = new Map<string, string>();

/** `SELECT fn(p_a => $1, ...)`, built once per function and argument set, then run as a named prepared statement. */
function statementFor(fn: string, keys: string[]): { name: string; text: string } {
  const name = `${fn}(${keys.join(',')})`;
  let text = sqlCache.get(name);
  if (!text) {
    if (!/^rv_[a-z_]+$/.test(fn) || keys.some((k) => !/^p_[a-z_]+$/.test(k))) throw new Error(`bad rpc ${name}`);
    text = `SELECT ${fn}(${keys.map((k, i) => `${k} => $${i + 1}`).join(', ')}) AS r`;
    sqlCache.set(name, text);
  }
  return { name: `${fn.slice(0, 40)}_${createHash('sha1').update(name).digest('hex').slice(0, 10)}`, text };
}

/** Maps the SQLSTATEs of our SQL functions (RVxxx) and connection failures to typed errors. */
export function mapDbError(err: unknown): unknown {
  const e = err as { code?: string; message?: string };
  const cause = { cause: err };
  switch (e.code) {
    case 'RV404': return new RunNotFoundError(e.message ?? 'run not found', cause);
    case 'RV409': return new IllegalTransitionError(e.message ?? 'illegal transition', cause);
    case 'RV412': return new FencedWriteError(e.message ?? 'stale fencing token', cause);
    case 'RV422': case '22P02': case '23514': return new InvalidInputError(e.message ?? 'invalid input', cause);
  }
  if (isConnectionError(err)) return new DatabaseUnavailableError(`database unreachable: ${e.message}`, cause);
  return err;
}

export function createPgRpc(pool: pg.Pool): Rpc {
  return async (fn, args) => {
    const keys = Object.keys(args);
    const { name, text } = statementFor(fn, keys);
    try {
      const res = await pool.query({ name, text, values: keys.map((k) => toParam(k, args[k])) });
      return res.rows[0]?.r ?? null;
    } catch (err) {
      throw mapDbError(err);
    }
  };
}

/** Arguments declared jsonb in the SQL functions; they travel as JSON text. */
const JSONB_ARGS = new Set(['p_product', 'p_input', 'p_result', 'p_payload', 'p_output', 'p_claims', 'p_meta', 'p_data']);

function toParam(key: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  return JSONB_ARGS.has(key) ? JSON.stringify(v) : v;
}
