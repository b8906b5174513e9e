import { Command, CommanderError } from 'commander';
import { EXIT, reportError } from './context';
import { registerHousekeeping } from './commands/housekeeping.command';
import { registerMaintenance } from './commands/maintenance.command';
import { registerMedia } from './commands/media.command';
import { registerOps } from './commands/ops.command';
import { registerReport } from './commands/report.command';
import { registerRun } from './commands/run.command';
import { registerRuns } from './commands/runs.command';
import { registerWorker } from './commands/worker.command';

const program = new Command('rayvault')
  .description('RayVault operator CLI: same environment as the services (.env supported)')
  .exitOverride()
  // `runs create --json` belongs to create, `runs --json` to the list.
  .enablePositionalOptions()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });
registerRuns(program);
registerRun(program);
registerMaintenance(program);
registerOps(program);
registerWorker(program);
registerMedia(program);
registerHousekeeping(program);
registerReport(program);

program.parseAsync(process.argv).then(
  () => process.exit(process.exitCode ?? EXIT.ok),
  (err) => {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    process.exit(reportError(err, process.argv.includes('--json')));
  },
);
