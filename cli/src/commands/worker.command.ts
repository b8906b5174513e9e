import { baseConfigSchema, createWorkerHost, migrate } from '@rayvault/shared';
import type { Command } from 'commander';
import { createEvidenceProcessor, evidenceFields } from '@rayvault/evidence-worker';
import { createMediaProcessors, mediaFields } from '@rayvault/render-worker';
import { withRuntime } from '../context';

/** All four stage consumers in one process, for a single-machine operator. */
export function registerWorker(program: Command): void {
  program.command('worker').description('run every stage consumer in this process (Ctrl-C stops gracefully)')
    .requiredOption('--worker-id <id>', 'stable worker id, e.g. Mac-Ray-01').option('--once', 'stop after one run settles (done, gate, panic)')
    .action(async (o) => {
      await withRuntime(async (rt) => {
        await migrate(rt.pool);
        const host = createWorkerHost(rt, {
          processors: { evidence: createEvidenceProcessor(rt), ...createMediaProcessors(rt) }, once: !!o.once,
        });
        await host.start();
        const stopped = new Promise<void>((resolve) => {
          const stop = () => void host.close().then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          if (o.once) void host.onceDone.then(stop);
        });
        await stopped;
      }, { workerId: o.workerId, schema: baseConfigSchema.extend({ ...evidenceFields.shape, ...mediaFields.shape }) });
    });
}
