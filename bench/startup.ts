// Items 6b-6d: `npm start` to a 200 from /readyz, with the state already made
// by an earlier start (the first start installs the database and is not
// timed); then, on that running stack, each service's idle memory and the
// CLI's start-up (`--version`, and `runs --json` reading the stack) beside
// `node -e 0` on the same machine.
// Each start is stopped with SIGINT, and the next begins only once every
// process it started is gone (the stack puts its servers in their own
// process groups, so they are followed by pid, not by group).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, ROOT } from '../test/support/harness';
import { percentile, rssMb } from './infra';
import { parents } from '../test/stack/process-tree';
import { childEnv } from './bench-config';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

/** Resident memory of each service the stack runs (`node dist/<service>.js`), in MB. */
function serviceRss(pids: Iterable<number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of pids) {
    const entry = cmdline(pid).find((a) => /dist\/[a-z-]+\.js$/.test(a));
    if (entry) out[path.basename(entry, '.js')] = rssMb(pid);
  }
  return out;
}

/** Median wall time of a command over `n` runs, in ms. */
function medianMs(argv: string[], env: Record<string, string>, n = 5): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
    times.push(performance.now() - t0);
  }
  return Math.round(percentile(times, 50));
}

/** While the stack is up: idle RSS per service, and how long CLI verbs take against `node -e 0`. */
async function measureWhileUp(env: Record<string, string>, pids: Set<number>, track: () => void) {
  await sleep(5000); // let the services settle after start-up (the workers start once the API is ready)
  track();
  const cli = [process.execPath, path.join(ROOT, 'cli/bin/rayvault')];
  // Unset, not empty: the CLI then reads the stack's addresses from state/stack.env.
  const cliEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'REDIS_URL' && k !== 'DATABASE_URL'));
  const nodeMs = medianMs([process.execPath, '-e', '0'], cliEnv);
  return {
    rss_idle_mb: serviceRss(pids),
    cli_ms: {
      node_e_0: nodeMs,
      version: medianMs([...cli, '--version'], cliEnv),
      runs_json: medianMs([...cli, 'runs', '--json'], cliEnv),
    },
  };
}

async function startOnce(
  env: Record<string, string>,
  port: number,
  timeoutMs = 240000,
  whileUp?: (pids: Set<number>, track: () => void) => Promise<unknown>,
) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, ['scripts/start.mjs'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const seen = new Set<number>([proc.pid!]);
  const track = () => {
    const m = parents();
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, pp] of m)
        if (!seen.has(pid) && seen.has(pp)) {
          seen.add(pid);
          grew = true;
        }
    }
  };
  let readyMs: number | null = null;
  let s0: number;
  let left: number[];
  let measured: unknown;
  try {
    while (performance.now() - t0 < timeoutMs && proc.exitCode === null) {
      track();
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        readyMs = performance.now() - t0;
        break;
      }
      await sleep(50);
    }
    if (readyMs === null) throw new Error(`npm start never became ready on :${port}:\n${out.slice(-2000)}`);
    track();
    measured = await whileUp?.(seen, track);
  } finally {
    s0 = performance.now();
    proc.kill('SIGINT');
    while ([...seen].some(alive) && performance.now() - s0 < 60000) {
      track();
      await sleep(100);
    }
    left = [...seen].filter(alive);
    for (const pid of left) process.kill(pid, 'SIGKILL');
  }
  if (left.length) throw new Error(`npm start left ${left.length} processes after SIGINT (killed): ${left.join(' ')}`);
  return { readyMs, stopMs: performance.now() - s0, processes: seen.size, measured };
}

export async function measureStartup() {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rayvault-start-'));
  const port = await freePort();
  const env = childEnv({
    RAYVAULT_STATE_DIR: stateDir,
    RAYVAULT_SAMPLES: '0',
    RAYVAULT_API_PORT: String(port),
    REDIS_URL: '',
    DATABASE_URL: '',
    RAYVAULT_LOG_LEVEL: 'warn',
  });
  const first = await startOnce(env, port);
  const second = await startOnce(env, port, undefined, (pids, track) => measureWhileUp(env, pids, track));
  const up = second.measured as Awaited<ReturnType<typeof measureWhileUp>>;
  return {
    first_start_ms: Math.round(first.readyMs!),
    ready_ms: Math.round(second.readyMs!),
    stop_ms: Math.round(second.stopMs),
    processes: second.processes,
    ...up,
  };
}
