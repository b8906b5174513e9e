import type { Metric, Registry } from 'prom-client';
import { readStageDurations, STAGE_DURATION_BUCKETS, type Runtime } from '@rayvault/shared';

export const STAGE_HISTOGRAM = 'rayvault_stage_duration_seconds';

/**
 * Exports the workers' stage-duration counts (summed in Redis, see
 * shared/src/metrics/stage-durations.ts) as a real histogram: cumulative
 * `_bucket{le}` series, `_sum` and `_count`. prom-client's Histogram only
 * counts observations made in this process, so this is a collector object,
 * the same shape prom-client's own AggregatorRegistry registers.
 */
export function registerStageHistogram(registry: Registry, rt: Runtime): void {
  const collector = {
    name: STAGE_HISTOGRAM,
    help: 'Time a worker spent on a stage attempt that completed or opened a gate, from claim to hand-off',
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const s of await readStageDurations(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX)) {
        const labels = { stage: s.stage, outcome: s.outcome };
        let cumulative = 0;
        STAGE_DURATION_BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i];
          values.push({ metricName: `${STAGE_HISTOGRAM}_bucket`, labels: { ...labels, le }, value: cumulative });
        });
        const count = Math.max(s.count, cumulative + s.buckets[STAGE_DURATION_BUCKETS.length]);
        values.push({ metricName: `${STAGE_HISTOGRAM}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
        values.push({ metricName: `${STAGE_HISTOGRAM}_sum`, labels, value: s.sum });
        values.push({ metricName: `${STAGE_HISTOGRAM}_count`, labels, value: count });
      }
      return {
        name: STAGE_HISTOGRAM,
        help: collector.help,
        type: collector.type,
        aggregator: collector.aggregator,
        values,
      };
    },
  };
  registry.registerMetric(collector as unknown as Metric);
}
