import { ConfigError } from '../errors/errors';
import { loadConfig } from './load-config';

it('reports every bad variable at once', () => {
  let err: unknown;
  try {
    loadConfig({ REDIS_URL: 'not a url', DATABASE_URL: 'mysql://x', RAYVAULT_LEASE_MS: 'ten', RAYVAULT_API_PORT: '70000', TELEGRAM_ADMIN_IDS: 'ray' }, { useDotenv: false });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const message = (err as Error).message;
  expect(message).toMatch(/5 problems/);
  for (const v of ['REDIS_URL', 'DATABASE_URL', 'RAYVAULT_LEASE_MS', 'RAYVAULT_API_PORT', 'TELEGRAM_ADMIN_IDS']) expect(message).toContain(v);
});

it('fills defaults and derives the heartbeat from the lease', () => {
  const cfg = loadConfig({ RAYVAULT_LEASE_MS: '9000' }, { useDotenv: false });
  expect(cfg).toMatchObject({ RAYVAULT_API_PORT: 8080, RAYVAULT_STATE_DIR: './state', RAYVAULT_QUEUE_PREFIX: '{rayvault}', heartbeatMs: 3000 });
});

it('treats empty variables as unset', () => {
  expect(loadConfig({ RAYVAULT_API_PORT: '' }, { useDotenv: false }).RAYVAULT_API_PORT).toBe(8080);
});
