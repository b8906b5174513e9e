// `rayvault doctor --health` as the operator's morning check: PASS on a
// healthy stack with a live worker, FAIL with a classified outage when Redis
// or Postgres is down (exit 1), and back to PASS when they return.
import { createWorkerHost, type WorkerHost, type Runtime } from '@rayvault/shared';
import {
  createTestEnv,
  startPgServer,
  startRedisServer,
  testRuntime,
  type Server,
  type TestEnv,
} from '../support/harness';
import { allStepsProcessors } from '../support/test-processors';
import { json, rayvault } from './cli-kit';

jest.setTimeout(120_000);
type Report = {
  line: string;
  verdict: Record<string, string>;
  findings: Array<{ code: string; level: string }>;
  dependencies: Array<{ name: string; ok: boolean; outage?: string }>;
};

let t: TestEnv;
let redis: Server;
let pgServer: Server;
let rt: Runtime;
let host: WorkerHost;
beforeAll(async () => {
  [redis, pgServer] = await Promise.all([startRedisServer(), startPgServer()]);
  t = await createTestEnv('cli-doctor', { REDIS_URL: redis.url, DATABASE_URL: pgServer.url });
  expect((await rayvault(t, ['migrate'])).code).toBe(0);
  rt = testRuntime(t, 'doctor-worker');
  host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir) });
  await host.start();
});
afterAll(async () => {
  await host.close(500).catch(() => undefined);
  await rt.releasers.close();
  await Promise.all([redis.stop(), pgServer.stop()]);
});

const doctor = async () => {
  const r = await rayvault(t, ['doctor', '--health', '--json']);
  return { code: r.code, report: json<Report>(r) };
};

it('healthy stack with a live worker: [PASS|PASS|PASS], exit 0, and a readable text form', async () => {
  const { code, report } = await doctor();
  expect(report.line).toBe('[PASS|PASS|PASS]');
  expect(code).toBe(0);
  const text = await rayvault(t, ['doctor', '--health']);
  expect(text.stdout).toMatch(/\[PASS\|PASS\|PASS\]/);
});

it('Redis down: infra FAIL with connection_refused, exit 1; PASS again once it is back', async () => {
  await redis.stop();
  const { code, report } = await doctor();
  expect(code).toBe(1);
  expect(report.verdict.infra).toBe('FAIL');
  expect(report.dependencies.find((d) => d.name === 'redis')).toMatchObject({
    ok: false,
    outage: 'connection_refused',
  });
  await redis.start();
  expect((await doctor()).report.verdict.infra).toBe('PASS');
});

it('Postgres down: infra FAIL with connection_refused, exit 1', async () => {
  await pgServer.stop();
  try {
    const { code, report } = await doctor();
    expect(code).toBe(1);
    expect(report.verdict.infra).toBe('FAIL');
    expect(report.dependencies.find((d) => d.name === 'postgres')).toMatchObject({
      ok: false,
      outage: 'connection_refused',
    });
  } finally {
    await pgServer.start();
  }
});
