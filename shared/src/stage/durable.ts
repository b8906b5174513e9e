import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DatabaseUnavailableError } from '../errors/errors';
import type { Spool } from '../spool/spool';
import type { Rpc } from '../store/types';

/** A write that must not be lost: straight to the database, or to the spool when it is unreachable. */
export async function durableWrite(
  rpc: Rpc,
  spool: Spool,
  fn: string,
  args: Record<string, unknown>,
): Promise<'written' | 'spooled'> {
  try {
    await rpc(fn, args);
    return 'written';
  } catch (err) {
    if (!(err instanceof DatabaseUnavailableError)) throw err;
    spool.append(fn, args);
    return 'spooled';
  }
}

/** Retry `fn` while the database is unreachable (backoff up to 5 s), until it succeeds or `signal` aborts. */
export async function untilDatabaseAnswers<T>(
  fn: () => Promise<T>,
  signal: AbortSignal,
  log: Logger,
  what: string,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof DatabaseUnavailableError)) throw err;
      if (attempt % 10 === 0) log.warn({ what, attempt }, 'database unreachable: waiting to write');
      await sleep(Math.min(200 * 2 ** attempt, 5000), undefined, { signal }).catch(() => undefined);
    }
  }
}
