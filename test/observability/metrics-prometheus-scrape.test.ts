// A real Prometheus (Debian's package) scrapes a running ops API with a
// viewer token, loads ops/prometheus/rules.yml and answers queries on the
// RayVault series. It runs offline: its own config and data dir, a loopback
// port, no remote write; it is stopped in afterAll whatever happened.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, ROOT, waitFor } from '../support/harness';
import { startStackWithRuns, type MetricsStack } from './metrics-support';

let stack: MetricsStack;
let prom: ChildProcess | undefined;
let promUrl: string;
let dir: string;
let logs = '';

beforeAll(async () => {
  stack = await startStackWithRuns('obs-prom-scrape');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-prometheus-'));
  fs.writeFileSync(path.join(dir, 'viewer.token'), stack.api.tokens.viewer, { mode: 0o600 });
  const apiHost = new URL(stack.api.url).host;
  fs.writeFileSync(
    path.join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: ['${path.join(ROOT, 'ops/prometheus/rules.yml')}']`,
      'scrape_configs:',
      '  - job_name: rayvault',
      '    metrics_path: /metrics',
      `    authorization: { type: Bearer, credentials_file: '${path.join(dir, 'viewer.token')}' }`,
      `    static_configs: [{ targets: ['${apiHost}'] }]`,
    ].join('\n'),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prom = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prom.on('error', (err) => {
    logs += `prometheus did not start (${err.message}): install Debian's prometheus package (.ci/run does)\n`;
  });
  prom.stdout?.on('data', (d) => (logs += d));
  prom.stderr?.on('data', (d) => (logs += d));
}, 90_000);

afterAll(async () => {
  if (prom && prom.exitCode === null && prom.signalCode === null) {
    const exited = new Promise((resolve) => prom!.once('exit', resolve));
    prom.kill('SIGTERM');
    const hard = setTimeout(() => prom!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(hard);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  await stack?.close();
});

async function api<T>(p: string): Promise<T> {
  const res = await fetch(promUrl + p);
  const body = (await res.json()) as { status: string; data: T };
  if (body.status !== 'success') throw new Error(`${p}: ${JSON.stringify(body)}`);
  return body.data;
}
type Sample = { metric: Record<string, string>; value: [number, string] };
const query = (q: string) =>
  api<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`).then((d) => d.result);
const withLogs = <T>(p: Promise<T>) =>
  p.catch((err: Error) => {
    throw new Error(`${err.message}\nprometheus output:\n${logs}`);
  });

describe('a real Prometheus scraping the ops API with a viewer token', () => {
  it('finds the target up', async () => {
    const target = await withLogs(
      waitFor(
        'the rayvault target up',
        async () => {
          const d = await api<{
            activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
          }>('/api/v1/targets');
          return d.activeTargets.find((t) => t.labels.job === 'rayvault' && t.health === 'up');
        },
        30_000,
        250,
      ),
    );
    expect(target).toMatchObject({ health: 'up', lastError: '' });
  });

  it('queries the stage-duration histogram: counts per stage, and histogram_quantile answers', async () => {
    const counts = await withLogs(
      waitFor(
        'stage counts queryable',
        async () => {
          const r = await query('sum by (stage) (rayvault_stage_duration_seconds_count{outcome="completed"})');
          return r.length === 4 ? r : null;
        },
        30_000,
        250,
      ),
    );
    expect(Object.fromEntries(counts.map((s) => [s.metric.stage, s.value[1]]))).toEqual({
      evidence: '1',
      voice: '1',
      render: '1',
      qc: '1',
    });
    const p95 = await query(
      'histogram_quantile(0.95, sum by (le) (rayvault_stage_duration_seconds_bucket{stage="qc"}))',
    );
    expect(p95).toHaveLength(1);
    expect(Number(p95[0].value[1])).toBeGreaterThan(0);
  });

  it('queries the database figures and loads the alerting rules', async () => {
    expect((await query('rayvault_runs{status="done"}'))[0].value[1]).toBe('1');
    expect((await query('rayvault_gates_open'))[0].value[1]).toBe('1');
    const rules = await api<{ groups: { name: string; rules: { name: string; health: string }[] }[] }>('/api/v1/rules');
    const group = rules.groups.find((g) => g.name === 'rayvault');
    expect(group?.rules.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'RayVaultGateWaitingTooLong',
        'RayVaultPanic',
        'RayVaultWorkerStale',
        'RayVaultDeadLettersGrowing',
        'RayVaultSpoolNotDraining',
      ]),
    );
    await withLogs(
      waitFor(
        'every rule evaluated without error',
        async () => {
          const g = (
            await api<{ groups: { name: string; rules: { health: string }[] }[] }>('/api/v1/rules')
          ).groups.find((x) => x.name === 'rayvault');
          return g?.rules.every((r) => r.health === 'ok');
        },
        15_000,
        250,
      ),
    );
  });
});
