import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dedupeKeys, PanicError, stateLayout, type Alerter, type Rpc, type StageProcessor } from '@rayvault/shared';
import { listArtifacts } from '../artifacts';
import {
  buildTimeline,
  checkContract,
  timelineCsv,
  timelineInputs,
  type ContractResult,
  type Timeline,
} from './timeline';

/** What qc leaves in `run.output.qc`. */
export type QcOutput = { timeline: Timeline; contract: ContractResult; csv_path: string };

export type QcDeps = { rpc: Rpc; alerter: Alerter; stateDir: string; toleranceS: number };

/** `state/timelines/<run>.csv`, the editor's import; written whether the contract passes or not. */
export function writeTimelineCsv(stateDir: string, runId: string, timeline: Timeline): string {
  const dir = stateLayout(stateDir).timelines;
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${runId}.csv`);
  writeFileSync(`${file}.tmp`, timelineCsv(timeline));
  renameSync(`${file}.tmp`, file);
  return file;
}

/**
 * QC stage: probes every segment (no checkpoint — a resume must look at the files
 * again), builds the timeline and checks the contract. A failure raises CONTRACT FAIL
 * and stops the run in panic for the operator.
 */
export function createQcProcessor(deps: QcDeps): StageProcessor {
  return async (ctx) => {
    const artifacts = await listArtifacts(deps.rpc, ctx.run.id);
    const timeline = await buildTimeline(timelineInputs(ctx.run.output, artifacts));
    const contract = checkContract(timeline, deps.toleranceS);
    const csvPath = writeTimelineCsv(deps.stateDir, ctx.run.id, timeline);
    if (contract.pass) {
      ctx.log.info({ segments: timeline.rows.length, totalS: timeline.total_s, csv: csvPath }, 'qc passed');
      const output: QcOutput = { timeline, contract, csv_path: csvPath };
      return { output };
    }
    await ctx.emit('contract_fail', { problems: contract.problems, total_s: timeline.total_s, csv_path: csvPath });
    await deps.alerter.raise({
      kind: 'contract_fail',
      runId: ctx.run.id,
      title: `CONTRACT FAIL: run ${ctx.run.id}`,
      text: `${contract.problems.join('\n')}\nCheck with: rayvault check-contract ${ctx.run.id}`,
      details: { problems: contract.problems, timeline: timeline.rows, total_s: timeline.total_s, csv_path: csvPath },
      dedupeKey: dedupeKeys.contractFail(ctx.run.id, ctx.attempt, ctx.fence),
    });
    throw new PanicError(contract.panic_kind!, `CONTRACT FAIL: ${contract.problems.join('; ')}`, {
      details: { problems: contract.problems, csv_path: csvPath, alerted: 'contract_fail' },
    });
  };
}
