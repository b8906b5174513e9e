// Local Redis (AOF, noeviction) and embedded Postgres under state/, used when
// REDIS_URL / DATABASE_URL are not set. Both keep their data across starts,
// listen on 127.0.0.1 only and want a password generated on the first start
// (state/secrets/, 0600): other local users cannot read or change the data.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connectSecured, withPassword } from './postgres-password.mjs';
import { privateDir, readOrCreateSecret, writeSecretFile } from './secrets.mjs';

/** state/secrets/: the generated passwords, readable by their owner only. */
export const secretsDir = (stateDir) => privateDir(path.join(stateDir, 'secrets'));

export function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The preferred port when free (so a restart finds the same address), else any free one. */
export async function pickPort(preferred) {
  if (await portFree(preferred)) return preferred;
  return anyFreePort();
}

/** A port the system has free right now. */
function anyFreePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitPort(port, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await portFree(port))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port} after ${ms} ms`);
}

export async function startRedis(stateDir, log) {
  const dir = privateDir(path.join(stateDir, 'redis'));
  const { value: password } = readOrCreateSecret(path.join(secretsDir(stateDir), 'redis-password'));
  const port = await pickPort(6390);
  // The password goes in a 0600 config file: a command-line argument would show in `ps` to every local user.
  const conf = path.join(dir, 'redis.conf');
  writeSecretFile(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode yes',
      `dir ${JSON.stringify(dir)}`,
      'appendonly yes',
      'appendfsync everysec',
      'maxmemory-policy noeviction',
      'save ""',
      `requirepass ${password}`,
      '',
    ].join('\n'),
  );
  const proc = spawn('redis-server', [conf], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  proc.stdout.on('data', (d) => log(String(d)));
  proc.stderr.on('data', (d) => log(String(d)));
  try {
    await waitPort(port, 10000);
  } catch (err) {
    await stopChild(proc); // not listening: leave no server behind
    throw err;
  }
  return {
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    proc,
    stop: () => stopChild(proc), // redis-server flushes the AOF on SIGTERM
  };
}

/**
 * `onNote` hears a one-time upgrade (the old default password replaced);
 * `onProgress` a slow step (as root, the one-time copy of the Postgres binaries).
 * Resolves to { url, dataDir, relocated, proc, stop }: `relocated` when, as
 * root, the data lives outside state/ (state/postgres links there) because
 * the `postgres` user cannot reach it (a checkout in a private directory).
 */
export async function startPostgres(stateDir, log, onNote = () => {}, onProgress = () => {}) {
  mkdirSync(stateDir, { recursive: true });
  chmodSync(stateDir, 0o755); // Postgres may run as its own user (when we are root)
  const passwordFile = path.join(secretsDir(stateDir), 'postgres-password');
  const { value: password } = readOrCreateSecret(passwordFile);
  // Two starts at once (tests in parallel) may both find 5440 free: the loser binds another port.
  for (let attempt = 1; ; attempt++) {
    const port = attempt === 1 ? await pickPort(5440) : await anyFreePort();
    try {
      return await startPostgresOn(port, { stateDir, log, onNote, onProgress, password, passwordFile });
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test(err.message)) throw err;
      log(`Postgres could not bind port ${port} (taken meanwhile): trying another\n`);
    }
  }
}

async function startPostgresOn(port, { stateDir, log, onNote, onProgress, password, passwordFile }) {
  // Its own process and process group: a terminal's Ctrl-C reaches only the
  // supervisor, which stops Postgres last, after every service.
  const proc = spawn(
    process.execPath,
    [
      path.join(path.dirname(fileURLToPath(import.meta.url)), '../embedded-pg.mjs'),
      '--dir',
      path.join(stateDir, 'postgres'),
      '--port',
      String(port),
      '--password-file',
      passwordFile,
      '--parent',
      String(process.pid),
      '--relocate',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let reason = '';
  readline.createInterface({ input: proc.stderr }).on('line', (l) => {
    log(`${l}\n`);
    if (l.startsWith('embedded Postgres: ')) reason = l.slice('embedded Postgres: '.length);
  });
  let ready;
  try {
    ready = await new Promise((resolve, reject) => {
      readline.createInterface({ input: proc.stdout }).on('line', (l) => {
        const msg = l.startsWith('{') ? JSON.parse(l) : null;
        if (msg?.ready) resolve(msg);
        else if (msg?.progress) onProgress(msg.progress);
        else log(`${l}\n`);
      });
      proc.once('exit', (code) =>
        reject(new Error(`embedded Postgres exited with ${code}: ${reason || 'see state/postgres.log'}`)),
      );
    });
    const admin = await connectSecured(ready.url, password, onNote);
    const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'rayvault'`)).rowCount;
    if (!exists) await admin.query('CREATE DATABASE rayvault');
    await admin.end();
  } catch (err) {
    await stopChild(proc); // refused or failed: leave no server behind
    throw err;
  }
  return {
    url: withPassword(ready.url.replace(/\/postgres$/, '/rayvault'), password),
    dataDir: ready.dataDir,
    relocated: !!ready.relocated,
    proc,
    stop: () => stopChild(proc),
  };
}

/** SIGTERM, then wait for the exit (each server shuts down cleanly on it). */
export function stopChild(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', resolve);
    proc.kill('SIGTERM');
  });
}
