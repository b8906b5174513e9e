// Migrations as an operator meets them: an edited file, a failing file and a
// newer database are refused with a message that says what to do, and are
// never retried (ConfigError); a failing file leaves nothing of itself behind.
// A file that gains only comments or new layout still starts, and checksums an
// earlier build stored (of the raw text) are upgraded in place.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ConfigError, listMigrations, migrate, pendingMigrations, type Migration } from '@rayvault/shared';
import { createDatabase } from '../support/harness';

let pool: pg.Pool;
const files = listMigrations();
const withSql = (m: Migration, sql: string): Migration => ({
  ...m,
  sql,
  checksum: `${m.checksum.slice(0, 8)}edited!!`,
});

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
  expect((err as Error).message).toMatch(
    new RegExp(
      `${files[2].name} \\(applied [0-9a-f]{16}, file now .*` +
        'restore them and put the change in a new numbered migration',
    ),
  );
});

/** The bundled migrations written to a scratch directory, 003 edited by `edit`, and read back as at start. */
function filesWith003(edit: (sql: string) => string): Migration[] {
  const dir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'migrations-'));
  for (const m of files) writeFileSync(path.join(dir, m.name), m.version === 3 ? edit(m.sql) : m.sql);
  return listMigrations(dir);
}

it('starts when an applied file gained only comments and new layout', async () => {
  const noted = filesWith003(
    (sql) => `-- a note for the next reader\n${sql.replace(/\n\n/g, '\n\n  /* see 009 */\n\n')}`,
  );
  expect(noted[2].sql).not.toBe(files[2].sql);
  expect(await pendingMigrations(pool, noted)).toEqual([]);
  expect(await migrate(pool, undefined, noted)).toEqual([]);
});

it('refuses an applied file whose code changed, however small', async () => {
  const edited = filesWith003((sql) => sql.replace("'actor is required'", "'an actor is required'"));
  const err = await migrate(pool, undefined, edited).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toContain(
    `migration files changed after they were applied: ` +
      `${files[2].name} (applied ${files[2].checksum}, file now ${edited[2].checksum})`,
  );
});

it('accepts the raw-text checksums an earlier build stored and upgrades them to normalized ones', async () => {
  const rawTextChecksum = (sql: string) => createHash('sha256').update(sql).digest('hex').slice(0, 16);
  // 002 as earlier builds shipped it: before the note that 007 replaces rv_claim_stage.
  const before002 = files[1].sql.replace(/-- Superseded: migration 007 .*\n.*\n/, '');
  expect(before002).not.toBe(files[1].sql);
  for (const m of files) {
    await pool.query('UPDATE schema_migrations SET checksum = $2 WHERE version = $1', [
      m.version,
      rawTextChecksum(m.version === 2 ? before002 : m.sql),
    ]);
  }
  expect(await pendingMigrations(pool)).toEqual([]);
  expect(await migrate(pool)).toEqual([]);
  const { rows } = await pool.query('SELECT version, checksum FROM schema_migrations ORDER BY version');
  expect(rows).toEqual(files.map((m) => ({ version: m.version, checksum: m.checksum })));
});

it('refuses a database newer than the code', async () => {
  const err = await pendingMigrations(pool, files.slice(0, -1)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toContain(`versions ${files.at(-1)!.version}`);
});

it('rolls a failing migration back whole and says which one failed', async () => {
  const broken: Migration = {
    version: 999,
    name: '999_broken.sql',
    sql: 'CREATE TABLE rv_half_done (id int); SELECT no_such_function();',
    checksum: 'ffffffffffffffff',
  };
  const err = await migrate(pool, undefined, [...files, broken]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(
    /migration 999_broken\.sql failed: function no_such_function\(\) does not exist; nothing of it was applied/,
  );
  const { rows } = await pool.query(
    `SELECT to_regclass('rv_half_done') IS NULL AS gone,
            (SELECT count(*)::int FROM schema_migrations WHERE version = 999) AS recorded`,
  );
  expect(rows[0]).toEqual({ gone: true, recorded: 0 });
});
