import pg from 'pg';
import { createPgRpc } from '@rayvault/shared';
import { describeStoreContract } from '../support/store-contract';

describeStoreContract('pg', async (url) => {
  const pool = new pg.Pool({ connectionString: url });
  return { rpc: createPgRpc(pool), close: () => pool.end() };
});
