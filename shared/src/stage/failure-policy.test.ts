import {
  DatabaseUnavailableError,
  FencedWriteError,
  InvalidInputError,
  PanicError,
  ShutdownError,
  TransientError,
} from '../errors/errors';
import { decideFailure, failureReason, lockWaitMs } from './failure-policy';

const tries = { made: 0, allowed: 5 };
const kindOf = (err: Error, t = tries) => {
  const a = decideFailure(err, t);
  return a.kind === 'settle' ? `settle:${a.to}` : a.kind;
};

it('maps each kind of error to what becomes of the job and the run', () => {
  const redisDown = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
  expect({
    shutdown: kindOf(new ShutdownError('grace period over')),
    lostLock: kindOf(new PanicError('panic_lost_lock', 'fence moved')),
    database: kindOf(new DatabaseUnavailableError('db down')),
    redis: kindOf(redisDown),
    panic: kindOf(new PanicError('panic_integrity_failure', 'bad file')),
    badInput: kindOf(new InvalidInputError('no such field')),
    transient: kindOf(new TransientError('503')),
    plain: kindOf(new Error('boom')),
    lastTry: kindOf(new TransientError('503'), { made: 4, allowed: 5 }),
  }).toEqual({
    shutdown: 'hand_back',
    lostLock: 'abandon',
    database: 'postpone',
    redis: 'postpone',
    panic: 'settle:panic',
    badInput: 'settle:failed',
    transient: 'retry',
    plain: 'retry',
    lastTry: 'settle:failed',
  });
});

it('a platform outage never spends the last try', () => {
  expect(kindOf(new DatabaseUnavailableError('db down'), { made: 4, allowed: 5 })).toBe('postpone');
});

it.each([
  "Cluster isn't ready and enableOfflineQueue options is false",
  'CLUSTERDOWN The cluster is down',
  'TRYAGAIN Multiple keys request during rehashing of slot',
  'Too many Cluster redirections. Last error: MOVED 1234 127.0.0.1:7001',
  'Failed to refresh slots cache.',
])('a Redis Cluster re-forming (%s) postpones the job, even on its last try', (message) => {
  expect(kindOf(new Error(message), { made: 4, allowed: 5 })).toBe('postpone');
});

it('a refused fenced write is a lost lock; an abort reason wins over what the processor threw', () => {
  const fenced = failureReason(new FencedWriteError('stale fence 3'));
  expect(fenced).toBeInstanceOf(PanicError);
  expect((fenced as PanicError).kind).toBe('panic_lost_lock');
  const shutdown = new ShutdownError('grace period over');
  expect(failureReason(new Error('AbortError'), shutdown)).toBe(shutdown);
  expect(failureReason('a string').message).toBe('a string');
});

it('waits for a held lock just past its expiry, at least a moment, at most a heartbeat', () => {
  expect(lockWaitMs(100, 5000, 250)).toBe(150);
  expect(lockWaitMs(60000, 5000, 250)).toBe(5000);
  expect(lockWaitMs(0, 100, 250)).toBe(50);
});
