// On Supabase anyone holding the public anon key reaches the database through
// the Data API as role `anon`; a signed-in user as `authenticated`. Supabase
// grants both ALL on everything in `public` by default. After `rayvault
// migrate` they must get nothing of RayVault's, while the service key (role
// service_role, which the supabase adapter uses) keeps working. Every table,
// sequence and function is taken from the catalog, so a later one is covered.
import { createClient } from '@supabase/supabase-js';
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import WebSocket from 'ws';
import { createStore, createSupabaseRpc, listMigrations, migrate } from '@rayvault/shared';
import { startPostgrestDouble } from '../fixtures/postgrest/postgrest-double';
import { supabaseKeys } from '../fixtures/postgrest/supabase-keys';
import { authenticatorUrl, createSupabaseDatabase, createSupabaseRoles } from '../fixtures/postgrest/supabase-project';
import { createDatabase, startPgServer, type Server } from '../support/harness';

const API_ROLES = ['anon', 'authenticated'] as const;
const keys = supabaseKeys();
let server: Server;
let plainUrl: string; // migrated before the Supabase roles existed: a plain Postgres
let pool: pg.Pool; // the Supabase-like database, as its owner
let api: Awaited<ReturnType<typeof startPostgrestDouble>>;

type Catalog = {
  tables: { name: string; column: string }[];
  sequences: string[];
  functions: { name: string; call: string }[];
};
async function catalog(db: pg.Pool): Promise<Catalog> {
  const rel = async (kinds: string) =>
    (
      await db.query<{ name: string; column: string }>(
        `SELECT c.oid::regclass::text AS name, (SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = c.oid AND attnum = 1) AS column
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = ANY ($1) ORDER BY 1`,
        [kinds.split('')],
      )
    ).rows;
  const { rows } = await db.query<{ name: string; types: string[] }>(
    `SELECT oid::regprocedure::text AS name, array(SELECT format_type(t, NULL) FROM unnest(proargtypes) t) AS types
       FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1`,
  );
  return {
    tables: await rel('rpvmf'),
    sequences: (await rel('S')).map((r) => r.name),
    functions: rows.map((r) => ({
      name: r.name,
      call: `SELECT ${r.name.split('(')[0]}(${r.types.map((t) => `NULL::${t}`).join(', ')})`,
    })),
  };
}

const grants = async (db: pg.Pool) =>
  (
    await db.query(`
  SELECT oid::regclass::text AS name, relacl::text AS acl, relrowsecurity AS rls FROM pg_class WHERE relnamespace = 'public'::regnamespace
  UNION ALL SELECT oid::regprocedure::text, proacl::text, null FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1`)
  ).rows;

/**
 * Runs each statement as `role`, each in its own savepoint; returns the SQLSTATE each ended with ('ok' when it ran).
 */
async function tryAs(db: pg.Pool, role: string, statements: string[]): Promise<Record<string, string>> {
  const client = await db.connect();
  const out: Record<string, string> = {};
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE ${role}`);
    for (const sql of statements) {
      await client.query('SAVEPOINT s');
      out[sql] = await client.query(sql).then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? 'error',
      );
      await client.query('ROLLBACK TO SAVEPOINT s');
    }
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
  return out;
}
const notRefused = (results: Record<string, string>) => Object.entries(results).filter(([, code]) => code !== '42501');

beforeAll(async () => {
  server = await startPgServer();
  plainUrl = await createDatabase(server.url, 'plain');
  await createSupabaseRoles(server.url);
  const url = await createSupabaseDatabase(server.url, 'supa');
  pool = new pg.Pool({ connectionString: url, max: 3 });
  // An idle client the server drops (seen once in CI: 57P01 while a parallel suite started its own server) is
  // replaced at the next query; unheard, its error would crash the whole file.
  pool.on('error', () => undefined);
  api = await startPostgrestDouble(authenticatorUrl(url), { jwtSecret: keys.secret });
});
afterAll(async () => {
  await api?.close();
  await pool?.end();
  await server?.stop();
});

describe('direct SQL as the Data API roles, on every object in the catalog', () => {
  it('the catalog holds RayVault’s tables, sequences and functions (the lists below are not empty)', async () => {
    const c = await catalog(pool);
    expect(c.tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['runs', 'run_events', 'api_tokens', 'workers', 'schema_migrations']),
    );
    expect(c.sequences.length).toBeGreaterThan(0);
    expect(c.functions.map((f) => f.name)).toContain('rv_api_token_create(text,text,text,text)');
  });

  it.each(API_ROLES)('%s cannot select, insert, update or delete on any table', async (role) => {
    const { tables } = await catalog(pool);
    const statements = tables.flatMap(({ name: t, column }) => [
      `SELECT * FROM ${t} LIMIT 1`,
      `INSERT INTO ${t} DEFAULT VALUES`,
      `UPDATE ${t} SET ${column} = ${column}`,
      `DELETE FROM ${t}`,
      `TRUNCATE ${t}`,
    ]);
    expect(notRefused(await tryAs(pool, role, statements))).toEqual([]);
  });

  it.each(API_ROLES)('%s cannot call any function (rv_api_token_create included)', async (role) => {
    const { functions } = await catalog(pool);
    expect(
      notRefused(
        await tryAs(
          pool,
          role,
          functions.map((f) => f.call),
        ),
      ),
    ).toEqual([]);
    const { rows } = await pool.query(
      `SELECT p.oid::regprocedure::text AS name FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
      AND has_function_privilege($1, p.oid, 'EXECUTE')`,
      [role],
    );
    expect(rows).toEqual([]);
  });

  it.each(API_ROLES)('%s cannot use any sequence', async (role) => {
    const { sequences } = await catalog(pool);
    const statements = sequences.flatMap((s) => [
      `SELECT nextval('${s}')`,
      `SELECT last_value FROM ${s}`,
      `SELECT setval('${s}', 1000000)`,
    ]);
    expect(notRefused(await tryAs(pool, role, statements))).toEqual([]);
  });

  it('service_role, the supabase adapter’s role, can still execute every function and write every table', async () => {
    const { rows } = await pool.query(`
      SELECT p.oid::regprocedure::text AS name FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND NOT has_function_privilege('service_role', p.oid, 'EXECUTE')
      UNION ALL
      SELECT c.oid::regclass::text FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
        AND NOT (has_table_privilege('service_role', c.oid, 'SELECT') AND has_table_privilege('service_role', c.oid, 'INSERT')
                 AND has_table_privilege('service_role', c.oid, 'UPDATE') AND has_table_privilege('service_role', c.oid, 'DELETE'))`);
    expect(rows).toEqual([]);
  });
});

describe('through the Data API (supabase-js against the PostgREST double)', () => {
  const client = (key: string) =>
    createClient(api.url, key, {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: WebSocket as never },
    });
  const tokenArgs = () => ({
    p_name: `mallory-${randomUUID()}`,
    p_role: 'admin',
    p_hash: createHash('sha256').update(randomUUID()).digest('hex'),
    p_actor: 'mallory',
  });
  const tokensNamed = async (name: string) =>
    Number((await pool.query('SELECT count(*) FROM api_tokens WHERE name = $1', [name])).rows[0].count);

  it('the anon key cannot mint an admin token with rv_api_token_create', async () => {
    const args = tokenArgs();
    const res = await client(keys.anon).rpc('rv_api_token_create', args);
    expect(res.status).toBe(401);
    expect(res.error).toMatchObject({
      code: '42501',
      message: expect.stringMatching(/permission denied for function rv_api_token_create/),
    });
    expect(await tokensNamed(args.p_name)).toBe(0);
  });

  it('a signed-in user’s token cannot either', async () => {
    const args = tokenArgs();
    const res = await client(keys.authenticated).rpc('rv_api_token_create', args);
    expect(res.status).toBe(403);
    expect(res.error).toMatchObject({ code: '42501' });
    expect(await tokensNamed(args.p_name)).toBe(0);
  });

  it('the anon key cannot read, insert into, update or delete runs, events or tokens', async () => {
    const run = await createStore(createSupabaseRpc(api.url, keys.service)).createRun({
      product: { name: 'Kettle' },
      actor: 'test',
    });
    const anon = client(keys.anon);
    const tries = await Promise.all([
      anon.from('runs').select('*'),
      anon.from('run_events').select('*'),
      anon.from('api_tokens').select('*'),
      anon.from('run_events').insert({ id: randomUUID(), run_id: run.id, type: 'note', actor: 'mallory' }),
      anon.from('runs').update({ status: 'done' }).eq('id', run.id),
      anon.from('workers').delete().eq('id', 'w1'),
    ]);
    expect(tries.map((r) => [r.status, r.error?.code])).toEqual(tries.map(() => [401, '42501']));
    expect((await pool.query('SELECT status FROM runs WHERE id = $1', [run.id])).rows[0].status).toBe('queued');
  });

  it('the service key works: the supabase adapter creates a run and the key can mint a token', async () => {
    const store = createStore(createSupabaseRpc(api.url, keys.service));
    const run = await store.createRun({ product: { name: 'Kettle' }, actor: 'test' });
    expect((await store.getRun(run.id))?.status).toBe('queued');
    const args = tokenArgs();
    const res = await client(keys.service).rpc('rv_api_token_create', args);
    expect(res.error).toBeNull();
    expect(await tokensNamed(args.p_name)).toBe(1);
    const read = await client(keys.service).from('runs').select('id').eq('id', run.id);
    expect(read.data).toEqual([{ id: run.id }]);
  });
});

describe('what comes later stays closed', () => {
  it('a table, sequence and function the migrating role creates later are not granted to anon, authenticated or PUBLIC', async () => {
    await pool.query(`CREATE TABLE later_table (id serial PRIMARY KEY); CREATE SEQUENCE later_seq;
      CREATE FUNCTION rv_later() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
    try {
      for (const role of API_ROLES) {
        expect(
          notRefused(
            await tryAs(pool, role, [
              'SELECT * FROM later_table',
              'INSERT INTO later_table DEFAULT VALUES',
              `SELECT nextval('later_seq')`,
              `SELECT nextval('later_table_id_seq')`,
              'SELECT rv_later()',
            ]),
          ),
        ).toEqual([]);
      }
      expect(
        (await pool.query(`SELECT has_function_privilege('public', 'rv_later()', 'EXECUTE') AS x`)).rows[0].x,
      ).toBe(false);
    } finally {
      await pool.query('DROP TABLE later_table; DROP SEQUENCE later_seq; DROP FUNCTION rv_later()');
    }
  });

  it('a grant that comes back (a dashboard click) shows no row thanks to RLS, and the next migrate takes it away for good', async () => {
    await createStore(createSupabaseRpc(api.url, keys.service)).createRun({
      product: { name: 'Kettle' },
      actor: 'test',
    });
    await pool.query(
      `GRANT ALL ON runs TO anon; GRANT EXECUTE ON FUNCTION rv_api_token_create(text,text,text,text) TO anon`,
    );
    expect(await tryAs(pool, 'anon', ['SELECT 1 FROM runs'])).toEqual({ 'SELECT 1 FROM runs': 'ok' });
    const client = await pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL ROLE anon');
      expect(Number((await client.query('SELECT count(*) FROM runs')).rows[0].count)).toBe(0); // RLS on, no policy
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    await pool.query('ALTER TABLE runs DISABLE ROW LEVEL SECURITY');
    expect(await migrate(pool)).toEqual([]); // nothing pending: the closure runs anyway
    expect(
      (await pool.query(`SELECT relrowsecurity FROM pg_class WHERE oid = 'runs'::regclass`)).rows[0].relrowsecurity,
    ).toBe(true);
    const { functions } = await catalog(pool);
    const call = functions.find((f) => f.name.startsWith('rv_api_token_create('))!.call;
    expect(notRefused(await tryAs(pool, 'anon', ['SELECT 1 FROM runs', call]))).toEqual([]);
    const before = await grants(pool);
    expect(await migrate(pool)).toEqual([]); // and once closed, migrating again changes no grant
    expect(await grants(pool)).toEqual(before);
  });
});

describe('plain Postgres, without the Supabase roles', () => {
  // plainUrl was migrated in beforeAll, before the roles were created on this server
  it('migrates fully, and PUBLIC (any other login role) cannot execute any function', async () => {
    const plain = new pg.Pool({ connectionString: plainUrl, max: 2 });
    try {
      const applied = (await plain.query('SELECT version FROM schema_migrations ORDER BY 1')).rows.map(
        (r) => r.version,
      );
      expect(applied).toEqual(listMigrations().map((m) => m.version));
      const { rows } = await plain.query(`SELECT oid::regprocedure::text AS name FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace AND has_function_privilege('public', oid, 'EXECUTE')`);
      expect(rows).toEqual([]);
    } finally {
      await plain.end();
    }
  });
});
