// The READY/MISSING rule `report`, the dashboard timeline and the qc stage share.
import { readinessTotals, segmentReadiness } from './segment-readiness';

describe('segment readiness', () => {
  it('a usable file is READY, with its drift from the target to the millisecond', () => {
    expect(segmentReadiness({ duration_s: 4.0406 }, 4)).toEqual({
      status: 'READY',
      duration_s: 4.0406,
      drift_s: 0.041,
    });
    expect(segmentReadiness({ duration_s: 3.9 }, 4)).toEqual({ status: 'READY', duration_s: 3.9, drift_s: -0.1 });
  });

  it('READY without a measured length or a target has no drift', () => {
    expect(segmentReadiness({ duration_s: null }, 4)).toEqual({ status: 'READY', duration_s: null, drift_s: null });
    expect(segmentReadiness({ duration_s: 4 }, null)).toEqual({ status: 'READY', duration_s: 4, drift_s: null });
  });

  it('a file that cannot be used is MISSING and says why', () => {
    expect(segmentReadiness({ problem: 'not rendered' }, 4)).toEqual({
      status: 'MISSING',
      duration_s: null,
      drift_s: null,
      problem: 'not rendered',
    });
  });

  it('totals count every segment, and sum durations and drifts of READY ones against every target', () => {
    const rows = [
      { ...segmentReadiness({ duration_s: 2.1 }, 2), target_s: 2 },
      { ...segmentReadiness({ problem: 'file missing' }, 3), target_s: 3 },
      { ...segmentReadiness({ duration_s: 0.9 }, 1), target_s: 1 },
      { ...segmentReadiness({ problem: 'not rendered' }, null), target_s: null },
    ];
    expect(readinessTotals(rows)).toEqual({
      segments_total: 4,
      segments_ready: 2,
      segments_missing: 2,
      duration_s: 3,
      target_s: 6,
      drift_s: 0,
    });
  });
});
