import { ConfigError } from '../errors/errors';
import { loadConfig } from './load-config';

it('reports every bad variable at once', () => {
  let err: unknown;
  try {
    loadConfig(
      {
        REDIS_URL: 'not a url',
        DATABASE_URL: 'mysql://x',
        RAYVAULT_LEASE_MS: 'ten',
        RAYVAULT_CONCURRENCY: '0',
        RAYVAULT_WORKER_ID: 'Mac Ray',
      },
      { useDotenv: false },
    );
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const message = (err as Error).message;
  expect(message).toMatch(/5 problems/);
  for (const v of ['REDIS_URL', 'DATABASE_URL', 'RAYVAULT_LEASE_MS', 'RAYVAULT_CONCURRENCY', 'RAYVAULT_WORKER_ID'])
    expect(message).toContain(v);
});

it('fills defaults and derives the heartbeat from the lease', () => {
  const cfg = loadConfig({ RAYVAULT_LEASE_MS: '9000' }, { useDotenv: false });
  expect(cfg).toMatchObject({
    RAYVAULT_CONCURRENCY: 2,
    RAYVAULT_STATE_DIR: './state',
    RAYVAULT_QUEUE_PREFIX: '{rayvault}',
    heartbeatMs: 3000,
  });
});

it('treats empty variables as unset', () => {
  expect(loadConfig({ RAYVAULT_CONCURRENCY: '' }, { useDotenv: false }).RAYVAULT_CONCURRENCY).toBe(2);
});

it("keeps only what every process reads: a service's own variables are its schema's", () => {
  const cfg = loadConfig(
    { TELEGRAM_BOT_TOKEN: '123:abc', RAYVAULT_API_PORT: '9000', CHROMIUM_PATH: '/opt/chromium' },
    { useDotenv: false },
  ) as Record<string, unknown>;
  expect(cfg).not.toHaveProperty('TELEGRAM_BOT_TOKEN');
  expect(cfg).not.toHaveProperty('RAYVAULT_API_PORT');
  expect(cfg).not.toHaveProperty('CHROMIUM_PATH');
});

it("takes the npm start supervisor's pid from RAYVAULT_SUPERVISOR_PID, and refuses one that is not a pid", () => {
  expect(loadConfig({}, { useDotenv: false }).supervisorPid).toBeUndefined();
  expect(loadConfig({ RAYVAULT_SUPERVISOR_PID: '4242' }, { useDotenv: false }).supervisorPid).toBe(4242);
  expect(() => loadConfig({ RAYVAULT_SUPERVISOR_PID: 'npm' }, { useDotenv: false })).toThrow(/RAYVAULT_SUPERVISOR_PID/);
});
