// Shared by the metrics tests: a running ops API and worker host with runs
// that went through every stage (so the histogram has observations), and
// Debian's promtool.
import { spawnSync } from 'node:child_process';
import { waitFor } from '../support/harness';
import { startApi, startWorkers, type Api } from '../ops-api/api-support';

export type MetricsStack = { api: Api; close: () => Promise<void> };

/** One run to done and one stopped at the evidence gate, their durations flushed to Redis. */
export async function startStackWithRuns(label: string): Promise<MetricsStack> {
  const api = await startApi(label);
  const workers = await startWorkers(api.t);
  const close = async () => {
    await workers.close();
    await api.close();
  };
  try {
    const create = async (input: Record<string, unknown>) => {
      const res = await api.call('POST', '/api/runs', {
        token: api.tokens.operator,
        body: {
          product: { name: 'Kettle', sources: [{ url: 'https://shop.example/p', tier: 5 }] },
          input: { steps: 1, ...input },
        },
      });
      if (res.status !== 201) throw new Error(`run not created: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    };
    const status = async (id: string) =>
      (await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body.status as string;
    const done = await create({});
    const gated = await create({ gateAt: 'evidence' });
    await waitFor(
      'a run done and one gated',
      async () => (await status(done)) === 'done' && (await status(gated)) === 'waiting_approval',
    );
    // Workers send their counts at the next heartbeat interval.
    await waitFor('qc and the evidence gate in the histogram', async () => {
      const text = await scrape(api);
      return (
        text.includes('rayvault_stage_duration_seconds_count{stage="qc",outcome="completed"} 1') &&
        text.includes('rayvault_stage_duration_seconds_count{stage="evidence",outcome="gate"} 1')
      );
    });
    return { api, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function scrape(api: Api): Promise<string> {
  const res = await api.call('GET', '/metrics', { token: api.tokens.viewer });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.body as string;
}

/** Runs promtool (from Debian's prometheus package) and returns its exit code and output. */
export function promtool(args: string[], input?: string, cwd?: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', args, { input, cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.error)
    throw new Error(`promtool did not run (${r.error.message}): install Debian's prometheus package (.ci/run does)`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
