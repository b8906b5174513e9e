import { readFileSync } from 'node:fs';
import { RUN_STATUSES, submitRun, type RunStatus } from '@rayvault/shared';
import type { Command } from 'commander';
import { cliActor } from '../config';
import { printJson, UsageError, withRuntime } from '../context';
import { loadProduct } from '../products';

export function registerRuns(program: Command): void {
  const runs = program
    .command('runs')
    .description('list runs, or create one')
    .option('--status <status>', 'only runs in this status')
    .option('--limit <n>', 'page size', '50')
    .option('--offset <n>', 'skip this many', '0')
    .option('--json', 'print JSON');
  runs.action(async (o) => {
    if (o.status && !RUN_STATUSES.includes(o.status))
      throw new UsageError(`--status must be one of ${RUN_STATUSES.join(', ')}`);
    const list = await withRuntime((rt) =>
      rt.store.listRuns({
        status: o.status as RunStatus | undefined,
        limit: Number(o.limit),
        offset: Number(o.offset),
      }),
    );
    if (o.json) return printJson(list);
    for (const r of list)
      process.stdout.write(
        `${r.id}  ${r.status.padEnd(16)} ${r.stage.padEnd(8)} ${(r as { product_name?: string }).product_name ?? ''}\n`,
      );
    if (!list.length) process.stdout.write('no runs\n');
  });
  runs
    .command('create')
    .description('submit a run: a bundled sample or a product file')
    .option('--sample <name>', 'consistent | conflict')
    .option(
      '--product <file>',
      'product JSON (name, sources [{url|file, tier}], optional image: http(s) URL or a file inside RAYVAULT_MEDIA_DIR, optional script)',
    )
    .option('--input <json>', 'run input as JSON')
    .option('--json', 'print JSON')
    .action(async (o) => {
      if (!o.sample === !o.product) throw new UsageError('give exactly one of --sample NAME or --product FILE');
      let input: object = {};
      if (o.input) {
        try {
          input = JSON.parse(o.input);
        } catch {
          throw new UsageError('--input is not valid JSON');
        }
      }
      const product = await loadProduct(o.sample ? { sample: o.sample } : { file: o.product });
      // A product file may carry its narration script; the voice stage reads it from the run input.
      const script = (product as { script?: unknown }).script;
      if (script !== undefined) input = { script, ...input };
      const run = await withRuntime((rt) => submitRun(rt, { product, input, actor: cliActor() }));
      if (o.json) return printJson(run);
      process.stdout.write(`run ${run.id} queued (${(product as { name?: string }).name ?? 'product'})\n`);
    });
}

export function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}
