import {
  OPERATOR_ACTIONS,
  RunNotFoundError,
  runOperatorAction,
  forceUnlockRun,
  type OperatorAction,
} from '@rayvault/shared';
import type { Command } from 'commander';
import { cliActor } from '../config';
import { printJson, UsageError, withRuntime } from '../context';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function requireRunId(id: string | undefined): string {
  if (!id || !UUID.test(id)) throw new UsageError(`'${id ?? ''}' is not a run id (a UUID)`);
  return id;
}
const actor = (o: { operator?: string }) => o.operator ?? cliActor();

export function registerRun(program: Command): void {
  program
    .command('run <id>')
    .description('one run: status, stage, worker, stages and events')
    .option('--json', 'print JSON')
    .action(async (id: string, o) => {
      const run = await withRuntime((rt) => rt.store.getRun(requireRunId(id)));
      if (!run) throw new RunNotFoundError(`run ${id} not found`);
      if (o.json) return printJson(run);
      process.stdout.write(
        `${run.id}  ${run.status}  stage ${run.stage}  attempt ${run.attempt}  worker ${run.worker_id ?? '-'}\n`,
      );
      if (run.worker_last_error) process.stdout.write(`last error: ${run.worker_last_error}\n`);
      for (const s of run.stages)
        process.stdout.write(`  ${s.stage.padEnd(8)} ${s.status.padEnd(8)} steps ${Object.keys(s.steps).length}\n`);
      for (const e of run.events.slice(-15))
        process.stdout.write(
          `  ${e.created_at}  ${e.type.padEnd(26)} ${e.actor}${e.reason ? `  (${e.reason})` : ''}\n`,
        );
    });

  for (const action of OPERATOR_ACTIONS) {
    program
      .command(`${action} <run>`)
      .description(`${action} a run (recorded with who and why)`)
      .option('--operator <name>', 'who does it')
      .requiredOption('--reason <text>', 'why (recorded in the run events)')
      .option('--json', 'print JSON')
      .action(async (id: string, o) => {
        const run = await withRuntime((rt) =>
          runOperatorAction(rt, {
            runId: requireRunId(id),
            action: action as OperatorAction,
            actor: actor(o),
            reason: o.reason,
          }),
        );
        if (o.json) return printJson(run);
        process.stdout.write(`run ${run.id}: ${action} -> ${run.status}\n`);
      });
  }

  program
    .command('unlock')
    .description('force-clear a run lock (rpc_force_unlock_run); refused on done/failed/aborted without --force')
    .requiredOption('--run <id>', 'run id')
    .option('--operator <name>', 'who does it')
    .requiredOption('--reason <text>', 'why (shown as worker_last_error)')
    .option('--force', 'allow on terminal runs')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const r = await withRuntime((rt) =>
        forceUnlockRun(rt, { runId: requireRunId(o.run), operator: actor(o), reason: o.reason, force: !!o.force }),
      );
      if (o.json) return printJson(r);
      process.stdout.write(
        `run ${r.run.id} unlocked (fence ${r.previous.fence} -> ${r.run.fence}; previous worker ${r.previous.worker_id ?? '-'})\n`,
      );
    });
}
