import pg from 'pg';
import type { Logger } from 'pino';
import { UNREACHABLE_SOCKET_CODES } from './unreachable';

// Postgres bigint (fencing tokens, seq) fits in a JS number for any realistic run.
pg.types.setTypeParser(20, (v) => Number(v));

/** A pool whose idle-client errors are logged, not thrown (Postgres restarts must not kill the process). */
export function createPool(connectionString: string, log: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 10000,
    query_timeout: 15000,
  });
  pool.on('error', (err) => log.warn({ err }, 'postgres idle client error'));
  return pool;
}

const CONNECTION_CODES = new Set([
  ...UNREACHABLE_SOCKET_CODES,
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '53300',
]);

/** True when the error means "the database could not be reached", as opposed to a rejected statement. */
export function isConnectionError(err: unknown, depth = 0): boolean {
  // Duck-typed, not instanceof: socket errors may come from another realm (jest's vm, worker threads).
  if (typeof err !== 'object' || err === null || typeof (err as Error).message !== 'string' || depth > 3) return false;
  const code = (err as { code?: string }).code;
  if (code && CONNECTION_CODES.has(code)) return true;
  // pg sometimes wraps the socket error (no code, or an AggregateError of per-address attempts).
  const nested = [(err as { cause?: unknown }).cause, ...((err as { errors?: unknown[] }).errors ?? [])];
  if (nested.some((e) => isConnectionError(e, depth + 1))) return true;
  return /Connection terminated|connection timeout|timeout expired|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|the database system is (starting up|shutting down)/i.test(
    (err as Error).message,
  );
}
