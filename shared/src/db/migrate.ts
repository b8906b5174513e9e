import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { ConfigError, DatabaseUnavailableError } from '../errors/errors';
import { isConnectionError } from '../infra/postgres';
import { migrationChecksum, rawTextChecksum } from './migration-checksum';

const DIR = path.join(__dirname, 'migrations');
const LOCK_KEY = 7_410_001; // advisory lock: one migrator at a time

/** `checksum` covers the SQL Postgres executes, not its comments or layout (migration-checksum.ts). */
export type Migration = { version: number; name: string; sql: string; checksum: string };

/** Numbered plain-SQL files `NNN_name.sql`, in order. */
export function listMigrations(dir = DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const sql = readFileSync(path.join(dir, f), 'utf8');
      return { version: Number(f.slice(0, 3)), name: f, sql, checksum: migrationChecksum(sql) };
    });
}

type Queryable = pg.Pool | pg.PoolClient;

type Applied = { name: string; checksum: string };

async function applied(client: Queryable): Promise<Map<number, Applied>> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())`);
  const { rows } = await client.query<{ version: number } & Applied>(
    'SELECT version, name, checksum FROM schema_migrations',
  );
  return new Map(rows.map((r) => [r.version, { name: r.name, checksum: r.checksum }]));
}

/**
 * Builds before the normal form stored a checksum of the raw file text. Such a
 * value still vouches for a file when it is the raw checksum of the file as it
 * is now or, for 002, of its text before the note that 007 replaces
 * rv_claim_stage (a comment, added with the normal form). migrate() rewrites it
 * to the normalized checksum, so existing installs upgrade silently.
 */
const RAW_CHECKSUMS_BEFORE_COMMENT_EDITS: Record<string, string> = {
  '002_lifecycle_functions.sql': '86b8a9c49c7d6680',
};
const storedByEarlierBuild = (m: Migration, stored: string) =>
  stored === rawTextChecksum(m.sql) || stored === RAW_CHECKSUMS_BEFORE_COMMENT_EDITS[m.name];

/**
 * Compares the database with the files: the versions not yet applied, and the
 * applied ones whose stored checksum an earlier build wrote. Refuses
 * (ConfigError, never retried) a database newer than this code, and an applied
 * migration whose code has changed since: the schema would no longer be what
 * the file says.
 */
async function compare(
  client: Queryable,
  known: Migration[],
): Promise<{ pending: Migration[]; storedByEarlier: Migration[] }> {
  const done = await applied(client);
  const newest = Math.max(0, ...known.map((m) => m.version));
  const ahead = [...done.keys()].filter((v) => v > newest);
  if (ahead.length)
    throw new ConfigError(`database schema is newer than this code (versions ${ahead.join(', ')}); upgrade RayVault`);
  const differing = known.filter((m) => done.has(m.version) && done.get(m.version)!.checksum !== m.checksum);
  const storedByEarlier = differing.filter((m) => storedByEarlierBuild(m, done.get(m.version)!.checksum));
  const edited = differing.filter((m) => !storedByEarlier.includes(m));
  if (edited.length) {
    const list = edited
      .map((m) => `${m.name} (applied ${done.get(m.version)!.checksum}, file now ${m.checksum})`)
      .join(', ');
    throw new ConfigError(
      `migration files changed after they were applied: ${list}; ` +
        'restore them and put the change in a new numbered migration',
    );
  }
  return { pending: known.filter((m) => !done.has(m.version)), storedByEarlier };
}

/** Versions not yet applied; refuses a newer database or an edited migration (see compare). */
export async function pendingMigrations(pool: Queryable, known = listMigrations()): Promise<Migration[]> {
  return (await compare(pool, known)).pending;
}

/** One UPDATE swaps an earlier build's raw-text checksums for normalized ones: existing installs upgrade silently. */
async function upgradeStoredChecksums(client: Queryable, migrations: Migration[]): Promise<void> {
  if (!migrations.length) return;
  await client.query(
    `UPDATE schema_migrations s SET checksum = u.checksum
       FROM unnest($1::integer[], $2::text[]) AS u(version, checksum) WHERE s.version = u.version`,
    [migrations.map((m) => m.version), migrations.map((m) => m.checksum)],
  );
}

/**
 * Migration 008 closes every table, sequence and function to PUBLIC and to
 * Supabase's Data API roles. It runs again inside each later migration's
 * transaction, so a new object is never committed open, and once per run, so a
 * grant that came back (a dashboard click, a restored dump) is taken away at
 * the next start. A no-op when nothing is open; absent before 008 is applied.
 */
async function closeToPublicRoles(client: Queryable): Promise<void> {
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT to_regprocedure('rv_close_to_public_roles()') IS NOT NULL AS ok`,
  );
  if (rows[0]?.ok) await client.query('SELECT rv_close_to_public_roles()');
}

/**
 * Apply pending migrations (from `known`, the bundled files by default), each in
 * its own transaction. Returns the names applied.
 */
export async function migrate(
  pool: pg.Pool,
  onApply: (name: string) => void = () => {},
  known = listMigrations(),
): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    const { pending, storedByEarlier } = await compare(client, known);
    await upgradeStoredChecksums(client, storedByEarlier);
    const names: string[] = [];
    for (const m of pending) {
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await closeToPublicRoles(client);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        // A statement the database refuses will be refused again: only a lost connection is worth a retry.
        if (isConnectionError(err))
          throw new DatabaseUnavailableError(`migration ${m.name} was interrupted: the database went away`, {
            cause: err,
          });
        throw new ConfigError(`migration ${m.name} failed: ${(err as Error).message}; nothing of it was applied`, {
          cause: err,
        });
      }
      names.push(m.name);
      onApply(m.name);
    }
    await closeToPublicRoles(client).catch((err) => {
      throw new ConfigError(
        'closing RayVault to the public database roles failed: run `rayvault migrate` as the owner of its tables',
        { cause: err },
      );
    });
    return names;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
