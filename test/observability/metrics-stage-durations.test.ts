// The per-process stage-duration counts reach the cluster-wide hash the ops
// API exports: summed across processes, kept through a Redis outage, sent on
// close so a stopping worker loses nothing.
import {
  createFastFailRedis,
  createLogger,
  createStageDurations,
  readStageDurations,
  STAGE_DURATION_BUCKETS,
} from '@rayvault/shared';
import { startRedisServer, waitFor, type Server } from '../support/harness';

const log = createLogger('metrics-test', 'silent');
let redisServer: Server;
beforeAll(async () => {
  redisServer = await startRedisServer();
});
afterAll(() => redisServer?.stop());

const slot = (seconds: number) => STAGE_DURATION_BUCKETS.findIndex((b) => seconds <= b);

describe('stage durations counted by workers', () => {
  it("two processes' observations add up in one series per stage and outcome", async () => {
    const a = createFastFailRedis(redisServer.url, log);
    const b = createFastFailRedis(redisServer.url, log);
    try {
      await waitFor('connected', async () => (await a.ping()) === 'PONG' && (await b.ping()) === 'PONG');
      const wa = createStageDurations(a, 'sum', 60_000, log);
      const wb = createStageDurations(b, 'sum', 60_000, log);
      wa.observe('render', 'completed', 0.3);
      wa.observe('render', 'completed', 40);
      wb.observe('render', 'completed', 0.3);
      wb.observe('evidence', 'gate', 2000);
      await Promise.all([wa.close(), wb.close()]);
      const series = await readStageDurations(a, 'sum');
      const render = series.find((s) => s.stage === 'render' && s.outcome === 'completed')!;
      expect(render.count).toBe(3);
      expect(render.sum).toBeCloseTo(40.6);
      expect(render.buckets[slot(0.3)]).toBe(2);
      expect(render.buckets[slot(40)]).toBe(1);
      // Above the last bound: the +Inf slot.
      expect(series.find((s) => s.stage === 'evidence')).toMatchObject({ outcome: 'gate', count: 1, sum: 2000 });
      expect(series.find((s) => s.stage === 'evidence')!.buckets[STAGE_DURATION_BUCKETS.length]).toBe(1);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('sends on its own after the flush interval', async () => {
    const r = createFastFailRedis(redisServer.url, log);
    try {
      await waitFor('connected', async () => (await r.ping()) === 'PONG');
      const d = createStageDurations(r, 'timer', 200, log);
      d.observe('qc', 'completed', 1);
      await waitFor(
        'the timed flush',
        async () => (await readStageDurations(r, 'timer')).find((s) => s.count === 1),
        5000,
        50,
      );
      await d.close();
    } finally {
      r.disconnect();
    }
  });

  it('keeps what Redis did not take during an outage and sends it once Redis is back', async () => {
    const r = createFastFailRedis(redisServer.url, log);
    try {
      const d = createStageDurations(r, 'outage', 60_000, log);
      await waitFor('connected', async () => (await r.ping()) === 'PONG');
      await redisServer.stop();
      d.observe('voice', 'completed', 5);
      await d.flush();
      await redisServer.start();
      await waitFor('reconnected', async () => (await r.ping().catch(() => null)) === 'PONG', 10_000, 100);
      d.observe('voice', 'completed', 7);
      await d.close();
      expect(await readStageDurations(r, 'outage')).toEqual([
        expect.objectContaining({ stage: 'voice', outcome: 'completed', count: 2, sum: 12 }),
      ]);
    } finally {
      r.disconnect();
    }
  });
});
