// `npm start`: one command from a fresh clone to a running stack. Installs
// what is missing, uses REDIS_URL / DATABASE_URL when set or starts local
// ones under state/, migrates, supervises every service, submits the sample
// runs, prints the addresses, and stops everything cleanly on Ctrl-C.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const { plan, task } = await import('./stack/progress.mjs');
plan(7);
await task('npm dependencies', () => {
  if (existsSync(path.join(root, 'node_modules/.package-lock.json')) && existsSync(path.join(root, 'node_modules/tsx')))
    return 'already installed';
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return 'installed';
});

await task('build (dist/)', async () => {
  const { build, staleReason } = await import('./build.mjs');
  const reason = staleReason();
  if (!reason) return 'up to date';
  const started = Date.now();
  await build();
  return `built in ${Date.now() - started} ms (${reason})`;
});

const dotenv = await import('dotenv');
dotenv.config({ quiet: true });
const env = { ...process.env };
// Empty counts as unset: path.resolve('') would put the state in the checkout itself.
const stateDir = path.resolve(env.RAYVAULT_STATE_DIR || './state');
mkdirSync(stateDir, { recursive: true });
const { maskUrl, privateLog, readOrCreateSecret, shown, writeSecretFile } = await import('./stack/secrets.mjs');
// 0600: a server may log a statement or an address that names a secret.
const logFile = (name) => {
  const file = privateLog(path.join(stateDir, `${name}.log`));
  return (line) => writeFileSync(file, line, { flag: 'a' });
};

const { missingTools, installTools, chromiumNote } = await import('./stack/tools.mjs');
await task('system tools (redis-server, ffmpeg, ffprobe, espeak-ng)', () => installTools(missingTools(env)));
const chromium = chromiumNote(env);
if (chromium) process.stdout.write(`  note: ${chromium}\n`);

const { startRedis, startPostgres } = await import('./stack/infra.mjs');
const stops = [];
// If this process dies of an error, the servers it started must not outlive it.
const children = [];
let sup = null;
process.on('exit', () => {
  for (const c of [...(sup?.services.map((s) => s.proc) ?? []), ...children])
    try {
      c?.kill('SIGTERM');
    } catch {
      /* already gone */
    }
});
// A failed step (or any error) stops what was started, in reverse order and
// waiting for each (Postgres shuts down cleanly), then exits 1.
let failing = false;
process.on('uncaughtException', (err) => {
  process.stderr.write(`\nnpm start failed: ${err?.stack ?? err}\n`);
  if (failing) return;
  failing = true;
  void (async () => {
    await sup?.stopAll().catch(() => undefined);
    for (const [name, stop] of [...stops].reverse()) {
      process.stdout.write(`supervisor      | stopping ${name}\n`);
      await stop().catch(() => undefined);
    }
    process.exit(1);
  })();
});
await task('Redis', async () => {
  if (env.REDIS_CLUSTER_NODES) return `using the Redis Cluster of REDIS_CLUSTER_NODES`;
  if (env.REDIS_URL) return `using REDIS_URL`;
  const redis = await startRedis(stateDir, logFile('redis'));
  stops.push(['redis', redis.stop]);
  children.push(redis.proc);
  env.REDIS_URL = redis.url;
  return `local ${maskUrl(redis.url)} (password in state/secrets/redis-password, AOF, data in state/redis)`;
});
await task('Postgres', async () => {
  if (env.DATABASE_URL) return 'using DATABASE_URL';
  const notes = [];
  const pgServer = await startPostgres(
    stateDir,
    logFile('postgres'),
    (n) => notes.push(n),
    (m) => process.stdout.write(`  ${m}\n`),
  );
  stops.push(['postgres', pgServer.stop]);
  children.push(pgServer.proc);
  env.DATABASE_URL = pgServer.url;
  const data = pgServer.relocated
    ? `data in ${pgServer.dataDir}, linked from state/postgres: the postgres user cannot reach state/ (a parent directory is private)`
    : 'data in state/postgres';
  return `embedded on ${new URL(pgServer.url).port} (password in state/secrets/postgres-password, ${data})${notes.map((n) => `; ${n}`).join('')}`;
});

// The CLI reads this file too, so `npx rayvault ...` sees the same stack. Its URLs carry the passwords: 0600.
const stackVars = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_PASSWORD', 'DATABASE_URL'].filter((k) => env[k]);
writeSecretFile(path.join(stateDir, 'stack.env'), stackVars.map((k) => `${k}=${env[k]}\n`).join(''));
const tokenFile = path.join(stateDir, 'admin-token');
// Shown once, on the start that made it; afterwards only where it is kept (a terminal's scrollback and CI logs are not
// secret).
let tokenLine = `from RAYVAULT_ADMIN_TOKEN`;
if (!env.RAYVAULT_ADMIN_TOKEN) {
  const token = readOrCreateSecret(tokenFile);
  env.RAYVAULT_ADMIN_TOKEN = token.value;
  tokenLine = token.created
    ? `${token.value}   (shown this once; saved in ${shown(root, tokenFile)})`
    : `in ${shown(root, tokenFile)} (not shown again)`;
}
const cli = (...args) =>
  execFileSync(process.execPath, [path.join(root, 'cli/bin/rayvault'), ...args], { env, encoding: 'utf8' });

const { createSupervisor } = await import('./stack/supervisor.mjs');
const graceMs = Number(env.RAYVAULT_SHUTDOWN_GRACE_MS ?? 20000) + 5000;
sup = createSupervisor({ root, env, graceMs });
const port = Number(env.RAYVAULT_API_PORT ?? 8080);
let shuttingDown = false;
async function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  process.stdout.write(`\n${signal}: stopping services in reverse order...\n`);
  await sup.stopAll();
  for (const [name, stop] of stops.reverse()) {
    process.stdout.write(`supervisor      | stopping ${name}\n`);
    await stop().catch(() => undefined);
  }
  process.stdout.write('all stopped\n');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

/** A stage worker's id under npm start: `<RAYVAULT_WORKER_ID>-<service>`, or `<service>-1`. */
const workerIdOf = (name) => (env.RAYVAULT_WORKER_ID ? `${env.RAYVAULT_WORKER_ID}-${name}` : `${name}-1`);

// "Running" means the stage workers have registered, not only that they were
// spawned: an operator's first `rayvault doctor` must see them.
async function workersRegistered(names) {
  const ids = names.map(workerIdOf);
  const launched = Date.now();
  const deadline = launched + 30000;
  while (Date.now() < deadline) {
    // A record left by an earlier start (or a killed worker) has an older heartbeat than this launch.
    const fresh = (w) => w.state !== 'stopped' && w.heartbeat_age_ms <= Date.now() - launched + 1000;
    const seen = await fetch(`http://127.0.0.1:${port}/health`, {
      headers: { authorization: `Bearer ${env.RAYVAULT_ADMIN_TOKEN}` },
    })
      .then(
        (r) => r.json(),
        () => ({}),
      )
      .then(
        (h) => new Set((h.workers ?? []).filter(fresh).map((w) => w.id)),
        () => new Set(),
      );
    if (ids.every((id) => seen.has(id))) return `workers registered (${ids.join(', ')})`;
    await new Promise((r) => setTimeout(r, 200));
  }
  return `workers not registered within 30 s (their log lines above say why)`;
}

await task('migrations and services', async () => {
  // As compose orders them: the API first — it applies the migrations at its
  // start and its /readyz is what readiness means — then the workers, the
  // scheduler and the notifier, which need the schema and no CPU from it meanwhile.
  const [first, ...rest] = ['ops-api', 'evidence-worker', 'render-worker', 'scheduler', 'notifier'];
  const launch = (name) =>
    sup.start(name, `dist/${name}.js`, name.endsWith('worker') ? { RAYVAULT_WORKER_ID: workerIdOf(name) } : {});
  const api = launch(first);
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (api.restarts > 0)
      throw new Error(
        'ops-api stopped before it was ready: a migration or the configuration failed (its log lines above say which)',
      );
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) {
      rest.forEach(launch);
      return `ready on port ${port}; ${await workersRegistered(rest.filter((n) => n.endsWith('worker')))}`;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  rest.forEach(launch);
  throw new Error('ops-api did not become ready within 60 s (see its log lines above)');
});

await task('sample runs', () => {
  const marker = path.join(stateDir, '.samples-submitted');
  if (env.RAYVAULT_SAMPLES === '0') return 'skipped (RAYVAULT_SAMPLES=0)';
  if (existsSync(marker)) return 'already submitted in this state dir';
  const ids = ['consistent', 'conflict'].map((s) => JSON.parse(cli('runs', 'create', '--sample', s, '--json')).id);
  writeFileSync(marker, ids.join('\n'));
  return `consistent ${ids[0]}, conflict ${ids[1]}`;
});

process.stdout.write(`
RayVault is running.
  dashboard   http://127.0.0.1:${port}/
  Bull Board  http://127.0.0.1:${port}/admin/queues
  metrics     http://127.0.0.1:${port}/metrics
  admin token ${tokenLine}
  CLI         npx rayvault doctor --health
Ctrl-C stops everything.
`);
