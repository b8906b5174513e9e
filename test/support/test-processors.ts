// Processors the lifecycle tests register: each step sleeps, then appends a
// line to a side-effect log, so a test can count how often each step ran.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  PanicError,
  STAGES,
  TransientError,
  type PanicKind,
  type StageProcessor,
  type StageProcessors,
} from '@rayvault/shared';

export type TestInput = {
  steps?: number;
  stepMs?: number;
  panicAt?: string;
  panicKind?: PanicKind;
  gateAt?: string;
  failAt?: string;
  poisonAt?: string;
};

export function effectsFile(stateDir: string, runId: string): string {
  return path.join(stateDir, 'effects', `${runId}.log`);
}

/** Lines `stage:step:pid` written by the steps that ran. */
export function readEffects(stateDir: string, runId: string): string[] {
  try {
    return readFileSync(effectsFile(stateDir, runId), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export function stepsProcessor(stateDir: string): StageProcessor {
  return async (ctx) => {
    const input = ctx.run.input as TestInput;
    const n = input.steps ?? 3;
    mkdirSync(path.join(stateDir, 'effects'), { recursive: true });
    // A poison job: crashes whichever worker process runs it, every time.
    if (input.poisonAt === ctx.stage) process.exit(42);
    for (let i = 0; i < n; i++) {
      await ctx.step(`step-${i}`, async () => {
        await sleep(input.stepMs ?? 20, undefined, { signal: ctx.signal });
        appendFileSync(effectsFile(stateDir, ctx.run.id), `${ctx.stage}:${i}:${process.pid}\n`);
        return { i };
      });
    }
    if (input.failAt === ctx.stage) throw new TransientError(`test failure at ${ctx.stage}`);
    if (input.panicAt === ctx.stage)
      throw new PanicError(input.panicKind ?? 'panic_browser_frozen', `test panic at ${ctx.stage}`);
    if (input.gateAt === ctx.stage && ctx.run.refetch_count === 0) {
      return {
        gate: {
          diff: [
            {
              field: 'price',
              values: [
                { source: 'a', tier: 5, value: '10.00 USD' },
                { source: 'b', tier: 4, value: '12.00 USD' },
              ],
            },
          ],
          summary: 'price differs',
        },
      };
    }
    await ctx.emit('test_stage_output', { stage: ctx.stage });
    return { output: { stage: ctx.stage, steps: n } };
  };
}

export function allStepsProcessors(stateDir: string): StageProcessors {
  return Object.fromEntries(STAGES.map((s) => [s, stepsProcessor(stateDir)]));
}
