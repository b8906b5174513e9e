import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRunLocks } from './run-locks';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(process.env.RV_TEST_REDIS_URL!);
});
afterAll(() => redis.quit());

const locks = () => createRunLocks(redis, `{locks-${randomUUID().slice(0, 8)}}`, 1000);

it('one holder at a time; renew and release only by the holder', async () => {
  const l = locks();
  const run = randomUUID();
  const a = await l.acquire(run, 'w1');
  expect(a).not.toBeNull();
  expect(await l.acquire(run, 'w2')).toBeNull();
  expect(await l.holder(run)).toBe('w1');
  const impostor = { ...a!, token: 'w2|forged' };
  expect(await l.renew(impostor)).toBe('lost');
  expect(await l.release(impostor)).toBe(false);
  expect(await l.holder(run)).toBe('w1');
  expect(await l.renew(a!)).toBe('renewed');
  expect(await redis.pttl(l.keyOf(run))).toBeGreaterThan(900);
  expect(await l.release(a!)).toBe(true);
  expect(await l.holder(run)).toBeNull();
});

it('a lease expires on its own, and a renewal after Redis lost the key re-sets it (fence check needed)', async () => {
  const l = locks();
  const run = randomUUID();
  const a = await l.acquire(run, 'w1');
  await redis.del(l.keyOf(run));
  expect(await l.renew(a!)).toBe('reacquired');
  expect(await l.holder(run)).toBe('w1');
  await redis.pexpire(l.keyOf(run), 50);
  await new Promise((r) => setTimeout(r, 120));
  expect(await l.acquire(run, 'w2')).not.toBeNull();
});

it('tells how long a held lock has left, so a takeover retries just after a dead holder lease runs out', async () => {
  const l = locks();
  const run = randomUUID();
  expect(await l.expiresInMs(run)).toBe(0);
  const a = await l.acquire(run, 'w1');
  const left = await l.expiresInMs(run);
  expect(left).toBeGreaterThan(800);
  expect(left).toBeLessThanOrEqual(1000);
  await l.release(a!);
  expect(await l.expiresInMs(run)).toBe(0);
});

it("a stage worker's acquire takes over a lock left at an earlier stage or attempt of the run, never one at the same or a later position", async () => {
  const l = locks();
  const run = randomUUID();
  const evidence = await l.acquire(run, 'w1', { attempt: 1, stage: 'evidence' });
  // The same job delivered twice (a stall) must wait: same position.
  expect(await l.acquire(run, 'w2', { attempt: 1, stage: 'evidence' })).toBeNull();
  // The hand-off: voice need not wait for evidence's release; evidence's late renewal and release no longer touch
  // voice's lock.
  const voice = await l.acquire(run, 'w2', { attempt: 1, stage: 'voice' });
  expect(voice).not.toBeNull();
  expect(await l.renew(evidence!)).toBe('lost');
  expect(await l.release(evidence!)).toBe(false);
  expect(await l.holder(run)).toBe('w2');
  // A leftover job of an earlier position never displaces a later one.
  expect(await l.acquire(run, 'w3', { attempt: 1, stage: 'evidence' })).toBeNull();
  expect(await l.acquire(run, 'w3', { attempt: 1, stage: 'qc' })).not.toBeNull();
  expect(await l.acquire(run, 'w4', { attempt: 1, stage: 'voice' })).toBeNull();
  // A new attempt (an operator's resume or refetch) starts over at evidence and outranks the old attempt.
  const retry = await l.acquire(run, 'w4', { attempt: 2, stage: 'evidence' });
  expect(retry).not.toBeNull();
  await l.release(retry!);
  // A plain lock (no position: tests, tools) is never taken over, and takes over nothing.
  const plain = await l.acquire(run, 'tool');
  expect(await l.acquire(run, 'w5', { attempt: 9, stage: 'qc' })).toBeNull();
  await l.release(plain!);
  await l.acquire(run, 'w5', { attempt: 1, stage: 'evidence' });
  expect(await l.acquire(run, 'tool')).toBeNull();
});
