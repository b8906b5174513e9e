// Compose conformance without a Docker engine: the app is installed the way the
// Dockerfile's runtime stage installs it (its `COPY --from=build` paths, taken
// from this checkout after the build, then its `npm install`), and every
// RayVault service of docker-compose.yml is started from that install with its
// compose `command` and `environment` (x-service merged) until its compose
// health check passes, in depends_on order. Only what must differ outside a
// container is mapped: the redis/postgres hosts to this test's Redis and fresh
// blank database, /state to a temp dir, each health file to its own temp file,
// port 8080 to a free port, OPS_BIND_HOST to 127.0.0.1; plus a fresh queue
// prefix. No .env is read (env_file is optional; a fresh clone has none).
//
// Checked to fail, each on a copy of the checkout (2026-12-01): with
// cookie-parser moved to devDependencies in services/ops-api/package.json,
// ops-api exits with "Cannot find module './../node_modules/cookie-parser/…'"
// and the test fails showing that log; with the notifier's compose command
// pointing at dist/notify.js (a file the build does not make), the notifier
// exits with "Cannot find module '…/dist/notify.js'"; with the runtime stage's
// `COPY --from=build /app/dist dist/` removed, ops-api fails the same way.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { parse } from 'yaml';
import { createTestEnv, freePort, ROOT, type TestEnv } from '../support/harness';
import { copyOf, envOf, healthcheckOf, ofOp, parseDockerfile, type Stage } from './dockerfile-reader';
import { runCheck, startService, stopService, waitHealthy, type ServiceProcess } from './service-process';

jest.setTimeout(300_000);

type Health = { test: string[]; timeout?: string; interval?: string; retries?: number; start_period?: string };
type Service = {
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: Health;
  ports?: string[];
  depends_on?: Record<string, unknown>;
};
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const app = Object.entries(compose.services)
  .filter(([, s]) => s.build === '.')
  .map(([name]) => name);
const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const runtime = stages.at(-1)!;
const workdir = (stage: Stage) => ofOp(stage, 'WORKDIR').at(-1)?.args ?? '/';

const seconds = (d = '0s') =>
  [...d.matchAll(/(\d+)(h|m|s|ms)/g)].reduce(
    (t, [, n, u]) => t + Number(n) * { h: 3600, m: 60, s: 1, ms: 0.001 }[u]!,
    0,
  );
// Compose interpolation with the defaults, as on a machine without those variables set.
const interpolate = (v: string) =>
  v.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_m, _k, def: string | undefined) => def ?? '');

let install: string;
let scratch: string; // HOME and the health files, outside the state dir
let t: TestEnv;
let apiPort: number;
const started: ServiceProcess[] = [];
const envs: Record<string, Record<string, string>> = {};

/** The runtime stage's `npm install …` (the part of its RUN before any `&&`), which this test runs. */
function npmInstallCommand(): string[] {
  const found = ofOp(runtime, 'RUN')
    .flatMap((r) => r.args.split('&&').map((c) => c.trim()))
    .filter((c) => /^npm (install|ci)\b/.test(c));
  expect(found).toHaveLength(1);
  return found[0].split(/\s+/);
}

/**
 * Lockfiles made on this kind of machine record no download address
 * (`resolved`), only each tarball's integrity: an install then asks the
 * registry for the package's metadata first, which --offline cannot. With the
 * address written in (the registry's standard tarball path), npm takes the
 * tarball from its cache by integrity and never needs the network.
 */
function addTarballAddresses(lockFile: string) {
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as {
    packages: Record<string, { name?: string; version?: string; resolved?: string; link?: boolean }>;
  };
  for (const [where, p] of Object.entries(lock.packages)) {
    if (!where || p.link || p.resolved || !p.version) continue;
    const name = p.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    p.resolved = `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${p.version}.tgz`;
  }
  writeFileSync(lockFile, JSON.stringify(lock, null, 2));
}

/** Runs the runtime stage's COPY --from=build and npm install, in order, into `dir`. */
async function installLikeRuntimeStage(dir: string) {
  for (const ins of runtime.instructions) {
    if (ins.op === 'COPY') {
      const c = copyOf(ins.args);
      const build = stages.find((s) => s.name === c.from);
      if (!build)
        throw new Error(
          `Dockerfile line ${ins.line}: the runtime stage copies from "${c.from ?? 'the build context'}", not from a build stage`,
        );
      const dest = path.resolve(dir, path.relative(workdir(runtime), path.resolve(workdir(runtime), c.dest)));
      for (const src of c.sources) {
        const rel = path.relative(workdir(build), src);
        if (rel.startsWith('..'))
          throw new Error(`Dockerfile line ${ins.line}: ${src} is outside the build stage's WORKDIR`);
        const from = path.join(ROOT, rel);
        // Docker: a directory's contents go into dest; a file goes into dest/ when dest ends with '/'.
        const to = statSync(from).isDirectory() || !c.dest.endsWith('/') ? dest : path.join(dest, path.basename(from));
        mkdirSync(path.dirname(to), { recursive: true });
        cpSync(from, to, { recursive: true });
      }
    } else if (ins.op === 'RUN' && /\bnpm (install|ci)\b/.test(ins.args)) {
      addTarballAddresses(path.join(dir, 'package-lock.json'));
      const [cmd, ...args] = npmInstallCommand();
      // --offline: from the npm cache the checkout's own install filled; tests talk to loopback only.
      await promisify(execFile)(cmd, [...args, '--offline'], { cwd: dir, maxBuffer: 16 << 20 }).catch(
        (err: Error & { stderr?: string }) => {
          throw new Error(
            `the runtime stage's \`${npmInstallCommand().join(' ')}\` failed offline (run \`npm install\` in the checkout first to fill the npm cache): ${err.stderr ?? err.message}`,
          );
        },
      );
    }
    // Other RUN lines (apt-get; mkdir/chown /state) are the machine's tools and the mapped state dir here.
  }
}

/** Unmigrated, as on a first `docker compose up`: ops-api must migrate it from the image's dist/migrations. */
async function blankDatabase(): Promise<string> {
  const name = `compose_rt_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.RV_TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return process.env.RV_TEST_PG_URL!.replace(/\/[^/]*$/, `/${name}`);
}

/** The image's ENV, then the service's compose environment with the container hosts, paths and port mapped. */
function serviceEnv(name: string): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH!, HOME: scratch, RAYVAULT_QUEUE_PREFIX: t.prefix };
  for (const e of ofOp(runtime, 'ENV')) Object.assign(env, envOf(e.args));
  for (const [k, raw] of Object.entries(compose.services[name].environment ?? {})) {
    const v = interpolate(String(raw));
    const host = /^\w+:\/\//.test(v) ? new URL(v).hostname : undefined;
    env[k] = host === 'redis' ? t.redisUrl : host === 'postgres' ? t.dbUrl : v;
  }
  env.RAYVAULT_STATE_DIR = env.RAYVAULT_STATE_DIR.replace(/^\/state\b/, t.stateDir);
  if (env.RAYVAULT_HEALTH_FILE) env.RAYVAULT_HEALTH_FILE = path.join(scratch, `${name}.alive`);
  if (env.RAYVAULT_API_PORT) env.RAYVAULT_API_PORT = String(apiPort);
  if (env.OPS_BIND_HOST) env.OPS_BIND_HOST = '127.0.0.1';
  return env;
}

/** The compose health check with only the mapped path and port rewritten. */
function healthCommand(name: string): string[] {
  const test = compose.services[name].healthcheck!.test;
  const file = compose.services[name].environment?.RAYVAULT_HEALTH_FILE;
  const rewrite = (a: string) =>
    (file ? a.split(file).join(envs[name].RAYVAULT_HEALTH_FILE) : a).replace(
      /(127\.0\.0\.1|localhost):8080\b/g,
      `127.0.0.1:${apiPort}`,
    );
  if (test[0] === 'CMD') return test.slice(1).map(rewrite);
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', rewrite(test[1])];
  throw new Error(`${name}: healthcheck test must start with CMD or CMD-SHELL, got ${test[0]}`);
}

beforeAll(async () => {
  apiPort = await freePort();
  t = await createTestEnv('compose-rt', { DATABASE_URL: await blankDatabase() });
  scratch = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'image-home-'));
  install = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'image-app-'));
  await installLikeRuntimeStage(install);
});

afterAll(async () => {
  for (const s of [...started].reverse()) await stopService(s);
  for (const dir of [install, scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
});

it('installs dist/ and production dependencies only: no TypeScript sources, no tsx', () => {
  expect(npmInstallCommand()).toContain('--omit=dev');
  expect(existsSync(path.join(install, 'dist/ops-api.js'))).toBe(true);
  expect(existsSync(path.join(install, 'node_modules/tsx'))).toBe(false);
  const ts: string[] = [];
  const walk = (d: string) =>
    readdirSync(d, { withFileTypes: true }).forEach((e) => {
      if (e.name === 'node_modules') return;
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (/\.(ts|tsx|mts|cts)$/.test(e.name)) ts.push(path.relative(install, path.join(d, e.name)));
    });
  walk(install);
  expect(ts).toEqual([]);
});

it('starts every RayVault service with its compose command and environment, each healthy by its compose check, in depends_on order', async () => {
  expect(app.sort()).toEqual(['evidence-worker', 'notifier', 'ops-api', 'render-worker', 'scheduler']);
  const healthy = new Set<string>();
  while (healthy.size < app.length) {
    // Like compose: a service starts once every service it depends on is healthy.
    const wave = app.filter(
      (n) =>
        !healthy.has(n) &&
        !started.some((s) => s.name === n) &&
        Object.keys(compose.services[n].depends_on ?? {}).every((d) => !app.includes(d) || healthy.has(d)),
    );
    if (!wave.length) throw new Error(`depends_on cycle among ${app.filter((n) => !healthy.has(n)).join(', ')}`);
    await Promise.all(
      wave.map(async (name) => {
        const svc = compose.services[name];
        envs[name] = serviceEnv(name);
        const s = startService(name, svc.command!.map(interpolate), { cwd: install, env: envs[name] });
        started.push(s);
        const h = svc.healthcheck!;
        const deadline = (seconds(h.start_period) + seconds(h.interval ?? '30s') * (h.retries ?? 3)) * 1000;
        await waitHealthy(
          s,
          () => runCheck(healthCommand(name), envs[name], seconds(h.timeout ?? '30s') * 1000),
          deadline,
        );
        healthy.add(name);
      }),
    );
  }
  for (const s of started) expect([s.name, s.running()]).toEqual([s.name, true]);
});

it("passes the image's own HEALTHCHECK with its default CMD (the ops API)", async () => {
  const cmd = JSON.parse(ofOp(runtime, 'CMD').at(-1)!.args) as string[];
  const api = started.find((s) => s.name === 'ops-api');
  expect(compose.services['ops-api'].command!.map(interpolate)).toEqual(cmd);
  expect(api?.running()).toBe(true);
  const check = healthcheckOf(ofOp(runtime, 'HEALTHCHECK').at(-1)!.args);
  expect(await runCheck(check, envs['ops-api'], 5000)).toMatchObject({ ok: true });
});
