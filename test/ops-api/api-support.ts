// Starts the ops API on a free port against the harness's Redis and Postgres,
// with one database token per role and the bootstrap admin token.
import { randomBytes } from 'node:crypto';
import { createWorkerHost, type ApiRole, type Runtime, type WorkerHost } from '@rayvault/shared';
import { createApp, type OpsApp } from '@rayvault/ops-api';
import { loadOpsApiConfig, type OpsApiOptions } from '@rayvault/ops-api';
import { createTokenStore } from '../../services/ops-api/src/auth/tokens';
import { createTestEnv, testRuntime, type TestEnv } from '../support/harness';
import { allStepsProcessors } from '../support/test-processors';

export type Api = {
  t: TestEnv;
  rt: Runtime;
  app: OpsApp;
  url: string;
  adminToken: string;
  tokens: Record<ApiRole, string>;
  /** fetch with a bearer token (or none) and a JSON body. */
  call: (
    method: string,
    path: string,
    o?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ) => Promise<{ status: number; body: any; headers: Headers }>;
  close: () => Promise<void>;
};

export async function startApi(
  label: string,
  opts: { options?: Partial<OpsApiOptions>; env?: Record<string, string>; t?: TestEnv } = {},
): Promise<Api> {
  const adminToken = `adm-${randomBytes(16).toString('hex')}`;
  const t = opts.t ?? (await createTestEnv(label));
  const rt = testRuntime(t, 'ops-api', opts.env);
  const app = createApp(rt, loadOpsApiConfig({ ...t.env, RAYVAULT_ADMIN_TOKEN: adminToken, ...opts.env }), {
    host: '127.0.0.1',
    ...opts.options,
  });
  const { url } = await app.start(0);
  const store = createTokenStore(rt.operations.tokens);
  const tokens = {} as Record<ApiRole, string>;
  for (const role of ['viewer', 'operator', 'admin'] as const)
    tokens[role] = (await store.create({ name: `${role}-${label}`, role, actor: 'test' })).token;
  const call: Api['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    }
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* text bodies (metrics, html) stay text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    t,
    rt,
    app,
    url,
    adminToken,
    tokens,
    call,
    close: async () => {
      await app.close();
      await rt.releasers.close();
    },
  };
}

/** A worker host with the test processors, in its own runtime. */
export async function startWorkers(
  t: TestEnv,
  workerId = 'w-ops',
): Promise<{ host: WorkerHost; rt: Runtime; close: () => Promise<void> }> {
  const rt = testRuntime(t, workerId);
  const host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir), concurrency: 4 });
  await host.start();
  return {
    host,
    rt,
    close: async () => {
      await host.close(1000);
      await rt.releasers.close();
    },
  };
}
