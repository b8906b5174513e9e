// Item 6b: `npm start` to a 200 from /readyz, with the state already made by
// an earlier start (the first start installs the database and is not timed).
// Each start is stopped with SIGINT, and the next begins only once every
// process it started is gone (the stack puts its servers in their own
// process groups, so they are followed by pid, not by group).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, ROOT } from '../test/support/harness';

function parents(): Map<number, number> {
  const m = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { m.set(Number(d), Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1])); } catch { /* gone */ }
  }
  return m;
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function startOnce(env: Record<string, string>, port: number, timeoutMs = 240000) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, ['scripts/start.mjs'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const seen = new Set<number>([proc.pid!]);
  const track = () => { const m = parents(); for (let grew = true; grew;) { grew = false; for (const [pid, pp] of m) if (!seen.has(pid) && seen.has(pp)) { seen.add(pid); grew = true; } } };
  let readyMs: number | null = null;
  try {
    while (performance.now() - t0 < timeoutMs && proc.exitCode === null) {
      track();
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
      if (ok) { readyMs = performance.now() - t0; break; }
      await sleep(50);
    }
    if (readyMs === null) throw new Error(`npm start never became ready on :${port}:\n${out.slice(-2000)}`);
    track();
  } finally {
    const s0 = performance.now();
    proc.kill('SIGINT');
    while ([...seen].some(alive) && performance.now() - s0 < 60000) { track(); await sleep(100); }
    const left = [...seen].filter(alive);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    if (left.length) throw new Error(`npm start left ${left.length} processes after SIGINT (killed): ${left.join(' ')}`);
    return { readyMs, stopMs: performance.now() - s0, processes: seen.size };
  }
}

export async function measureStartup() {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rayvault-start-'));
  const port = await freePort();
  const env: Record<string, string> = { ...(process.env as Record<string, string>), RAYVAULT_STATE_DIR: stateDir, RAYVAULT_SAMPLES: '0', RAYVAULT_API_PORT: String(port),
    REDIS_URL: '', DATABASE_URL: '', RAYVAULT_LOG_LEVEL: 'warn' };
  const first = await startOnce(env, port);
  const second = await startOnce(env, port);
  return { first_start_ms: Math.round(first.readyMs!), ready_ms: Math.round(second.readyMs!), stop_ms: Math.round(second.stopMs), processes: second.processes };
}
