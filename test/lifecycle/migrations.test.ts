// Migrations as an operator meets them: an edited file, a failing file and a
// newer database are refused with a message that says what to do, and are
// never retried (ConfigError); a failing file leaves nothing of itself behind.
import pg from 'pg';
import { ConfigError, listMigrations, migrate, pendingMigrations, type Migration } from '@rayvault/shared';
import { createDatabase } from '../support/harness';

let pool: pg.Pool;
const files = listMigrations();
const withSql = (m: Migration, sql: string): Migration => ({ ...m, sql, checksum: `${m.checksum.slice(0, 8)}edited!!` });

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await createDatabase(process.env.RV_TEST_PG_URL!, 'migrations'), max: 2 });
});
afterAll(() => pool.end());

it('applies nothing more on a current database', async () => {
  expect(await pendingMigrations(pool)).toEqual([]);
  expect(await migrate(pool)).toEqual([]);
});

it('refuses a migration file edited after it was applied, naming it and the next step', async () => {
  const edited = files.map((m) => (m.version === 3 ? withSql(m, `${m.sql}\n-- a quiet fix\n`) : m));
  const err = await migrate(pool, undefined, edited).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).retryable).toBe(false);
  expect((err as Error).message).toMatch(new RegExp(`${files[2].name} \\(applied [0-9a-f]{16}, file now .*restore them and put the change in a new numbered migration`));
});

it('refuses a database newer than the code', async () => {
  const err = await pendingMigrations(pool, files.slice(0, -1)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toContain(`versions ${files.at(-1)!.version}`);
});

it('rolls a failing migration back whole and says which one failed', async () => {
  const broken: Migration = { version: 999, name: '999_broken.sql', sql: 'CREATE TABLE rv_half_done (id int); SELECT no_such_function();', checksum: 'ffffffffffffffff' };
  const err = await migrate(pool, undefined, [...files, broken]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(/migration 999_broken\.sql failed: function no_such_function\(\) does not exist; nothing of it was applied/);
  const { rows } = await pool.query(`SELECT to_regclass('rv_half_done') IS NULL AS gone, (SELECT count(*)::int FROM schema_migrations WHERE version = 999) AS recorded`);
  expect(rows[0]).toEqual({ gone: true, recorded: 0 });
});
