import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRunLocks } from './run-locks';

let redis: Redis;
beforeAll(() => { redis = new Redis(process.env.RV_TEST_REDIS_URL!); });
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
