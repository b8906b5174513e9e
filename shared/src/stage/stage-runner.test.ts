// The runner's decisions with doubles for the world (no Redis, no Postgres):
// the port records what the runner asked of it; checkpoints and the spool are
// the real file-backed ones in a temporary directory.
import { DelayedError, type Job } from 'bullmq';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createCheckpointFiles } from '../checkpoint/checkpoint-files';
import { DatabaseUnavailableError, FencedWriteError, InvalidInputError, ShutdownError } from '../errors/errors';
import type { StageJob } from '../queues/queues';
import { createSpool } from '../spool/spool';
import type { ClaimResult, Run } from '../store/types';
import { createAdmission } from './admission';
import type { RunSession } from './run-session';
import type { StagePort } from './stage-port';
import { createJobProcessor, type RunnerHost } from './stage-runner';
import type { StageProcessor } from './types';

const RUN = '00000000-0000-4000-8000-000000000001';
const log = pino({ level: 'silent' });

function world(o: { claim?: () => Promise<ClaimResult>; lockFree?: boolean } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runner-'));
  const calls: string[] = [];
  const run = { id: RUN, status: 'running', stage: 'voice', attempt: 1, fence: 7, refetch_count: 0 } as unknown as Run;
  const port: StagePort = {
    workerId: 'w1',
    leaseMs: 1000,
    heartbeatMs: 300,
    backoffMs: 2000,
    log,
    now: () => 1_000_000,
    locks: {
      acquire: async (runId) => (
        calls.push('lock'),
        o.lockFree === false ? null : { runId, key: `k:${runId}`, token: 't' }
      ),
      renew: async () => 'renewed',
      release: async () => (calls.push('unlock'), true),
      expiresInMs: async () => 400,
    },
    store: {
      claimStage: async () => (calls.push('claim'), o.claim ? o.claim() : { stale: false, run, steps: {} }),
      completeStage: async (a) => (calls.push(`complete ${a.eventId} fence=${a.fence} next=${a.next}`), run),
      handOff: async (a) => (
        calls.push(`hand-off ${a.eventId} fence=${a.fence} next=${a.next}`),
        { stale: false, run: { ...run, stage: a.next, fence: a.fence + 1 }, steps: {} }
      ),
      transition: async (a) => (calls.push(`transition ${a.to} ${a.eventId}`), run),
      releaseStage: async (a) => (calls.push(`release ${a.eventId}`), run),
      appendEvent: async (a) => (calls.push(`event ${a.type}`), { duplicate: false }),
      rpc: async (fn) => (calls.push(`rpc ${fn}`), { duplicate: false }),
    },
    checkpoints: createCheckpointFiles(path.join(dir, 'checkpoints')),
    spool: createSpool(path.join(dir, 'spool'), 'w1', log),
    enqueue: async (j) =>
      void calls.push(`enqueue ${j.stage}${j.handOff ? ` claimed at fence ${j.handOff.run.fence}` : ''}`),
    alert: async (a) => void calls.push(`alert ${a.kind}`),
    countPanic: (kind) => void calls.push(`count ${kind}`),
    observeDuration: (stage, outcome) => void calls.push(`observe ${stage} ${outcome}`),
  };
  let state = 'idle';
  const host: RunnerHost = {
    admission: createAdmission({ leaseMs: 1000 }),
    sessions: new Set<RunSession>(),
    whenCertain: async () => undefined,
    flushSpool: async () => true,
    state: () => state as 'idle',
    setState: (s) => void calls.push(`state ${(state = s)}`),
    onRunSettled: () => void calls.push('settled'),
  };
  return { port, host, calls };
}

function job(o: { attemptsMade?: number; attempts?: number; attemptsStarted?: number; handOff?: ClaimResult } = {}) {
  const delayed: number[] = [];
  const j = {
    id: `${RUN}:voice:1`,
    data: { runId: RUN, stage: 'voice', attempt: 1, handOff: o.handOff } satisfies StageJob,
    attemptsMade: o.attemptsMade ?? 0,
    attemptsStarted: o.attemptsStarted ?? 1,
    stalledCounter: 0,
    opts: { attempts: o.attempts ?? 5 },
    moveToDelayed: async (at: number) => void delayed.push(at),
  } as unknown as Job<StageJob>;
  return { j, delayed };
}

it('completes a stage: claim, complete under its fence with the claim of the next, enqueue it, release the lock', async () => {
  const { port, host, calls } = world();
  const processor: StageProcessor = async (ctx) => ({ output: { fence: ctx.fence } });
  expect(await createJobProcessor(port, host, 'voice', processor)(job().j, 'tok')).toEqual({ done: true });
  expect(calls).toEqual([
    'lock',
    'claim',
    'state active',
    `hand-off ${RUN}:voice:1:complete fence=7 next=render`,
    'unlock',
    'enqueue render claimed at fence 8',
    'observe voice completed',
    'state idle',
  ]);
  expect(host.sessions.size).toBe(0);
});

describe('a job carrying the claim its hand-off made', () => {
  // A whole run row, as the job carries it (the job's schema checks its shape).
  const handedOff = (fence: number, stage: Run['stage'] = 'voice'): ClaimResult => ({
    stale: false,
    run: {
      ...{ id: RUN, status: 'running', stage, attempt: 1, fence, worker_id: null, worker_last_error: null },
      ...{ panic_kind: null, force_refetch: false, refetch_count: 0, trace_id: null, traceparent: null },
      ...{ product: {}, input: {}, output: {}, created_at: '2026-12-02', updated_at: '2026-12-02' },
    },
    steps: {},
  });
  const fenceSeen = async (j: Job<StageJob>) => {
    const { port, host, calls } = world();
    let fence = 0;
    await createJobProcessor(port, host, 'voice', async (ctx) => ((fence = ctx.fence), {}))(j, 'tok');
    return { fence, claimed: calls.includes('claim') };
  };

  it('works under that claim on its first delivery, without a claim call', async () => {
    expect(await fenceSeen(job({ handOff: handedOff(12) }).j)).toEqual({ fence: 12, claimed: false });
  });

  it('claims for itself on any later delivery (stalled, retried, postponed, re-driven), moving the fence on', async () => {
    expect(await fenceSeen(job({ handOff: handedOff(12), attemptsStarted: 2 }).j)).toEqual({ fence: 7, claimed: true });
    expect(await fenceSeen(job({ handOff: handedOff(12), attemptsMade: 1 }).j)).toEqual({ fence: 7, claimed: true });
  });

  it('claims for itself when the claim is not for this job', async () => {
    expect(await fenceSeen(job({ handOff: handedOff(12, 'render') }).j)).toEqual({ fence: 7, claimed: true });
  });
});

it('after the stop began, a fetched job is put back at once: no lock, no claim', async () => {
  const { port, host, calls } = world();
  await host.admission.stop();
  const { j, delayed } = job();
  await expect(createJobProcessor(port, host, 'voice', async () => ({}))(j, 'tok')).rejects.toBeInstanceOf(
    DelayedError,
  );
  expect(delayed).toEqual([1_000_000]);
  expect(calls).toEqual([]);
});

it('a stop that begins while the lock is being taken: the claim is refused and the lock given back', async () => {
  const { port, host, calls } = world();
  const acquire = port.locks.acquire;
  port.locks.acquire = async (...a) => {
    const lease = await acquire(...a);
    await host.admission.stop();
    return lease;
  };
  await expect(createJobProcessor(port, host, 'voice', async () => ({}))(job().j, 'tok')).rejects.toBeInstanceOf(
    DelayedError,
  );
  expect(calls).toEqual(['lock', 'unlock']);
});

it('a lock held elsewhere postpones the job until just after it expires', async () => {
  const { port, host, calls } = world({ lockFree: false });
  const { j, delayed } = job();
  await expect(createJobProcessor(port, host, 'voice', async () => ({}))(j, 'tok')).rejects.toBeInstanceOf(
    DelayedError,
  );
  expect(delayed).toEqual([1_000_000 + 300]);
  expect(calls).toEqual(['lock']);
});

it('bad input fails the run at once with an alert, however many tries are left', async () => {
  const { port, host, calls } = world();
  const processor: StageProcessor = async () => {
    throw new InvalidInputError('voice: script missing');
  };
  await expect(createJobProcessor(port, host, 'voice', processor)(job().j, 'tok')).rejects.toThrow(
    'voice: script missing',
  );
  expect(calls).toEqual([
    'lock',
    'claim',
    'state active',
    `transition failed ${RUN}:voice:1:failed:0`,
    'alert dead_letter',
    'settled',
    'unlock',
    'state idle',
  ]);
});

it('the database going away mid-stage postpones the job without spending a try', async () => {
  const { port, host, calls } = world();
  const { j, delayed } = job({ attemptsMade: 4, attempts: 5 });
  const processor: StageProcessor = async () => {
    throw new DatabaseUnavailableError('connect ECONNREFUSED');
  };
  await expect(createJobProcessor(port, host, 'voice', processor)(j, 'tok')).rejects.toBeInstanceOf(DelayedError);
  expect(delayed).toEqual([1_000_000 + 2000]);
  expect(calls).toEqual(['lock', 'claim', 'state active', 'unlock', 'state idle']);
});

it('a claim the database finds stale is skipped and leaves no lock', async () => {
  const { port, host, calls } = world({
    claim: async () => ({ stale: true, run: { id: RUN, status: 'done', stage: 'qc', attempt: 1 } as unknown as Run }),
  });
  expect(await createJobProcessor(port, host, 'voice', async () => ({}))(job().j, 'tok')).toEqual({ skipped: 'stale' });
  expect(calls).toEqual(['lock', 'claim', 'unlock']);
});

it('a write refused by fencing abandons the try: the loss is recorded and alerted, the run left to its holder', async () => {
  const { port, host, calls } = world();
  const processor: StageProcessor = async () => {
    throw new FencedWriteError('fence 7 is stale');
  };
  expect(await createJobProcessor(port, host, 'voice', processor)(job().j, 'tok')).toEqual({ abandoned: 'lost lock' });
  expect(calls).toEqual([
    'lock',
    'claim',
    'state active',
    'state panic',
    'count panic_lost_lock',
    'event panic_lost_lock',
    'alert lost_lock',
    'unlock',
  ]);
});

it('a stage stopped by the shutdown is handed back at once, under its own fence, and the job put back', async () => {
  const { port, host, calls } = world();
  const { j, delayed } = job();
  const processor: StageProcessor = async () => {
    throw new ShutdownError('grace period over');
  };
  await expect(createJobProcessor(port, host, 'voice', processor)(j, 'tok')).rejects.toBeInstanceOf(DelayedError);
  expect(delayed).toEqual([1_000_000]);
  expect(calls).toEqual(['lock', 'claim', 'state active', `release ${RUN}:voice:1:release:7`, 'unlock', 'state idle']);
});
