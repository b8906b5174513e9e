// Starts the Redis and Postgres every test file shares, on free ports, in a
// temp dir. Services already running on this machine are never touched.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { build } from '../../scripts/build.mjs';
import { startEmbeddedPostgres } from '../../scripts/embedded-pg.mjs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function requireBinary(name, hint) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'pipe' });
  } catch {
    throw new Error(`test harness: '${name}' is not installed (${hint}). Run .ci/run or install it; tests never skip.`);
  }
}

/** SIGKILL (the test Redis keeps nothing) and wait until it is gone. */
export function stopProcess(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', resolve);
    proc.kill('SIGKILL');
  });
}

/**
 * Redis and Postgres in a fresh temp dir. On a failure, what it had started
 * is stopped before it throws (jest runs no teardown after a failed setup).
 * `pgPort`: a fixed port (tests of that failure path); default a free one.
 */
export async function startTestServers({ pgPort } = {}) {
  const root = mkdtempSync(path.join(tmpdir(), 'rayvault-test-'));
  chmodSync(root, 0o755); // Postgres runs as its own user and must reach its data dir
  const redisPort = await freePort();
  const redis = spawn(
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      root,
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  try {
    const pg = await startEmbeddedPostgres({
      dir: path.join(root, 'pg'),
      port: pgPort ?? (await freePort()),
      fast: true,
      onProgress: (m) => process.stdout.write(`\n${m}\n`),
    });
    return { redis, redisPort, pg, root };
  } catch (err) {
    await stopProcess(redis);
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

export default async function globalSetup() {
  requireBinary('redis-server', 'apt-get install redis-server');
  // The CLI tests and the stack test run the built output (dist/), built once here.
  await build();
  const { redis, redisPort, pg, root } = await startTestServers();
  globalThis.__RV_TEST__ = { redis, pg, root };
  process.env.RV_TEST_ROOT = root;
  process.env.RV_TEST_REDIS_URL = `redis://127.0.0.1:${redisPort}`;
  process.env.RV_TEST_PG_URL = pg.url;
}
