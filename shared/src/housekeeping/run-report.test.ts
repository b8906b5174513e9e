// The read model `rayvault report` and GET /api/runs/:id share: cost and stage durations.
import { runCost, runReport, stageDurationS } from './run-report';

const PRICES = { creditPriceUsd: 0.0125, usdBrl: 5.43 };

describe('run report read model', () => {
  it('prices credits in USD and BRL to the cent', () => {
    expect(runCost(37, PRICES)).toEqual({ credit_price_usd: 0.0125, usd_brl: 5.43, usd: 0.46, brl: 2.51 });
  });

  it('times a stage to the millisecond from Date or ISO text; a running stage has no duration', () => {
    expect(stageDurationS('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.234Z')).toBe(1.234);
    expect(stageDurationS(new Date('2026-01-01T00:00:00.000Z'), new Date('2026-01-01T00:01:00.500Z'))).toBe(60.5);
    expect(stageDurationS('2026-01-01T00:00:00.000Z', null)).toBeNull();
  });

  it('orders stages as the pipeline runs them and measures the wall time once every stage finished', () => {
    const r = runReport(
      {
        run: { id: 'r1', status: 'done', stage: 'qc', product: { name: 'Kettle' }, output: {} },
        ledger: [
          { provider: 'dzine', credits: 30, n: 3 },
          { provider: 'local', credits: 7, n: 1 },
        ],
        videos: [],
        stages: [
          {
            stage: 'voice',
            status: 'done',
            attempt: 1,
            worker_id: 'w',
            started_at: '2026-01-01T00:00:02.000Z',
            finished_at: '2026-01-01T00:00:05.000Z',
          },
          {
            stage: 'evidence',
            status: 'done',
            attempt: 1,
            worker_id: 'w',
            started_at: '2026-01-01T00:00:00.000Z',
            finished_at: '2026-01-01T00:00:02.000Z',
          },
        ],
      },
      PRICES,
      '/nonexistent',
    );
    expect(r.credits).toEqual({ total: 37, entries: 4, by_provider: { dzine: 30, local: 7 } });
    expect(r.cost).toEqual(runCost(37, PRICES));
    expect(r.timings.stages.map((s) => [s.stage, s.duration_s])).toEqual([
      ['evidence', 2],
      ['voice', 3],
    ]);
    expect(r.timings.wall_s).toBe(5);
    expect(r.product).toBe('Kettle');
  });
});
