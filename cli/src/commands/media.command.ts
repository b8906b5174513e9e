import { writeFileSync } from 'node:fs';
import { RunNotFoundError, type Runtime } from '@rayvault/shared';
import type { Command } from 'commander';
import {
  buildTimeline,
  checkContract,
  listArtifacts,
  resolveMediaOptions,
  timelineCsv,
  timelineInputs,
  type Timeline,
} from '@rayvault/render-worker';
import { contractConfigSchema } from '../config';
import { EXIT, printJson, withRuntime } from '../context';
import { requireRunId } from './run.command';

/** The run's timeline as the files on disk are now (each segment ffprobed). */
async function timelineOf(rt: Runtime, id: string): Promise<Timeline> {
  const run = await rt.store.getRun(requireRunId(id));
  if (!run) throw new RunNotFoundError(`run ${id} not found`);
  return buildTimeline(timelineInputs(run.output, await listArtifacts(rt.store.rpc, run.id)));
}

export function registerMedia(program: Command): void {
  program
    .command('timeline <run>')
    .description('segment timeline for the editor: start/end, duration, target, drift, READY/MISSING, total (CSV)')
    .option('--json', 'print JSON')
    .option('--csv <file>', 'also write the CSV to this file')
    .action(async (id: string, o) => {
      const timeline = await withRuntime((rt) => timelineOf(rt, id));
      const csv = timelineCsv(timeline);
      if (o.csv) writeFileSync(o.csv, csv);
      if (o.json) return printJson({ run_id: id, ...timeline });
      process.stdout.write(csv);
      if (o.csv) process.stderr.write(`timeline written to ${o.csv}\n`);
    });

  program
    .command('check-contract <run>')
    .description('ffprobe every segment and check durations against their targets (exit 1 on CONTRACT FAIL)')
    .option('--json', 'print JSON')
    .action(async (id: string, o) => {
      const [timeline, options] = await withRuntime(
        async (rt, config) => [await timelineOf(rt, id), resolveMediaOptions(config)] as const,
        { schema: contractConfigSchema },
      );
      const contract = checkContract(timeline, options.toleranceS);
      if (!contract.pass) process.exitCode = EXIT.failed;
      if (o.json) return printJson({ run_id: id, ...contract, total_s: timeline.total_s, segments: timeline.rows });
      if (contract.pass) {
        process.stdout.write(
          `CONTRACT OK: ${timeline.ready} segments READY, total ${timeline.total_s.toFixed(3)} s (target ${timeline.target_total_s.toFixed(3)} s, tolerance ±${contract.tolerance_s} s)\n`,
        );
      } else {
        process.stdout.write(
          `CONTRACT FAIL: ${contract.problems.length} problem(s) (${contract.panic_kind})\n${contract.problems.map((p) => `  - ${p}\n`).join('')}`,
        );
      }
    });
}
