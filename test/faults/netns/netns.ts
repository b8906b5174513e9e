// Linux network namespaces for the fault drill: each worker host gets a namespace of its own, joined to the root
// namespace by two veth pairs (one carries its Redis traffic, the other its Postgres traffic), on addresses the drill
// makes itself in 10.231.0.0/16 and removes afterwards. Cutting a link drops its packets silently at both ends, as a
// real partition does: no reset, no "unreachable", the peer just stops answering.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every namespace the drill makes is `rvdrill-<owner pid>-<tag>-<host>`; its veth devices are `rvd<tag>…`. */
const NS_PREFIX = 'rvdrill';
const NS_NAME = /^rvdrill-(\d+)-([0-9a-f]{4})-/;
const LINK_NAME = /^rvd([0-9a-f]{4})\w*$/;

export type NetnsSupport = { ok: true } | { ok: false; reason: string };

/** One veth pair: `rootDev` at `rootAddr` in the root namespace, `nsDev` at `nsAddr` in the host's namespace. */
export type Link = { rootDev: string; nsDev: string; rootAddr: string; nsAddr: string };

export type HostNet = {
  name: string;
  ns: string;
  /** Prefix for a command that runs inside the namespace. */
  wrap: string[];
  links: { redis: Link; postgres: Link };
};

const ip = (...args: string[]) => run('ip', args);
const tc = (...args: string[]) => run('tc', args);

function errorText(err: unknown): string {
  const e = err as { stderr?: string | Buffer; message?: string };
  return String(e.stderr ?? '').trim() || String(e.message ?? err);
}

/**
 * Whether this machine lets the drill make namespaces: root, iproute2, `ip netns add`, a veth pair and a qdisc on it.
 * Synchronous, for a describe-level decision.
 */
export function netnsSupport(): NetnsSupport {
  if (process.platform !== 'linux')
    return { ok: false, reason: `network namespaces are Linux only (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root: `ip netns add` needs CAP_SYS_ADMIN' };
  const ns = `${NS_PREFIX}-${process.pid}-0000-probe`;
  const sh = (args: string[], tool = 'ip') => execFileSync(tool, args, { stdio: 'pipe' });
  try {
    sh(['-V']);
  } catch {
    return { ok: false, reason: 'iproute2 is not installed (apt-get install iproute2)' };
  }
  try {
    sh(['netns', 'add', ns]);
    sh(['-n', ns, 'link', 'add', 'rvdprobe0', 'type', 'veth', 'peer', 'name', 'rvdprobe1']);
    sh(['-n', ns, 'qdisc', 'add', 'dev', 'rvdprobe0', 'root', 'pfifo', 'limit', '0'], 'tc');
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `the machine refused a network namespace: ${errorText(err)}` };
  } finally {
    try {
      sh(['netns', 'del', ns]);
    } catch {
      // never made
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function namespaces(): Promise<string[]> {
  const { stdout } = await ip('netns', 'list');
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
}

/** Kills what still runs in a namespace of the drill (its worker hosts), then deletes it. */
async function deleteNamespace(ns: string): Promise<void> {
  const { stdout } = await ip('netns', 'pids', ns).catch(() => ({ stdout: '' }));
  for (const pid of stdout.split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await ip('netns', 'del', ns).catch(() => undefined);
}

/**
 * What a crashed earlier drill left: namespaces whose owner process is gone, and `rvd…` devices whose tag no live
 * drill's namespace carries (a namespace is made before its links, so a live drill always has one).
 */
export async function removeLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  const live = new Set<string>();
  for (const ns of await namespaces()) {
    const m = NS_NAME.exec(ns);
    if (!m) continue;
    if (pidAlive(Number(m[1]))) live.add(m[2]);
    else {
      await deleteNamespace(ns);
      removed.push(ns);
    }
  }
  const { stdout } = await ip('-o', 'link', 'show');
  for (const dev of stdout.split('\n').map((l) => l.split(': ')[1]?.split('@')[0])) {
    const m = dev ? LINK_NAME.exec(dev) : null;
    if (!m || live.has(m[1])) continue;
    await ip('link', 'del', dev!).catch(() => undefined);
    removed.push(dev!);
  }
  return removed;
}

/** Third octets of 10.231.x.0/24 already in use in the root namespace (another drill running now). */
async function usedOctets(): Promise<Set<number>> {
  const { stdout } = await ip('-o', '-4', 'addr', 'show');
  return new Set([...stdout.matchAll(/inet 10\.231\.(\d+)\./g)].map((m) => Number(m[1])));
}

async function addLink(ns: string, link: Link): Promise<void> {
  await ip('link', 'add', link.rootDev, 'type', 'veth', 'peer', 'name', link.nsDev);
  await ip('link', 'set', link.nsDev, 'netns', ns);
  await ip('addr', 'add', `${link.rootAddr}/30`, 'dev', link.rootDev);
  await ip('link', 'set', link.rootDev, 'up');
  await ip('-n', ns, 'addr', 'add', `${link.nsAddr}/30`, 'dev', link.nsDev);
  await ip('-n', ns, 'link', 'set', link.nsDev, 'up');
}

/**
 * The drill's network: `addHost` makes a namespace with its two links; `remove` deletes every namespace and device it
 * made (and kills what still runs inside). Leftovers of crashed earlier runs are removed first.
 */
export async function createNetwork() {
  await removeLeftovers();
  const taken = new Set((await namespaces()).map((ns) => NS_NAME.exec(ns)?.[2]));
  let tag = randomBytes(2).toString('hex');
  while (taken.has(tag)) tag = randomBytes(2).toString('hex');
  const hosts: HostNet[] = [];
  const cleanupOnExit = () => {
    for (const h of hosts) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', h.ns], { stdio: 'pipe' }).toString();
        for (const pid of pids.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
        execFileSync('ip', ['netns', 'del', h.ns], { stdio: 'pipe' });
      } catch {
        // removed already
      }
    }
  };
  process.once('exit', cleanupOnExit);
  return {
    tag,
    hosts,
    async addHost(name: string): Promise<HostNet> {
      if (hosts.length >= 10) throw new Error('the drill network holds at most 10 hosts');
      const used = await usedOctets();
      const free = Array.from({ length: 254 }, (_, i) => i + 1).filter((o) => !used.has(o));
      const octet = free[Math.floor(Math.random() * free.length)];
      const ns = `${NS_PREFIX}-${process.pid}-${tag}-${name}`;
      const dev = (kind: string, side: string) => `rvd${tag}${hosts.length}${kind}${side}`;
      const host: HostNet = {
        name,
        ns,
        wrap: ['ip', 'netns', 'exec', ns],
        links: {
          redis: {
            rootDev: dev('r', 'h'),
            nsDev: dev('r', 'n'),
            rootAddr: `10.231.${octet}.1`,
            nsAddr: `10.231.${octet}.2`,
          },
          postgres: {
            rootDev: dev('p', 'h'),
            nsDev: dev('p', 'n'),
            rootAddr: `10.231.${octet}.5`,
            nsAddr: `10.231.${octet}.6`,
          },
        },
      };
      hosts.push(host);
      await ip('netns', 'add', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await addLink(ns, host.links.redis);
      await addLink(ns, host.links.postgres);
      return host;
    },
    async remove(): Promise<void> {
      process.off('exit', cleanupOnExit);
      for (const h of hosts.splice(0)) {
        await deleteNamespace(h.ns);
        // Deleting the namespace deletes its ends and so their peers; a pair never moved is deleted here.
        for (const l of Object.values(h.links)) await ip('link', 'del', l.rootDev).catch(() => undefined);
      }
    },
  };
}
export type Network = Awaited<ReturnType<typeof createNetwork>>;

/**
 * Cuts a link: every packet either end sends is dropped (a FIFO of length 0 on both devices). Connections stay open
 * and unanswered; a retransmission after `heal` delivers what was held back.
 */
export async function cutLink(host: HostNet, link: Link): Promise<void> {
  await tc('qdisc', 'replace', 'dev', link.rootDev, 'root', 'pfifo', 'limit', '0');
  await tc('-n', host.ns, 'qdisc', 'replace', 'dev', link.nsDev, 'root', 'pfifo', 'limit', '0');
}

/** Undoes `cutLink` (the devices' default queueing again). */
export async function healLink(host: HostNet, link: Link): Promise<void> {
  await tc('qdisc', 'del', 'dev', link.rootDev, 'root').catch(() => undefined);
  await tc('-n', host.ns, 'qdisc', 'del', 'dev', link.nsDev, 'root').catch(() => undefined);
}

/** Packets both ends of a link dropped while it was cut (the qdiscs' counters). */
export async function droppedPackets(host: HostNet, link: Link): Promise<number> {
  const count = async (args: string[]) => {
    const { stdout } = await tc(...args).catch(() => ({ stdout: '' }));
    return [...stdout.matchAll(/dropped (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  };
  return (
    (await count(['-s', 'qdisc', 'show', 'dev', link.rootDev])) +
    (await count(['-n', host.ns, '-s', 'qdisc', 'show', 'dev', link.nsDev]))
  );
}
