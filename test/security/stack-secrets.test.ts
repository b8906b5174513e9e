// `npm start`'s own Redis and Postgres, attacked as another local user would:
// connect without a password, log in with the old well-known one, read the
// secret files, read `ps` and the terminal output. The state dir starts as an
// older version left it (Postgres superuser password `postgres`, Redis without
// a password, a world-readable stack.env); two boots: the upgrade, then a
// second start on the same dir.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, ROOT, waitFor } from '../support/harness';
import { descendants } from '../stack/process-tree';
import { npmStartEnv } from '../stack/stack-env';

jest.setTimeout(420_000);

let stateDir: string;
let port: number;
const state = (...p: string[]) => path.join(stateDir, ...p);
const env = () => npmStartEnv(stateDir, port, { RAYVAULT_SAMPLES: '0' });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

type Stack = { proc: ChildProcess; out: string };
async function boot(): Promise<Stack> {
  const s: Stack = {
    proc: spawn('npm', ['start'], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true }),
    out: '',
  };
  s.proc.stdout!.on('data', (d) => (s.out += d));
  s.proc.stderr!.on('data', (d) => (s.out += d));
  await waitFor(
    'npm start to print "RayVault is running"',
    () => s.out.includes('RayVault is running.') || (s.proc.exitCode !== null && Promise.reject(new Error(s.out))),
    240_000,
    250,
  );
  return s;
}
async function stop(s: Stack | undefined) {
  if (!s) return;
  const pids = descendants(s.proc.pid!);
  if (s.proc.exitCode === null) {
    process.kill(-s.proc.pid!, 'SIGINT');
    await waitFor('the stack to stop', () => s.out.includes('all stopped') || s.proc.exitCode !== null, 60_000).catch(
      () => undefined,
    );
  }
  await waitFor('no process of the stack left', () => pids.every((p) => !alive(p)), 10_000).catch(() =>
    pids.forEach((p) => alive(p) && process.kill(p, 'SIGKILL')),
  );
}

/** What Redis answers to one command line on a fresh connection. */
function redisSays(redisPort: number, ...lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(redisPort, '127.0.0.1', () => sock.write(lines.map((l) => `${l}\r\n`).join('')));
    let got = '';
    sock.on('data', (d) => {
      got += d;
      if (got.split('\r\n').length > lines.length) {
        sock.destroy();
        resolve(got);
      }
    });
    sock.on('error', reject);
  });
}
const stackEnv = () =>
  Object.fromEntries(
    readFileSync(state('stack.env'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
const pgLogin = async (url: string) => {
  const c = new pg.Client({ connectionString: url });
  try {
    await c.connect();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await c.end().catch(() => undefined);
  }
};

let first: Stack | undefined;
let second: Stack | undefined;

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'stack-secrets-'));
  chmodSync(stateDir, 0o755); // as the old npm start left it (Postgres may run as its own user)
  port = await freePort();
  // The old npm start's cluster: embedded-pg.mjs without a password file initialises with `postgres`.
  const pgPort = await freePort();
  const legacy = spawn(
    process.execPath,
    [path.join(ROOT, 'scripts/embedded-pg.mjs'), '--dir', state('postgres'), '--port', String(pgPort)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let said = '';
  legacy.stdout!.on('data', (d) => (said += d));
  await waitFor('the legacy Postgres to be ready', () => said.includes('"ready"'), 60_000);
  expect(await pgLogin(`postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres`)).toBe('ok');
  await new Promise((r) => {
    legacy.once('exit', r);
    legacy.kill('SIGTERM');
  });
  writeFileSync(state('stack.env'), 'REDIS_URL=redis://127.0.0.1:6390\n', { mode: 0o644 });
  first = await boot();
});
afterAll(async () => {
  await stop(first);
  await stop(second);
});

describe('the upgrade start, on a state dir an older version made', () => {
  it('replaces the old Postgres password: `postgres` is refused, the generated one logs in', async () => {
    const url = new URL(stackEnv().DATABASE_URL);
    expect(first!.out).toContain('replaced the old default Postgres password');
    expect(url.hostname).toBe('127.0.0.1');
    expect(decodeURIComponent(url.password)).toBe(readFileSync(state('secrets/postgres-password'), 'utf8').trim());
    expect(await pgLogin(stackEnv().DATABASE_URL)).toBe('ok');
    url.password = 'postgres';
    expect(await pgLogin(url.toString())).toBe('28P01'); // invalid_password
  });

  it('Redis refuses a client without the password (NOAUTH) and a wrong one, answers the right one', async () => {
    const url = new URL(stackEnv().REDIS_URL);
    expect(url.hostname).toBe('127.0.0.1');
    const redisPort = Number(url.port);
    expect(await redisSays(redisPort, 'PING')).toMatch(/^-NOAUTH/);
    expect(await redisSays(redisPort, 'AUTH guessed', 'PING')).toMatch(/^-(WRONGPASS|ERR)[^\r]*\r\n-NOAUTH/);
    expect(await redisSays(redisPort, `AUTH ${decodeURIComponent(url.password)}`, 'PING')).toBe('+OK\r\n+PONG\r\n');
  });

  it('keeps every secret in a 0600 file and 0700 dirs, the old world-readable stack.env included', () => {
    const modes = Object.fromEntries(
      [
        'stack.env',
        'admin-token',
        'secrets/redis-password',
        'secrets/postgres-password',
        'redis/redis.conf',
        'redis.log',
        'postgres.log',
      ].map((f) => [f, mode(state(f))]),
    );
    expect(modes).toEqual({
      'stack.env': '600',
      'admin-token': '600',
      'secrets/redis-password': '600',
      'secrets/postgres-password': '600',
      'redis/redis.conf': '600',
      'redis.log': '600',
      'postgres.log': '600',
    });
    expect([mode(state('secrets')), mode(state('redis')), mode(state('postgres'))]).toEqual(['700', '700', '700']);
  });

  it('shows no password in the output or in `ps`, and the admin token only this once', () => {
    const secrets = ['secrets/redis-password', 'secrets/postgres-password'].map((f) =>
      readFileSync(state(f), 'utf8').trim(),
    );
    const table = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' });
    for (const s of secrets) {
      expect(s.length).toBeGreaterThanOrEqual(32);
      expect(first!.out).not.toContain(s);
      expect(table).not.toContain(s);
    }
    expect(first!.out).toMatch(/redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
    const token = readFileSync(state('admin-token'), 'utf8').trim();
    expect(first!.out).toContain(`admin token ${token}   (shown this once`);
  });
});

describe('the next start on the same state dir', () => {
  beforeAll(async () => {
    await stop(first);
    first = undefined;
    second = await boot();
  });

  it('does not print the admin token again, only where it is kept', () => {
    const token = readFileSync(state('admin-token'), 'utf8').trim();
    expect(second!.out).not.toContain(token);
    expect(second!.out).toContain(`admin token in ${state('admin-token')} (not shown again)`);
    expect(second!.out).not.toContain('replaced the old default Postgres password');
  });

  it('the CLI reaches the stack through state/stack.env alone', () => {
    const r = JSON.parse(
      execFileSync(process.execPath, [path.join(ROOT, 'cli/bin/rayvault'), 'queues', '--json'], {
        cwd: ROOT,
        env: env(),
        encoding: 'utf8',
      }),
    );
    expect(r.workers.length).toBeGreaterThan(0);
    expect(mode(state('stack.env'))).toBe('600');
  });
});
