// Per-test-file isolation on the harness's Redis and Postgres: a fresh
// database and a fresh queue prefix, plus helpers to start dedicated servers
// (for tests that stop or restart them) and real worker child processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createLogger, createRuntime, loadConfig, migrate, type Config, type Runtime } from '@rayvault/shared';

export const ROOT = path.resolve(__dirname, '../..');

function need(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new Error(`${name} is not set: run tests with \`npm test\` (jest globalSetup starts Redis and Postgres)`);
  return v;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      lastErr = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

/** A fresh database on the given server, migrated. */
export async function createDatabase(serverUrl: string, label = 'rv'): Promise<string> {
  const name = `${label.replace(/\W/g, '_').slice(0, 20)}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = serverUrl.replace(/\/[^/]*$/, `/${name}`);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await migrate(pool);
  await pool.end();
  return url;
}

export type TestEnv = {
  env: Record<string, string>;
  config: Config;
  stateDir: string;
  dbUrl: string;
  redisUrl: string;
  prefix: string;
};

/** Environment of one test file: own database, own queue prefix, own state dir, short lease. */
export async function createTestEnv(label: string, overrides: Record<string, string> = {}): Promise<TestEnv> {
  const redisUrl = overrides.REDIS_URL ?? need('RV_TEST_REDIS_URL');
  const dbUrl = overrides.DATABASE_URL ?? (await createDatabase(need('RV_TEST_PG_URL'), label));
  const stateDir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), `${label}-`));
  const prefix = `{rvt-${randomBytes(4).toString('hex')}}`;
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    DATABASE_URL: dbUrl,
    RAYVAULT_STATE_DIR: stateDir,
    RAYVAULT_QUEUE_PREFIX: prefix,
    RAYVAULT_LEASE_MS: '2000',
    RAYVAULT_BACKOFF_MS: '200',
    RAYVAULT_RECONCILE_MS: '500',
    RAYVAULT_SHUTDOWN_GRACE_MS: '3000',
    RAYVAULT_JOB_ATTEMPTS: '3',
    RAYVAULT_LOG_LEVEL: process.env.RV_TEST_LOG ?? 'silent',
    RAYVAULT_SAMPLES: '0',
    ...overrides,
  };
  return { env, config: loadConfig(env, { useDotenv: false }), stateDir, dbUrl, redisUrl, prefix };
}

/** A runtime in this process; close with `rt.releasers.close()`. */
export function testRuntime(t: TestEnv, workerId = 'test-main', extra: Record<string, string> = {}): Runtime {
  const config = loadConfig({ ...t.env, ...extra }, { useDotenv: false });
  return createRuntime(config, createLogger(workerId, config.RAYVAULT_LOG_LEVEL), { workerId });
}

export type ChildWorker = {
  proc: ChildProcess;
  workerId: string;
  exited: Promise<number | null>;
  output: () => string;
};

/**
 * A real worker process running test/support/worker-child.ts with the test processors; `wrap` runs it under a command
 * such as `ip netns exec <ns>` (a worker host on a network of its own).
 */
export function spawnWorker(
  t: TestEnv,
  workerId: string,
  extraEnv: Record<string, string> = {},
  wrap: string[] = [],
): ChildWorker {
  const argv = [...wrap, process.execPath, '--import', 'tsx', path.join(ROOT, 'test/support/worker-child.ts')];
  const proc = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...t.env, RAYVAULT_LOG_LEVEL: 'info', RAYVAULT_WORKER_ID: workerId, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, workerId, exited, output: () => out };
}

export type Server = { url: string; port: number; stop: () => Promise<void>; start: () => Promise<void> };

/** A dedicated redis-server (for tests that restart Redis). */
export async function startRedisServer(opts: { aof?: boolean } = {}): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'redis-'));
  let proc: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--dir',
        dir,
        '--appendonly',
        opts.aof ? 'yes' : 'no',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    await waitFor('redis to listen', () => canConnect(port), 10000, 50);
  };
  const stop = async () => {
    if (!proc || proc.exitCode !== null) return;
    const p = proc;
    const gone = new Promise((r) => p.on('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  await start();
  return { url, port, start, stop };
}

/**
 * A dedicated Postgres (for tests that stop it), run by scripts/embedded-pg.mjs in a child process.
 * fast (the default): fsync and synchronous_commit off, for tests; `fast: false` keeps Postgres's
 * durable defaults, as `npm start` runs it (the bench's production mode).
 */
export async function startPgServer(opts: { fast?: boolean } = {}): Promise<Server> {
  const port = await freePort();
  const parent = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'pg-'));
  chmodSync(parent, 0o755); // Postgres runs as its own user
  const dir = path.join(parent, 'data');
  let proc: ChildProcess | undefined;
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  const start = async () => {
    proc = spawn(
      process.execPath,
      [
        path.join(ROOT, 'scripts/embedded-pg.mjs'),
        '--dir',
        dir,
        '--port',
        String(port),
        ...(opts.fast === false ? [] : ['--fast']),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      proc!.stdout!.on('data', (d) => {
        if (String(d).includes('"ready"')) resolve();
      });
      proc!.on('exit', (code) => reject(new Error(`embedded postgres exited with ${code}`)));
    });
  };
  const stop = async () => {
    if (!proc || proc.exitCode !== null) return;
    const p = proc;
    const gone = new Promise((r) => p.on('exit', r));
    p.kill('SIGTERM');
    await gone;
  };
  await start();
  return { url, port, start, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
