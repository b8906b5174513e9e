// Item 4: real work through RayVault against the same tool runs made directly
// (see real-work-child.ts, which does both in one fresh process).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../test/support/harness';
import { childEnv } from './bench-config';

export async function measureRealWork(env: Record<string, string>, runs: number) {
  const e = childEnv({
    ...env,
    RAYVAULT_QUEUE_PREFIX: '{bench-real}',
    RAYVAULT_STATE_DIR: path.join(env.RAYVAULT_STATE_DIR, 'real'),
    BENCH_REAL_RUNS: String(runs),
  });
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/real-work-child.ts')], {
    cwd: ROOT,
    env: e,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => proc.on('exit', r));
  if (code !== 0) throw new Error(`real-work bench exited ${code}: ${err.slice(-2000)}`);
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
    runs: number;
    rayvault_ms: number[];
    tools_ms: number[];
    stage_ms: Record<string, number>[];
    invocations: Record<string, number>;
  };
  // The first run also starts the tools' caches (disk, ffmpeg's filter probe): the best run of each side is compared.
  const ours = Math.min(...r.rayvault_ms);
  const tools = Math.min(...r.tools_ms);
  return {
    runs: r.runs,
    rayvault_ms: Math.round(ours),
    direct_tools_ms: Math.round(tools),
    overhead_pct: Math.round(((ours - tools) / tools) * 1000) / 10,
    all_rayvault_ms: r.rayvault_ms.map(Math.round),
    all_direct_ms: r.tools_ms.map(Math.round),
    stage_ms: r.stage_ms,
    invocations_per_run: r.invocations,
  };
}
