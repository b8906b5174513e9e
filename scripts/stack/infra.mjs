// Local Redis (AOF, noeviction) and embedded Postgres under state/, used when
// REDIS_URL / DATABASE_URL are not set. Both keep their data across starts.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../embedded-pg.mjs';

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
  const dir = path.join(stateDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await pickPort(6390);
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes',
    '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction', '--save', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => log(String(d)));
  proc.stderr.on('data', (d) => log(String(d)));
  await waitPort(port, 10000);
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', resolve);
      proc.kill('SIGTERM'); // redis-server flushes the AOF on SIGTERM
    }),
  };
}

export async function startPostgres(stateDir, log) {
  mkdirSync(stateDir, { recursive: true });
  chmodSync(stateDir, 0o755); // Postgres may run as its own user (when we are root)
  const port = await pickPort(5440);
  const server = await startEmbeddedPostgres({ dir: path.join(stateDir, 'postgres'), port, onLog: log });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'rayvault'`)).rowCount;
  if (!exists) await admin.query('CREATE DATABASE rayvault');
  await admin.end();
  return { url: server.url.replace(/\/postgres$/, '/rayvault'), stop: server.stop };
}
