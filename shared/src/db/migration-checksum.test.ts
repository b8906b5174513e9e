import { createHash } from 'node:crypto';
import { listMigrations } from './migrate';
import { migrationChecksum, normalizeSql, rawTextChecksum } from './migration-checksum';

it('drops line and block comments, nested ones too, and collapses layout', () => {
  const sql =
    '-- header\nCREATE TABLE t (\n  id int, -- the key\n' +
    '  /* outer /* inner */ still a comment */ name text\n);\n\n\tSELECT 1;/* tail */';
  expect(normalizeSql(sql)).toBe('CREATE TABLE t ( id int, name text ); SELECT 1;');
});

it('keeps string literals and quoted identifiers byte for byte', () => {
  expect(normalizeSql(`SELECT '-- data',  'a  /* b */', "col--x",\n 'it''s -- here'`)).toBe(
    `SELECT '-- data', 'a  /* b */', "col--x", 'it''s -- here'`,
  );
  expect(normalizeSql(`SELECT E'it\\'s -- data'  -- note`)).toBe(`SELECT E'it\\'s -- data'`);
  expect(normalizeSql(`SELECT 'line1\n  -- line2'`)).toBe(`SELECT 'line1\n  -- line2'`);
});

it('normalizes a routine body but keeps its strings, and keeps dollar-quoted data whole', () => {
  const fn = (body: string) => `CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$${body}$$;`;
  expect(normalizeSql(fn(`\nBEGIN\n  -- say it\n  RETURN '--kept';\nEND\n`))).toBe(
    `CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN '--kept'; END$$;`,
  );
  expect(normalizeSql(`DO $body$ BEGIN /* x */ PERFORM 1; END $body$`)).toBe('DO $body$BEGIN PERFORM 1; END$body$');
  expect(normalizeSql(`SELECT format($f$a  -- b$f$, $1)`)).toBe('SELECT format($f$a  -- b$f$, $1)');
});

it('changes the checksum when code or data changes, not when a comment or layout does', () => {
  const base = 'UPDATE runs SET status = $1 WHERE id = $2;';
  expect(migrationChecksum(`-- why\n${base.replace(' WHERE', '\n   WHERE')}\n`)).toBe(migrationChecksum(base));
  expect(migrationChecksum(base.replace('$1', '$3'))).not.toBe(migrationChecksum(base));
  expect(migrationChecksum(`SELECT 'a  b'`)).not.toBe(migrationChecksum(`SELECT 'a b'`));
  expect(migrationChecksum('SELECT "a--b"')).not.toBe(migrationChecksum('SELECT "a"'));
});

it('each bundled migration keeps its checksum when it gains comments; the raw checksum hashes the text', () => {
  for (const m of listMigrations()) {
    expect(m.checksum).toBe(migrationChecksum(m.sql));
    expect(migrationChecksum(`-- a note\n${m.sql}\n/* another */\n`)).toBe(m.checksum);
    expect(rawTextChecksum(m.sql)).toBe(createHash('sha256').update(m.sql).digest('hex').slice(0, 16));
  }
});
