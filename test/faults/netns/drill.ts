// A partition drill's world: the test's own Redis (and its database on the test Postgres), and worker hosts each in a
// network namespace of its own that reach both only over their veth links, through a relay per link in the root
// namespace. The observer, the scheduler and the test itself stay in the root namespace on loopback.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestEnv, startRedisServer, type Server, type TestEnv } from '../../support/harness';
import { createFleet } from '../kit';
import { createNetwork, cutLink, droppedPackets, healLink, netnsSupport, type HostNet, type Network } from './netns';
import { startRelay, type DelayRange, type Relay } from './relay';

export type DrillHost = HostNet & {
  /** Worker processes of this host: `fleet.start(id)` runs one inside the namespace. */
  fleet: ReturnType<typeof createFleet>;
  env: Record<string, string>;
  stateDir: string;
  relays: { redis: Relay; postgres: Relay };
};

export type Drill = {
  t: TestEnv;
  redis: Server;
  hosts: Record<string, DrillHost>;
  /** The host loses Redis and Postgres (both links cut at both ends). */
  cut: (host: DrillHost) => Promise<void>;
  /** The host loses Postgres only. */
  cutPostgres: (host: DrillHost) => Promise<void>;
  /** Every link of the host works again; returns the packets dropped meanwhile. */
  heal: (host: DrillHost) => Promise<number>;
  /** Delay on the host's uplink (host → Redis and host → Postgres), not on the way back; `null` removes it. */
  slowUplink: (host: DrillHost, delay: DelayRange | null) => void;
  close: () => Promise<void>;
};

/** Postgres's loopback address and port in a test database URL. */
function pgTarget(dbUrl: string) {
  const u = new URL(dbUrl);
  return { host: u.hostname, port: Number(u.port || 5432) };
}

async function addHost(network: Network, t: TestEnv, redis: Server, name: string): Promise<DrillHost> {
  const net = await network.addHost(name);
  const relays = {
    redis: await startRelay(net.links.redis.rootAddr, { host: '127.0.0.1', port: redis.port }),
    postgres: await startRelay(net.links.postgres.rootAddr, pgTarget(t.dbUrl)),
  };
  const db = new URL(t.dbUrl);
  db.host = `${relays.postgres.address}:${relays.postgres.port}`;
  // Each host keeps its own state dir (checkpoints, spool), as separate machines do.
  const stateDir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), `host-${name}-`));
  const env = {
    REDIS_URL: `redis://${relays.redis.address}:${relays.redis.port}`,
    DATABASE_URL: db.toString(),
    RAYVAULT_STATE_DIR: stateDir,
  };
  return { ...net, relays, env, stateDir, fleet: createFleet(t, env, net.wrap) };
}

/** Everything of one drill; `close` stops the hosts' processes and removes their namespaces, also after a failure. */
export async function createDrill(
  label: string,
  hostNames: string[],
  overrides: Record<string, string> = {},
): Promise<Drill> {
  const redis = await startRedisServer();
  const network = await createNetwork();
  const hosts: Record<string, DrillHost> = {};
  const close = async () => {
    for (const h of Object.values(hosts)) await h.fleet.killAll();
    for (const h of Object.values(hosts)) await Promise.all([h.relays.redis.close(), h.relays.postgres.close()]);
    await network.remove();
    await redis.stop();
  };
  try {
    const t = await createTestEnv(label, { REDIS_URL: redis.url, ...overrides });
    for (const name of hostNames) hosts[name] = await addHost(network, t, redis, name);
    return {
      t,
      redis,
      hosts,
      cut: async (h) => {
        await cutLink(h, h.links.redis);
        await cutLink(h, h.links.postgres);
      },
      cutPostgres: (h) => cutLink(h, h.links.postgres),
      heal: async (h) => {
        const dropped = (await droppedPackets(h, h.links.redis)) + (await droppedPackets(h, h.links.postgres));
        await healLink(h, h.links.redis);
        await healLink(h, h.links.postgres);
        return dropped;
      },
      slowUplink: (h, delay) => {
        h.relays.redis.setUplinkDelay(delay);
        h.relays.postgres.setUplinkDelay(delay);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

const support = netnsSupport();

/**
 * `describe` for a drill that needs network namespaces. Where the machine refuses them (not root, no iproute2, a
 * kernel without them) it says so, and the one test it registers states the reason instead of pretending to run.
 */
export function describeNetns(title: string, body: () => void): void {
  if (support.ok) {
    describe(title, body);
    return;
  }
  const reason = support.reason;
  console.warn(`netns drill skipped: ${reason}`);
  describe(title, () => {
    it(`netns drill skipped: ${reason}`, () => {
      expect(reason).not.toBe('');
    });
  });
}
