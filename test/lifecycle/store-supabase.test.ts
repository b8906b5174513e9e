import { createSupabaseRpc } from '@rayvault/shared';
import { startPostgrestDouble } from '../fixtures/postgrest/postgrest-double';
import { describeStoreContract } from '../support/store-contract';

// supabase-js against a PostgREST-compatible endpoint on the same real Postgres.
describeStoreContract('supabase', async (url) => {
  const key = 'service-role-key-for-tests';
  const api = await startPostgrestDouble(url, key);
  return { rpc: createSupabaseRpc(api.url, key), close: api.close };
});
