// /metrics, the alerting rules and the Grafana dashboard as Prometheus's own
// tool judges them, against a running ops API whose workers ran real stages.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/harness';
import { promtool, scrape, startStackWithRuns, type MetricsStack } from './metrics-support';

const RULES = path.join(ROOT, 'ops/prometheus/rules.yml');
const DASHBOARD = path.join(ROOT, 'ops/grafana/rayvault.json');

let stack: MetricsStack;
let text: string;
beforeAll(async () => {
  stack = await startStackWithRuns('obs-promtool');
  text = await scrape(stack.api);
});
afterAll(() => stack?.close());

/** Metric families in the exposition: name → type. */
const families = (exposition: string) =>
  new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
/** The family a series name belongs to (a histogram's _bucket, _sum and _count belong to it). */
const familyOf = (name: string, known: Map<string, string>) =>
  known.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');

describe('the exposition', () => {
  it('passes promtool check metrics (no quantile label on a gauge, _total counters, base units)', () => {
    const r = promtool(['check', 'metrics'], text);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  it("has stage durations as a histogram with the workers' observations, per stage and outcome", () => {
    expect(families(text).get('rayvault_stage_duration_seconds')).toBe('histogram');
    for (const stage of ['evidence', 'voice', 'render', 'qc']) {
      expect(text).toContain(`rayvault_stage_duration_seconds_count{stage="${stage}",outcome="completed"} 1`);
      expect(text).toContain(
        `rayvault_stage_duration_seconds_bucket{stage="${stage}",outcome="completed",le="+Inf"} 1`,
      );
      expect(text).toMatch(
        new RegExp(`^rayvault_stage_duration_seconds_sum\\{stage="${stage}",outcome="completed"\\} [0-9.e-]+$`, 'm'),
      );
    }
    expect(text).toContain('rayvault_stage_duration_seconds_count{stage="evidence",outcome="gate"} 1');
  });

  it("keeps the database's 24 h figures under names that are not quantiles, and shows the open gate", () => {
    expect(families(text).get('rayvault_stage_duration_last_24h_seconds')).toBe('gauge');
    expect(text).toMatch(/^rayvault_stage_duration_last_24h_seconds\{stage="qc",statistic="p95"\} [0-9.e-]+$/m);
    expect(text).toMatch(/^rayvault_stages_finished_last_24h\{stage="qc"\} 1$/m);
    expect(text).toContain('rayvault_gates_open 1');
    expect(text).toMatch(/^rayvault_gate_oldest_age_seconds [0-9.e-]+$/m);
    expect(text).toContain('rayvault_workers_stale 0');
    expect(text).not.toMatch(/quantile=/);
  });
});

describe('ops/prometheus/rules.yml', () => {
  it('passes promtool check rules', () => {
    const r = promtool(['check', 'rules', RULES]);
    expect(r.output).toContain('SUCCESS: 7 rules found');
    expect(r.code).toBe(0);
  });

  it('fires each alert on the series it is about (promtool test rules)', () => {
    const r = promtool(['test', 'rules', 'rules.test.yml'], undefined, path.dirname(RULES));
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });
});

describe('the rules and the dashboard name only series /metrics exports', () => {
  const referenced = (file: string) =>
    new Set([...fs.readFileSync(file, 'utf8').matchAll(/\brayvault_[a-z0-9_]+/g)].map((m) => m[0]));
  it.each([
    ['rules', RULES],
    ['dashboard', DASHBOARD],
  ])('%s', (_what, file) => {
    const known = families(text);
    const missing = [...referenced(file)].filter((name) => !known.has(familyOf(name, known)));
    expect(missing).toEqual([]);
  });

  it('the dashboard is Grafana JSON with a Prometheus datasource input and a query on every panel', () => {
    const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    expect(dash.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    expect(dash.panels.length).toBeGreaterThan(5);
    for (const p of dash.panels) expect(p.targets.length).toBeGreaterThan(0);
  });
});
