// The benchmark's own Redis and Postgres, in one of two durability modes:
// `production` as `npm start` runs them (Postgres's defaults: fsync on,
// synchronous_commit on, full_page_writes on; Redis AOF with appendfsync
// everysec), the headline figures; `fast` as the tests run them (Postgres
// fsync, synchronous_commit and full_page_writes off; Redis without
// persistence), a second line.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { createDatabase, freePort, ROOT, startPgServer, waitFor } from '../test/support/harness';
import { benchNode, childEnv, setScratchRoot } from './bench-config';

export type Durability = 'production' | 'fast';

/** The settings each mode runs with, as results.json reports them. */
export const DURABILITY_SETTINGS: Record<
  Durability,
  { postgres: Record<string, string>; redis: Record<string, string> }
> = {
  production: {
    postgres: { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' },
    redis: { appendonly: 'yes', appendfsync: 'everysec' },
  },
  fast: {
    postgres: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    redis: { appendonly: 'no', save: '' },
  },
};

export async function startBenchInfra(durability: Durability) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rayvault-bench-'));
  chmodSync(dir, 0o755);
  setScratchRoot(dir);
  const port = await freePort();
  const persist =
    durability === 'production' ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persist, '--dir', dir],
    { stdio: 'ignore' },
  );
  const pg = await startPgServer({ fast: durability === 'fast' });
  const dbUrl = await createDatabase(pg.url, 'bench');
  const redisUrl = `redis://127.0.0.1:${port}`;
  await waitFor('redis', async () => {
    const { Redis } = await import('ioredis');
    const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } finally {
      r.disconnect();
    }
  });
  // The embedded Postgres runs under a node launcher, our child: its tree is Postgres's CPU.
  const pgRoots = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return (
          readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(process.pid) &&
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('embedded-pg')
        );
      } catch {
        return false;
      }
    });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      redis.kill('SIGKILL');
      await pg.stop();
    })());
  // Check the server took the mode's settings: a headline figure under the wrong ones would mislead.
  const check = new PgClient({ connectionString: pg.url });
  await check.connect();
  const want = DURABILITY_SETTINGS[durability].postgres;
  for (const [name, value] of Object.entries(want)) {
    const got = (await check.query(`SELECT current_setting($1) AS v`, [name])).rows[0].v;
    if (got !== value) throw new Error(`bench Postgres runs with ${name}=${got}, ${durability} mode wants ${value}`);
  }
  await check.end();
  return { dir, durability, redisUrl, dbUrl, pgUrl: pg.url, pids: { redis: [redis.pid!], postgres: pgRoots }, stop };
}

export type Proc = { proc: ChildProcess; ready: Promise<void>; pid: number };

/** A bundle built like dist/ (see bundleForBench), run with plain node as the services are. */
export function spawnBuilt(bundleFile: string, env: Record<string, string>, nodeArgs: string[] = []): Proc {
  return spawnNode([...nodeArgs, bundleFile], bundleFile, env, benchNode());
}

/** The V8 flags `npm start` and compose give a service with environment `env` (scripts/stack/supervisor.mjs). */
export async function serviceNodeFlags(env: Record<string, string | undefined>): Promise<string[]> {
  const supervisor = (await import(path.join(ROOT, 'scripts/stack/supervisor.mjs'))) as {
    serviceNodeFlags: (env: Record<string, string | undefined>) => string[];
  };
  return supervisor.serviceNodeFlags(env);
}

/** `file` bundled the way `npm run build` bundles the services, into `dir`. */
export async function bundleForBench(file: string, dir: string): Promise<string> {
  const { bundle } = (await import(path.join(ROOT, 'scripts/build.mjs'))) as {
    bundle: (entry: string, outfile: string) => Promise<string>;
  };
  return bundle(file, path.join(dir, `${path.basename(file, '.ts')}.js`));
}

function spawnNode(argv: string[], name: string, env: Record<string, string>, node = process.execPath): Proc {
  const proc = spawn(node, argv, { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      if (/ready/.test(out)) resolve();
    });
    proc.on('exit', (c) => reject(new Error(`${name} exited ${c}`)));
  });
  ready.catch(() => undefined);
  return { proc, ready, pid: proc.pid! };
}

export async function stopAll(procs: Proc[]) {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise((r) => {
          if (p.proc.exitCode !== null) return r(null);
          p.proc.once('exit', r);
          p.proc.kill('SIGTERM');
          // Unref'd: a process that stopped in time leaves no timer holding the bench open.
          setTimeout(() => p.proc.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
}
