import { migrate, replaySpool } from '@rayvault/shared';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { printJson, withDatabase, withRuntime } from '../context';

export function registerMaintenance(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (needs only Postgres)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const applied = await withDatabase((pool) => migrate(pool));
      if (o.json) return printJson({ applied });
      process.stdout.write(applied.length ? applied.map((m) => `applied ${m}\n`).join('') : 'database is up to date\n');
    });

  program
    .command('replay-spool')
    .description('replay writes spooled while the database was unreachable (idempotent)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const bar =
        o.json || !process.stderr.isTTY
          ? null
          : new SingleBar({ format: 'replay [{bar}] {value}/{total}', stream: process.stderr }, Presets.shades_classic);
      const report = await withRuntime((rt) =>
        replaySpool(rt.spoolDir, rt.store.rpc, rt.log, (done, total) => {
          if (bar) {
            if (done === 1) bar.start(total, 0);
            bar.update(done);
          }
        }),
      );
      bar?.stop();
      if (o.json) return printJson(report);
      process.stdout.write(
        `spool: ${report.applied} applied, ${report.duplicates} already in the database, ${report.rejected} rejected, ${report.quarantined} quarantined, ${report.remaining} remaining\n`,
      );
      if (report.remaining > 0) process.exitCode = 1;
    });
}
