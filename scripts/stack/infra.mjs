// Local Redis (AOF, noeviction) and embedded Postgres under state/, used when
// REDIS_URL / DATABASE_URL are not set. Both keep their data across starts,
// listen on 127.0.0.1 only and want a password generated on the first start
// (state/secrets/, 0600): other local users cannot read or change the data.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
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
  writeSecretFile(conf, [`port ${port}`, 'bind 127.0.0.1', 'protected-mode yes', `dir ${JSON.stringify(dir)}`, 'appendonly yes',
    'appendfsync everysec', 'maxmemory-policy noeviction', 'save ""', `requirepass ${password}`, ''].join('\n'));
  const proc = spawn('redis-server', [conf], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  proc.stdout.on('data', (d) => log(String(d)));
  proc.stderr.on('data', (d) => log(String(d)));
  await waitPort(port, 10000);
  return {
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    proc,
    stop: () => stopChild(proc), // redis-server flushes the AOF on SIGTERM
  };
}

/** `onNote` hears a one-time upgrade (the old default password replaced). */
export async function startPostgres(stateDir, log, onNote = () => {}) {
  mkdirSync(stateDir, { recursive: true });
  chmodSync(stateDir, 0o755); // Postgres may run as its own user (when we are root)
  const passwordFile = path.join(secretsDir(stateDir), 'postgres-password');
  const { value: password } = readOrCreateSecret(passwordFile);
  const port = await pickPort(5440);
  // Its own process and process group: a terminal's Ctrl-C reaches only the
  // supervisor, which stops Postgres last, after every service.
  const proc = spawn(process.execPath, [path.join(path.dirname(fileURLToPath(import.meta.url)), '../embedded-pg.mjs'), '--dir', path.join(stateDir, 'postgres'),
    '--port', String(port), '--password-file', passwordFile, '--parent', String(process.pid)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  proc.stderr.on('data', (d) => log(String(d)));
  const url = await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      const line = String(d).split('\n').find((l) => l.includes('"ready"'));
      if (line) resolve(JSON.parse(line).url); else log(String(d));
    });
    proc.once('exit', (code) => reject(new Error(`embedded Postgres exited with ${code}; see state/postgres.log`)));
  });
  try {
    const admin = await connectSecured(url, password, onNote);
    const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'rayvault'`)).rowCount;
    if (!exists) await admin.query('CREATE DATABASE rayvault');
    await admin.end();
  } catch (err) {
    await stopChild(proc); // refused: leave no server behind
    throw err;
  }
  return { url: withPassword(url.replace(/\/postgres$/, '/rayvault'), password), proc, stop: () => stopChild(proc) };
}

/** SIGTERM, then wait for the exit (each server shuts down cleanly on it). */
export function stopChild(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', resolve);
    proc.kill('SIGTERM');
  });
}
