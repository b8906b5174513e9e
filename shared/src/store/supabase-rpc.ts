import { DatabaseUnavailableError } from '../errors/errors';
import { mapDbError } from './pg-rpc';
import type { Rpc } from './types';

/** What this adapter uses of a supabase-js client. */
type RpcClient = {
  rpc(fn: string, args: Record<string, unknown>): PromiseLike<{ data: unknown; error: unknown; status: number }>;
};

/**
 * The supabase adapter: the same SQL functions, called as PostgREST RPCs
 * through supabase-js. PostgREST reports the SQLSTATE as `code`, so our RVxxx
 * errors map exactly as with pg.
 */
export function createSupabaseRpc(url: string, serviceKey: string): Rpc {
  // Loaded on the first call: a process on plain Postgres never pays for supabase-js and ws (about 2.6 MB resident).
  let client: Promise<RpcClient> | undefined;
  const connect = () =>
    (client ??= Promise.all([import('@supabase/supabase-js'), import('ws')]).then(([{ createClient }, ws]): RpcClient =>
      createClient(url, serviceKey, {
        auth: { persistSession: false, autoRefreshToken: false },
        // Node 20 has no native WebSocket; realtime is unused but supabase-js builds its client eagerly.
        realtime: { transport: ws.default as never },
      }),
    ));
  return async (fn, args) => {
    // Outside the try: a client that cannot load is an install fault, not an outage to wait out.
    const rpcClient = await connect();
    let res;
    try {
      res = await rpcClient.rpc(fn, args);
    } catch (err) {
      throw new DatabaseUnavailableError(`supabase unreachable: ${(err as Error).message}`, { cause: err });
    }
    if (res.error) {
      const e = res.error as { code?: string; message: string; status?: number };
      // fetch failures and gateway errors surface without a SQLSTATE
      if (!e.code || /^5\d\d$/.test(String(res.status)) || /fetch failed|ECONNREFUSED|network/i.test(e.message)) {
        if (!e.code?.startsWith('RV'))
          throw new DatabaseUnavailableError(`supabase unavailable: ${e.message}`, { cause: e });
      }
      throw mapDbError(Object.assign(new Error(e.message), { code: e.code }));
    }
    return res.data ?? null;
  };
}
