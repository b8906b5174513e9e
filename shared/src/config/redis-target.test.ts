import { ConfigError } from '../errors/errors';
import { loadConfig } from './load-config';
import { parseClusterNodes, redisTarget } from './redis-target';
import { queuePrefix, redisKeys } from '../domain/keys';

it('reads cluster seeds, IPv6 in brackets included', () => {
  expect(parseClusterNodes(' 10.0.0.5:7000, redis-a.internal:7001,[::1]:7002 ')).toEqual([
    { host: '10.0.0.5', port: 7000 },
    { host: 'redis-a.internal', port: 7001 },
    { host: '::1', port: 7002 },
  ]);
});

it.each(['10.0.0.5', 'redis://10.0.0.5:7000', '10.0.0.5:0', '10.0.0.5:70000', '::1:7000', ' , '])(
  'refuses the seed list %p with a message naming the bad seed',
  (v) => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: v }, { useDotenv: false })).toThrow(ConfigError);
    expect(() => parseClusterNodes(v)).toThrow(/REDIS_CLUSTER_NODES: /);
  },
);

it('uses the cluster when its seeds are set, whatever REDIS_URL says, with REDIS_PASSWORD on every node', () => {
  const cfg = loadConfig(
    { REDIS_URL: 'redis://127.0.0.1:6390', REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_PASSWORD: 's3cret' },
    { useDotenv: false },
  );
  expect(redisTarget(cfg)).toEqual({ clusterNodes: [{ host: '127.0.0.1', port: 7000 }], password: 's3cret' });
  expect(redisTarget(loadConfig({}, { useDotenv: false }))).toEqual({ url: 'redis://127.0.0.1:6379' });
});

it('reads a prefix without braces as a hash tag, and gives each queue and the locks a tag of their own', () => {
  const prefix = loadConfig({ RAYVAULT_QUEUE_PREFIX: 'shop-a' }, { useDotenv: false }).RAYVAULT_QUEUE_PREFIX;
  expect(prefix).toBe('{shop-a}');
  expect(queuePrefix(prefix, 'evidence')).toBe('{shop-a:evidence}');
  expect(redisKeys.runLock(prefix, 'r1')).toBe('{shop-a:locks}:run:r1');
  expect(redisKeys.intakePaused(prefix)).toBe('{shop-a}:intake:paused');
  expect(() => loadConfig({ RAYVAULT_QUEUE_PREFIX: 'a:b}' }, { useDotenv: false })).toThrow(/RAYVAULT_QUEUE_PREFIX/);
});
