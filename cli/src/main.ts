import { Command, CommanderError } from 'commander';
import { EXIT } from './exit-codes';
import { version } from '../package.json';

type Register = (program: Command) => void;

/**
 * Each verb's module, loaded only when that verb runs: a verb pays for the
 * libraries it uses (Postgres, BullMQ, the browser…) and `--version` for none.
 */
const MODULES: Record<string, () => Promise<Register>> = {
  housekeeping: async () => (await import('./commands/housekeeping.command.js')).registerHousekeeping,
  maintenance: async () => (await import('./commands/maintenance.command.js')).registerMaintenance,
  media: async () => (await import('./commands/media.command.js')).registerMedia,
  ops: async () => (await import('./commands/ops.command.js')).registerOps,
  report: async () => (await import('./commands/report.command.js')).registerReport,
  run: async () => (await import('./commands/run.command.js')).registerRun,
  runs: async () => (await import('./commands/runs.command.js')).registerRuns,
  worker: async () => (await import('./commands/worker.command.js')).registerWorker,
};

/** Verb → the module that registers it (a test checks this against the modules' own commands). */
export const VERBS: Record<string, keyof typeof MODULES> = {
  orphans: 'housekeeping',
  clean: 'housekeeping',
  index: 'housekeeping',
  maintenance: 'housekeeping',
  baptism: 'housekeeping',
  migrate: 'maintenance',
  'replay-spool': 'maintenance',
  timeline: 'media',
  'check-contract': 'media',
  doctor: 'ops',
  queues: 'ops',
  drain: 'ops',
  'resume-intake': 'ops',
  report: 'report',
  run: 'run',
  unlock: 'run',
  approve: 'run',
  refetch: 'run',
  abort: 'run',
  resume: 'run',
  runs: 'runs',
  worker: 'worker',
};

/** The module of the verb on the command line; none for the version, every module for help or an unknown verb. */
function modulesFor(argv: string[]): (keyof typeof MODULES)[] {
  const args = argv.slice(2);
  if (args[0] === '--version' || args[0] === '-V') return [];
  const verb = args.find((a) => !a.startsWith('-'));
  const own = verb === undefined ? undefined : VERBS[verb];
  return own ? [own] : (Object.keys(MODULES) as (keyof typeof MODULES)[]);
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('rayvault')
    .description('RayVault operator CLI: same environment as the services (.env supported)')
    .version(version, '-V, --version', 'print the version')
    .exitOverride()
    // `runs create --json` belongs to create, `runs --json` to the list.
    .enablePositionalOptions()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const name of modulesFor(argv)) (await MODULES[name]())(program);
  await program.parseAsync(argv);
}

/** Exits once what was written to stderr and stdout has left: process.exit drops a write still queued on a pipe. */
const exitFlushed = (code: number) =>
  process.stderr.write('', () => process.stdout.write('', () => process.exit(code)));

main(process.argv).then(
  () => exitFlushed(Number(process.exitCode ?? EXIT.ok)),
  async (err) => {
    if (err instanceof CommanderError) return exitFlushed(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    const { reportError } = await import('./context.js');
    exitFlushed(reportError(err, process.argv.includes('--json')));
  },
);
