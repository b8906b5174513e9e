import { createAdmission, RETRY_SOON_MS } from './admission';

const LEASE = 1000;
function admission() {
  let t = 0;
  const timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  const a = createAdmission({
    leaseMs: LEASE,
    now: () => t,
    setTimer: (fn, ms) => {
      const timer = { at: t + ms, fn, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
  });
  const advance = (ms: number) => {
    t += ms;
    for (const timer of timers)
      if (!timer.cancelled && timer.at <= t) {
        timer.cancelled = true;
        timer.fn();
      }
  };
  return { a, advance };
}

it('admits ordinary jobs side by side and counts them out', () => {
  const { a } = admission();
  const one = a.enter(0);
  const two = a.enter(1);
  expect([one.run, two.run]).toEqual([true, true]);
  expect(a.jobs).toBe(2);
  if (one.run) one.leave();
  if (one.run) one.leave(); // idempotent
  expect(a.jobs).toBe(1);
});

it('a job that stalled twice waits for the others to finish, then runs alone', () => {
  const { a, advance } = admission();
  const ordinary = a.enter(0);
  const early = a.enter(2);
  expect(early).toEqual({ run: false, retryInMs: RETRY_SOON_MS, why: 'stalled before: waiting to run alone' });
  // While it waits, new ordinary jobs are held back so it gets its turn.
  expect(a.enter(0)).toMatchObject({ run: false, why: 'a suspect job runs alone here' });
  if (ordinary.run) ordinary.leave();
  const suspect = a.enter(2);
  expect(suspect.run).toBe(true);
  expect(a.enter(0)).toMatchObject({ run: false, why: 'a suspect job runs alone here' });
  // Having survived a lease alone, it shares the worker again.
  advance(LEASE);
  expect(a.enter(0).run).toBe(true);
  if (suspect.run) suspect.leave();
});

it('a waiting suspect stops holding others back after two leases', () => {
  const { a, advance } = admission();
  const busy = a.enter(0);
  expect(a.enter(3).run).toBe(false);
  advance(2 * LEASE + 1);
  expect(a.enter(0).run).toBe(true);
  if (busy.run) busy.leave();
});

it('once stopping, admits nothing and claims nothing', async () => {
  const { a } = admission();
  await a.stop();
  expect(a.enter(0)).toEqual({ run: false, retryInMs: 0, why: a.STOPPING });
  const claim = jest.fn(async () => 'claimed');
  expect(await a.claim(claim)).toBeNull();
  expect(claim).not.toHaveBeenCalled();
});

it('stop() resolves only after the claims already sent have returned', async () => {
  const { a } = admission();
  let answer!: (v: string) => void;
  const inFlight = a.claim(() => new Promise<string>((r) => (answer = r)));
  let stopped = false;
  const stop = a.stop().then(() => (stopped = true));
  await new Promise((r) => setImmediate(r));
  expect(stopped).toBe(false);
  expect(await a.claim(async () => 'late')).toBeNull();
  answer('claimed');
  expect(await inFlight).toBe('claimed');
  await stop;
  expect(stopped).toBe(true);
});
