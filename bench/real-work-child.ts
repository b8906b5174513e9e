// Item 4, in its own process: the `consistent` sample end to end through the
// real queues (one worker host running evidence, voice, render and qc), with
// every media tool invocation traced; after each run, the same invocations run
// directly, one after another, with their outputs sent to a scratch directory. Prints
// one JSON line: {runs, rayvault_ms[], tools_ms[], stage_ms[], invocations}.
import childProcess from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  createLogger,
  createRuntime,
  createWorkerHost,
  loadSample,
  stateLayout,
  submitRun,
  type RunEvent,
} from '@rayvault/shared';
import { createEvidenceProcessor, evidenceFields } from '@rayvault/evidence-worker';
import { createMediaProcessors, mediaConfigSchema } from '@rayvault/render-worker';
import { loadBenchConfig, realWorkRuns } from './bench-config';

const TOOLS = new Set(['espeak-ng', 'ffmpeg', 'ffprobe']);
type Call = { tool: string; args: string[]; /** contents of a text file the call reads */ text?: string };
const calls: Call[] = [];

// Trace: runTool calls execFile through the module object, so this sees every tool run.
const execFile = childProcess.execFile;
(childProcess as { execFile: unknown }).execFile = (file: string, args: string[], ...rest: unknown[]) => {
  if (TOOLS.has(file)) {
    const f = args.indexOf('-f');
    // espeak-ng's text and ffmpeg's title card come from temp files that are gone afterwards: keep them.
    const title = args.map((a) => /textfile='([^']+)'/.exec(a)?.[1]).find(Boolean);
    calls.push({
      tool: file,
      args: [...args],
      text:
        file === 'espeak-ng' && f >= 0
          ? readFileSync(args[f + 1], 'utf8')
          : title
            ? readFileSync(title, 'utf8')
            : undefined,
    });
  }
  return (execFile as (...a: unknown[]) => unknown)(file, args, ...rest);
};

function run(tool: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(tool, args, { maxBuffer: 16 * 1024 * 1024 }, (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * The same invocation with its output (espeak -w, ffmpeg's last argument) and
 * text files moved to `dir`. An input an earlier call made and the stage then
 * moved away (a segment's `.part` renamed) is read from that call's output,
 * found by its stem in `made`.
 */
function direct(c: Call, dir: string, i: number, made: Map<string, string>): string[] {
  const stem = (p: string) => path.basename(p).split('.')[0];
  const args = c.args.map((a, k) => {
    const input = (c.tool === 'ffprobe' && k === c.args.length - 1) || c.args[k - 1] === '-i';
    return input && a.startsWith('/') && !existsSync(a) ? (made.get(stem(a)) ?? a) : a;
  });
  if (c.tool === 'espeak-ng') {
    const w = args.indexOf('-w');
    args[w + 1] = path.join(dir, `${i}.wav`);
    const f = args.indexOf('-f');
    args[f + 1] = path.join(dir, `${i}.txt`);
    writeFileSync(args[f + 1], c.text ?? '');
  } else if (c.tool === 'ffmpeg' && args.includes('-i') && args.at(-1) !== '-') {
    made.set(stem(args.at(-1)!), (args[args.length - 1] = path.join(dir, `${i}-${path.basename(args.at(-1)!)}`)));
    if (c.text !== undefined) {
      writeFileSync(path.join(dir, `${i}-title.txt`), c.text);
      for (const [k, a] of args.entries())
        args[k] = a.replace(/textfile='[^']+'/, `textfile='${path.join(dir, `${i}-title.txt`)}'`);
    }
  }
  return args;
}

/** Where a run's time went: each stage from claim to completion, and the waits between stages. */
function stageTimes(events: RunEvent[]): Record<string, number> {
  const at = (e: RunEvent) => new Date(e.created_at).getTime();
  const out: Record<string, number> = {};
  let last = at(events[0]);
  for (const e of events) {
    const stage = String(e.payload.stage ?? '');
    if (e.type === 'stage_claimed') out[`wait_${stage}`] = at(e) - last;
    if (e.type === 'stage_completed' || e.type === 'run_done') out[stage] = at(e) - last;
    if (e.type === 'stage_claimed' || e.type === 'stage_completed' || e.type === 'run_done') last = at(e);
  }
  return out;
}

async function main() {
  const runs = realWorkRuns();
  // Every stage in one process, as `rayvault worker` runs them: both workers' variables.
  const config = loadBenchConfig(mediaConfigSchema.extend(evidenceFields.shape));
  const rt = createRuntime(config, createLogger('bench-real', 'error'), { workerId: 'bench-real' });
  const media = createMediaProcessors(rt, config);
  const host = createWorkerHost(rt, {
    processors: { evidence: createEvidenceProcessor(rt, config), ...media },
    concurrency: 1,
  });
  await host.start();
  const product = await loadSample('consistent');
  const rayvaultMs: number[] = [];
  const toolsMs: number[] = [];
  const perRun: Call[][] = [];
  const stageMs: Record<string, number>[] = [];
  const scratch = mkdtempSync(path.join(config.RAYVAULT_STATE_DIR, 'direct-'));
  // Each run through RayVault is followed by its own tool calls run directly, so a slow spell of a
  // shared machine falls on both sides alike (they used to run as two blocks, minutes apart).
  for (let i = 0; i < runs; i++) {
    // Every run does the whole work: no speech or source cache carried over from the run before.
    rmSync(stateLayout(config.RAYVAULT_STATE_DIR).cache, { recursive: true, force: true });
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
    stageMs.push(stageTimes((await rt.store.getRun(r.id))!.events));
    const list = calls.slice(from);
    perRun.push(list);

    const dir = path.join(scratch, String(i));
    mkdirSync(dir);
    const t1 = performance.now();
    const made = new Map<string, string>();
    for (const [k, c] of list.entries()) await run(c.tool, direct(c, dir, k, made));
    toolsMs.push(performance.now() - t1);
  }
  await host.close(1000);
  const counts = perRun[0].reduce<Record<string, number>>((m, c) => ({ ...m, [c.tool]: (m[c.tool] ?? 0) + 1 }), {});
  process.stdout.write(
    `${JSON.stringify({ runs, rayvault_ms: rayvaultMs, tools_ms: toolsMs, stage_ms: stageMs, invocations: counts })}\n`,
  );
  await rt.releasers.close();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`real-work bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
