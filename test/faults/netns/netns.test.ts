// The partition drill's harness itself: a host in its own namespace reaches a loopback service only through its link
// and relay; a cut is silent and a heal delivers what was held back; the relay's uplink delay is there; nothing the
// harness made outlives it, and what a crashed run left is removed.
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { createNetwork, cutLink, healLink, removeLeftovers, type HostNet } from './netns';
import { waitFor } from '../../support/harness';
import { describeNetns } from './drill';
import { startRelay, type Relay } from './relay';

const run = promisify(execFile);

/** A client inside the namespace: sends `ping`, prints the reply and how long it took, or `timeout` after 1.5 s. */
async function pingFrom(host: HostNet, to: { address: string; port: number }): Promise<{ reply: string; ms: number }> {
  const script = `const s = require('net').connect(${to.port}, '${to.address}'); const t0 = Date.now();
    s.setTimeout(1500, () => { console.log(JSON.stringify({ reply: 'timeout', ms: Date.now() - t0 })); process.exit(0); });
    s.on('connect', () => s.write('ping'));
    s.on('data', (d) => { console.log(JSON.stringify({ reply: String(d), ms: Date.now() - t0 })); process.exit(0); });
    s.on('error', (e) => { console.log(JSON.stringify({ reply: e.code, ms: Date.now() - t0 })); process.exit(0); });`;
  const { stdout } = await run(host.wrap[0], [...host.wrap.slice(1), process.execPath, '-e', script]);
  return JSON.parse(stdout);
}

const ip = async (...args: string[]) => (await run('ip', args)).stdout;

describeNetns('netns drill harness', () => {
  it('reaches a loopback service through the link and relay; cut is silent, heal restores, delay is added', async () => {
    const echo = net.createServer((s) => s.on('data', (d) => s.write(`pong:${d}`)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const network = await createNetwork();
    let relay: Relay | undefined;
    try {
      const host = await network.addHost('probe');
      relay = await startRelay(host.links.redis.rootAddr, {
        host: '127.0.0.1',
        port: (echo.address() as net.AddressInfo).port,
      });
      expect((await pingFrom(host, relay)).reply).toBe('pong:ping');
      await cutLink(host, host.links.redis);
      expect((await pingFrom(host, relay)).reply).toBe('timeout');
      await healLink(host, host.links.redis);
      expect((await pingFrom(host, relay)).reply).toBe('pong:ping');
      relay.setUplinkDelay({ minMs: 200, maxMs: 250 });
      const slow = await pingFrom(host, relay);
      expect(slow.reply).toBe('pong:ping');
      expect(slow.ms).toBeGreaterThanOrEqual(200);
      // The namespace's loopback is its own: the service is reached through the relay only.
      const direct = await pingFrom(host, { address: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
      expect(direct.reply).toBe('ECONNREFUSED');
    } finally {
      await relay?.close();
      await network.remove();
      echo.close();
    }
    expect(await ip('netns', 'list')).not.toContain(`rvdrill-${process.pid}-${network.tag}`);
    expect(await ip('-o', 'link', 'show')).not.toContain(`rvd${network.tag}`);
  });

  it("removes what a crashed run left: its namespace and the processes in it, and devices of no live drill's", async () => {
    // A pid that is not running: the owner of the leftovers crashed.
    let dead = 4_000_000;
    while (
      (await run('sh', ['-c', `kill -0 ${dead} 2>/dev/null && echo alive || echo dead`])).stdout.trim() === 'alive'
    )
      dead++;
    const ns = `rvdrill-${dead}-beef-x`;
    await ip('netns', 'add', ns);
    await ip('link', 'add', 'rvdbeef0rh', 'type', 'veth', 'peer', 'name', 'rvdbeef0rn');
    // A worker host the crashed run left running in its namespace.
    const orphan = spawn('ip', ['netns', 'exec', ns, 'sleep', '60'], { stdio: 'ignore' });
    const gone = new Promise((resolve) => orphan.on('exit', (_code, signal) => resolve(signal)));
    await waitFor('orphan inside the namespace', async () => (await ip('netns', 'pids', ns)).trim() !== '', 5000, 20);
    const removed = await removeLeftovers();
    expect(await gone).toBe('SIGKILL');
    expect(removed).toEqual(expect.arrayContaining([ns, 'rvdbeef0rh']));
    expect(await ip('netns', 'list')).not.toContain(ns);
    expect(await ip('-o', 'link', 'show')).not.toContain('rvdbeef');
  });
});
