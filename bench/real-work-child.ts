// Item 4, in its own process: the `consistent` sample end to end through the
// real queues (one worker host running evidence, voice, render and qc), with
// every media tool invocation traced; then the same invocations run directly,
// one after another, with their outputs sent to a scratch directory. Prints
// one JSON line: {runs, rayvault_ms[], tools_ms[], invocations}.
import childProcess from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, createRuntime, createWorkerHost, loadConfig, loadSample, submitRun } from '@rayvault/shared';
import { createEvidenceProcessor } from '../services/evidence-worker/src';
import { createMediaProcessors } from '../services/render-worker/src';

const TOOLS = new Set(['espeak-ng', 'ffmpeg', 'ffprobe']);
type Call = { tool: string; args: string[]; text?: string };
const calls: Call[] = [];

// Trace: runTool calls execFile through the module object, so this sees every tool run.
const execFile = childProcess.execFile;
(childProcess as { execFile: unknown }).execFile = (file: string, args: string[], ...rest: unknown[]) => {
  if (TOOLS.has(file)) {
    const f = args.indexOf('-f');
    // espeak-ng reads its text from a temp file that is gone afterwards: keep the text.
    calls.push({ tool: file, args: [...args], text: file === 'espeak-ng' && f >= 0 ? readFileSync(args[f + 1], 'utf8') : undefined });
  }
  return (execFile as (...a: unknown[]) => unknown)(file, args, ...rest);
};

function run(tool: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(tool, args, { maxBuffer: 16 * 1024 * 1024 }, (err) => (err ? reject(err) : resolve())));
}

/** The same invocation with its output (espeak -w, ffmpeg's last argument) and text file moved to `dir`. */
function direct(c: Call, dir: string, i: number): string[] {
  const args = [...c.args];
  if (c.tool === 'espeak-ng') {
    const w = args.indexOf('-w');
    args[w + 1] = path.join(dir, `${i}.wav`);
    const f = args.indexOf('-f');
    args[f + 1] = path.join(dir, `${i}.txt`);
    writeFileSync(args[f + 1], c.text ?? '');
  } else if (c.tool === 'ffmpeg' && args.at(-1) !== '-') {
    args[args.length - 1] = path.join(dir, `${i}-${path.basename(args.at(-1)!)}`);
  }
  return args;
}

async function main() {
  const runs = Number(process.env.BENCH_REAL_RUNS ?? 2);
  const config = loadConfig(process.env, { useDotenv: false });
  const rt = createRuntime(config, createLogger('bench-real', 'error'), { workerId: 'bench-real' });
  const media = createMediaProcessors(rt);
  const host = createWorkerHost(rt, { processors: { evidence: createEvidenceProcessor(rt), ...media }, concurrency: 1 });
  await host.start();
  const product = await loadSample('consistent');
  const rayvaultMs: number[] = [];
  const perRun: Call[][] = [];
  for (let i = 0; i < runs; i++) {
    const from = calls.length;
    const t0 = performance.now();
    const r = await submitRun(rt, { product, actor: 'bench' });
    for (;;) {
      const cur = await rt.store.getRun(r.id);
      if (cur && cur.status !== 'running' && cur.status !== 'queued') {
        if (cur.status !== 'done') throw new Error(`run ${r.id} ended ${cur.status}: ${cur.worker_last_error ?? ''}`);
        break;
      }
      await new Promise((res) => setTimeout(res, 5));
    }
    rayvaultMs.push(performance.now() - t0);
    perRun.push(calls.slice(from));
  }
  await host.close(1000);

  const scratch = mkdtempSync(path.join(config.RAYVAULT_STATE_DIR, 'direct-'));
  const toolsMs: number[] = [];
  for (const list of perRun) {
    const dir = path.join(scratch, String(toolsMs.length));
    mkdirSync(dir);
    const t0 = performance.now();
    for (const [i, c] of list.entries()) {
      const inputs = c.args.filter((a, k) => c.args[k - 1] === '-i' && a !== '-' && !a.includes('='));
      const missing = inputs.find((a) => !existsSync(a));
      if (missing) throw new Error(`cannot run ${c.tool} directly: its input ${missing} is gone`);
      await run(c.tool, direct(c, dir, i));
    }
    toolsMs.push(performance.now() - t0);
  }
  const counts = perRun[0].reduce<Record<string, number>>((m, c) => ({ ...m, [c.tool]: (m[c.tool] ?? 0) + 1 }), {});
  process.stdout.write(`${JSON.stringify({ runs, rayvault_ms: rayvaultMs, tools_ms: toolsMs, invocations: counts })}\n`);
  await rt.releasers.close();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`real-work bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
