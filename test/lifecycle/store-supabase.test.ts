import { createSupabaseRpc } from '@rayvault/shared';
import { startPostgrestDouble } from '../fixtures/postgrest/postgrest-double';
import { supabaseKeys } from '../fixtures/postgrest/supabase-keys';
import {
  authenticatorUrl,
  createSupabaseDatabase,
  startSupabasePostgres,
} from '../fixtures/postgrest/supabase-project';
import type { Server } from '../support/harness';
import { describeStoreContract } from '../support/store-contract';

// supabase-js against a PostgREST-compatible endpoint on a real Postgres set
// up like a Supabase project (its roles and default grants, then RayVault's
// migrations); every request runs as the service key's role, service_role.
let server: Server;
beforeAll(async () => {
  server = await startSupabasePostgres();
});
afterAll(async () => {
  await server?.stop();
});

describeStoreContract(
  'supabase',
  async (url) => {
    const keys = supabaseKeys();
    const api = await startPostgrestDouble(authenticatorUrl(url), { jwtSecret: keys.secret });
    return { rpc: createSupabaseRpc(api.url, keys.service), close: api.close };
  },
  () => createSupabaseDatabase(server.url, 'supabase'),
);
