import {
  ALL_QUEUES,
  intakeState,
  redisLayout,
  runDoctor,
  setIntakePaused,
  STAGE_QUEUES,
  type DoctorReport,
  type RedisLayout,
  type Runtime,
} from '@rayvault/shared';
import type { Command } from 'commander';
import { cliActor } from '../config';
import { printJson, withRuntime } from '../context';

const COUNT_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

export async function queueCounts(rt: Runtime): Promise<Record<string, Record<string, number>>> {
  return Object.fromEntries(
    await Promise.all(
      STAGE_QUEUES.map(
        async (q) =>
          [
            q,
            { ...(await rt.queues[q].getJobCounts(...COUNT_STATES)), paused: Number(await rt.queues[q].isPaused()) },
          ] as const,
      ),
    ),
  );
}

function printDoctor(r: DoctorReport) {
  process.stdout.write(`${r.line}  infra | workers | pipeline\n`);
  for (const d of r.dependencies)
    process.stdout.write(
      `  ${d.ok ? 'ok  ' : 'DOWN'} ${d.name.padEnd(9)} ${d.ok ? `${d.latency_ms} ms` : `${d.outage}: ${d.error}`}\n`,
    );
  for (const f of r.findings) process.stdout.write(`  ${f.level.padEnd(4)} ${f.code.padEnd(18)} ${f.message}\n`);
  if (!r.findings.length) process.stdout.write('  all clear, let it run\n');
}

/** `rayvault doctor` and `rayvault queues`: what state the system is in. */
function registerHealth(program: Command): void {
  program
    .command('doctor')
    .description('health verdict [infra|workers|pipeline] with findings; exit 1 on any FAIL')
    .option('--health', 'full health check (the default)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const report = await withRuntime((rt) => runDoctor(rt));
      if (o.json) printJson(report);
      else printDoctor(report);
      if (Object.values(report.verdict).includes('FAIL')) process.exitCode = 1;
    });

  program
    .command('queues')
    .description('per-queue counts, intake state and workers')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await withRuntime(async (rt) => ({
        queues: await queueCounts(rt),
        intake: await intakeState(rt.redis, rt.config.RAYVAULT_QUEUE_PREFIX),
        workers: await rt.store.listWorkers(),
        redis: await redisLayout(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, ALL_QUEUES),
      }));
      if (o.json) return printJson(out);
      printRedisLayout(out.redis);
      process.stdout.write(
        `intake: ${out.intake.paused ? `PAUSED by ${out.intake.by} (${out.intake.reason ?? 'no reason'})` : 'open'}\n`,
      );
      for (const [q, c] of Object.entries(out.queues))
        process.stdout.write(
          `  ${q.padEnd(9)} ${[...COUNT_STATES, 'paused' as const].map((s) => `${s} ${c[s] ?? 0}`).join('  ')}\n`,
        );
      for (const w of out.workers)
        process.stdout.write(
          `  worker ${w.id.padEnd(24)} ${w.state.padEnd(8)} heartbeat ${Math.round(w.heartbeat_age_ms / 1000)} s ago  ${w.current_job ?? ''}\n`,
        );
    });
}

/** On a cluster: each node, then which master holds each queue. */
function printRedisLayout(layout: RedisLayout): void {
  if (layout.mode !== 'cluster') return;
  process.stdout.write(`redis cluster: ${layout.state}\n`);
  for (const n of layout.nodes)
    process.stdout.write(
      `  ${n.address.padEnd(22)} ${n.role.padEnd(7)} ${n.state.padEnd(6)} ${n.replica_of ? `of ${n.replica_of}` : n.slots.join(' ')}\n`,
    );
  const where = Object.entries(layout.placement).map(([part, addr]) => `${part}@${addr ?? 'unserved'}`);
  process.stdout.write(`  placement: ${where.join('  ')}\n`);
}

/** `rayvault drain` and `rayvault resume-intake`: stop and reopen intake. */
function registerIntake(program: Command): void {
  program
    .command('drain')
    .description('stop intake (no new runs) and let workers finish what is queued; reports what remains')
    .option('--operator <name>')
    .option('--reason <text>')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await withRuntime(async (rt) => {
        await setIntakePaused(rt.redis, rt.config.RAYVAULT_QUEUE_PREFIX, true, o.operator ?? cliActor(), o.reason);
        const counts = await queueCounts(rt);
        return {
          intake: 'paused',
          remaining: Object.fromEntries(
            Object.entries(counts).map(([q, c]) => [
              q,
              (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0),
            ]),
          ),
        };
      });
      if (o.json) return printJson(out);
      process.stdout.write(
        `intake paused; still to finish: ${Object.entries(out.remaining)
          .map(([q, n]) => `${q} ${n}`)
          .join(', ')}\n`,
      );
    });

  program
    .command('resume-intake')
    .description('accept new runs again after a drain')
    .option('--operator <name>')
    .option('--json', 'print JSON')
    .action(async (o) => {
      await withRuntime((rt) => setIntakePaused(rt.redis, rt.config.RAYVAULT_QUEUE_PREFIX, false, o.operator ?? 'cli'));
      if (o.json) return printJson({ intake: 'open' });
      process.stdout.write('intake open\n');
    });
}

export function registerOps(program: Command): void {
  registerHealth(program);
  registerIntake(program);
}
