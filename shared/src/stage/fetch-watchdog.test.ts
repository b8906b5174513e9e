// The fetch watchdog's judgement, on a clock and queue views the test sets.
import pino from 'pino';
import type { Stage } from '../domain/run-status';
import { createFetchWatchdog } from './fetch-watchdog';

function world(o: { waiting?: number; paused?: boolean; free?: boolean; startedAgoMs?: number } = {}) {
  const now = 1_000_000;
  const replaced: Stage[] = [];
  const queue = { getWaitingCount: async () => o.waiting ?? 3, isPaused: async () => o.paused ?? false };
  const dog = createFetchWatchdog({
    stages: ['render'],
    queues: { evidence: queue, voice: queue, render: queue, qc: queue },
    freeSlot: () => o.free ?? true,
    lastStarted: () => now - (o.startedAgoMs ?? 25_000),
    replace: (s) => void replaced.push(s),
    log: pino({ level: 'silent' }),
    stallMs: 20_000,
    now: () => now,
  });
  return { dog, replaced };
}

it('replaces the worker of a stage whose jobs wait, with a slot free here and none started for the stall time', async () => {
  const { dog, replaced } = world();
  expect(await dog.check()).toEqual(['render']);
  expect(replaced).toEqual(['render']);
});

it('leaves a worker alone that started a job within the stall time (a busy queue always has some waiting)', async () => {
  expect(await world({ startedAgoMs: 19_000 }).dog.check()).toEqual([]);
});

it('leaves it alone when nothing waits, when the queue is paused, or when every slot here is busy', async () => {
  expect(await world({ waiting: 0 }).dog.check()).toEqual([]);
  expect(await world({ paused: true }).dog.check()).toEqual([]);
  expect(await world({ free: false }).dog.check()).toEqual([]);
});

it('judges nothing while Redis does not answer', async () => {
  const broken = createFetchWatchdog({
    stages: ['render'],
    queues: {
      evidence: undefined!,
      voice: undefined!,
      qc: undefined!,
      render: { getWaitingCount: () => Promise.reject(new Error('ECONNREFUSED')), isPaused: async () => false },
    },
    freeSlot: () => true,
    lastStarted: () => 0,
    replace: () => {
      throw new Error('must not replace');
    },
    log: pino({ level: 'silent' }),
  });
  expect(await broken.check()).toEqual([]);
});
