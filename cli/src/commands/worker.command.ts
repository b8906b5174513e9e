import { createWorkerHost, migrate } from '@rayvault/shared';
import type { Command } from 'commander';
import { createEvidenceProcessor } from '@rayvault/evidence-worker';
import { createMediaProcessors } from '@rayvault/render-worker';
import { workerConfigSchema } from '../config';
import { withRuntime } from '../context';

/** All four stage consumers in one process, for a single-machine operator. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run every stage consumer in this process (Ctrl-C stops gracefully)')
    .requiredOption('--worker-id <id>', 'stable worker id, e.g. Mac-Ray-01')
    .option('--once', 'stop after one run settles (done, gate, panic)')
    .action(async (o) => {
      await withRuntime(
        async (rt, config) => {
          await migrate(rt.pool);
          const host = createWorkerHost(rt, {
            processors: { evidence: createEvidenceProcessor(rt, config), ...createMediaProcessors(rt, config) },
            once: !!o.once,
          });
          await host.start();
          const stopped = new Promise<void>((resolve) => {
            const stop = () => void host.close().then(resolve);
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
            if (o.once) void host.onceDone.then(stop);
          });
          await stopped;
        },
        { workerId: o.workerId, schema: workerConfigSchema },
      );
    });
}
