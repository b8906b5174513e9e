import { buildRunReport, resolveRunRef, type RunReport } from '@rayvault/shared';
import type { Command } from 'commander';
import { reportConfigSchema } from '../config';
import { printJson, withRuntime } from '../context';

const out = (s: string): void => void process.stdout.write(s + '\n');
const secs = (x: number | null) => (x === null ? '-' : `${x.toFixed(3)} s`);
const signed = (x: number | null) => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`);

function printReport(r: RunReport) {
  const { credits: c, cost, quality: q } = r;
  out(`REPORT run ${r.run_id}${r.product ? ` (${r.product})` : ''}  status ${r.status}  stage ${r.stage}`);
  const providers = Object.entries(c.by_provider)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  out(
    `credits  ${c.total}${providers ? ` (${providers})` : ''} x US$ ${cost.credit_price_usd.toFixed(2)} = US$ ${cost.usd.toFixed(2)} = R$ ${cost.brl.toFixed(2)} (USD_BRL ${cost.usd_brl.toFixed(2)})`,
  );
  out(
    `quality  ${q.segments_ready}/${q.segments_total} segments READY, ${q.segments_missing} MISSING; duration ${secs(q.duration_s)} for target ${secs(q.target_s)} (drift ${signed(q.drift_s)} s)`,
  );
  for (const s of q.segments) {
    out(
      `  seg${String(s.segment).padStart(2, '0')}  ${s.status.padEnd(7)} ${s.status === 'READY' ? `${secs(s.duration_s)}  target ${secs(s.target_s)}  drift ${signed(s.drift_s)}  ${s.sha8}` : s.problem}`,
    );
  }
  out('stages');
  for (const t of r.timings.stages)
    out(
      `  ${t.stage.padEnd(8)} ${t.status.padEnd(7)} attempt ${t.attempt}  ${secs(t.duration_s).padStart(11)}  worker ${t.worker_id ?? '-'}`,
    );
  out(`  wall     ${secs(r.timings.wall_s)}`);
}

export function registerReport(program: Command): void {
  program
    .command('report <run>')
    .description(
      'credits, cost in USD and BRL (DZINE_CREDIT_PRICE_USD, USD_BRL), quality (segments READY) and stage timings',
    )
    .option('--json', 'print JSON')
    .action(async (ref: string, o) => {
      const r = await withRuntime(
        async (rt, config) =>
          buildRunReport(
            rt.media,
            await resolveRunRef(rt.media, ref),
            { creditPriceUsd: config.DZINE_CREDIT_PRICE_USD, usdBrl: config.USD_BRL },
            rt.stateDir,
          ),
        { schema: reportConfigSchema },
      );
      return o.json ? printJson(r) : printReport(r);
    });
}
