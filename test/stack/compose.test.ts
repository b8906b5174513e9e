// No Docker engine runs here, so the compose file is checked as data: the
// properties `docker compose up` and `--scale render-worker=N` rely on.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../support/harness';
import { copyOf, envOf, ofOp, parseDockerfile } from './dockerfile-reader';

type Service = {
  build?: string;
  image?: string;
  command?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  container_name?: string;
  env_file?: unknown;
  environment?: Record<string, string>;
};
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const s = compose.services;
const APP = ['ops-api', 'evidence-worker', 'render-worker', 'scheduler', 'notifier'];

it('has Redis, Postgres and the five services, each with a health check and restart policy', () => {
  expect(Object.keys(s).sort()).toEqual([
    'evidence-worker',
    'notifier',
    'ops-api',
    'postgres',
    'redis',
    'render-worker',
    'scheduler',
  ]);
  for (const [name, svc] of Object.entries(s)) {
    expect([name, svc.healthcheck?.test?.length ?? 0]).not.toEqual([name, 0]);
    expect([name, svc.restart]).toEqual([name, 'unless-stopped']);
  }
});

it('runs Redis with AOF and noeviction', () => {
  expect(s.redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']));
});

it('starts in order db -> redis -> api -> workers -> scheduler -> notifier, on healthy dependencies', () => {
  const deps = (n: string) => Object.keys(s[n].depends_on ?? {});
  expect(deps('redis')).toEqual(['postgres']);
  expect(deps('ops-api').sort()).toEqual(['postgres', 'redis']);
  expect(deps('evidence-worker')).toEqual(['ops-api']);
  expect(deps('render-worker')).toEqual(['ops-api']);
  expect(deps('scheduler').sort()).toEqual(['evidence-worker', 'render-worker']);
  expect(deps('notifier')).toEqual(['scheduler']);
  for (const svc of Object.values(s))
    for (const d of Object.values(svc.depends_on ?? {})) expect(d.condition).toBe('service_healthy');
});

it('builds the app services from this repository with a shared state volume and .env support', () => {
  for (const n of APP) {
    expect(s[n].build).toBe('.');
    expect(s[n].volumes).toContain('state:/state');
    expect(s[n].env_file).toBeDefined();
  }
  expect(compose.volumes).toHaveProperty('state');
});

it('binds published ports to 127.0.0.1 by default, and workers publish none (so --scale works)', () => {
  expect(s['ops-api'].ports).toEqual(['${RAYVAULT_BIND:-127.0.0.1}:${RAYVAULT_API_PORT:-8080}:8080']);
  for (const n of ['evidence-worker', 'render-worker', 'scheduler', 'notifier']) {
    expect(s[n].ports).toBeUndefined();
    expect(s[n].container_name).toBeUndefined();
  }
});

// That these commands start healthy from the image's install is test/stack/compose-runtime.test.ts.
it('runs every app service from the built output with plain node, never tsx or a TypeScript source', () => {
  const flag = '--max-semi-space-size=${RAYVAULT_SEMI_SPACE_MB:-1}';
  for (const n of APP) expect([n, s[n].command]).toEqual([n, ['node', flag, `dist/${n}.js`]]);
});

it("gives each service the V8 flag npm start gives it: the 1 MB young generation, V8's 16 MB with tracing", () => {
  // The supervisor is an ES module that jest cannot load: node answers for it.
  const serviceNodeFlags = (env: Record<string, string>): string[] =>
    JSON.parse(
      execFileSync(process.execPath, [
        '--input-type=module',
        '-e',
        `import { serviceNodeFlags } from ${JSON.stringify(path.join(ROOT, 'scripts/stack/supervisor.mjs'))};
         console.log(JSON.stringify(serviceNodeFlags(${JSON.stringify(env)})));`,
      ]).toString(),
    ) as string[];
  const composeFlag = (vars: Record<string, string>) =>
    s['ops-api'].command![1]!.replace(/\$\{(\w+):-([^}]*)\}/, (_m, k: string, d: string) => vars[k] ?? d);
  const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
  expect(serviceNodeFlags({})).toEqual([composeFlag({})]);
  expect(serviceNodeFlags(otlp)).toEqual([composeFlag({ RAYVAULT_SEMI_SPACE_MB: '16' })]);
  expect(serviceNodeFlags({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toEqual(
    serviceNodeFlags(otlp),
  );
  expect(serviceNodeFlags({ ...otlp, OTEL_SDK_DISABLED: 'true' })).toEqual(serviceNodeFlags({}));
});

describe('the Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const runtime = stages.at(-1)!;

  it('builds in a build stage (all dependencies, then npm run build) and runs from node:20-bookworm-slim', () => {
    expect(stages.map((st) => st.name)).toEqual(['build', 'runtime']);
    const buildRuns = ofOp(stages[0], 'RUN').map((r) => r.args);
    expect(buildRuns).toEqual(
      expect.arrayContaining([expect.stringMatching(/^npm install\b(?!.*--omit)/), 'npm run build']),
    );
    expect(runtime.image).toBe('node:20-bookworm-slim');
    expect(ofOp(runtime, 'RUN')[0].args).toMatch(
      /apt-get install -y --no-install-recommends ffmpeg espeak-ng chromium curl ca-certificates/,
    );
  });

  it('gives the runtime stage package manifests and dist/ from the build stage only, never the sources', () => {
    const copies = ofOp(runtime, 'COPY').map((c) => copyOf(c.args));
    for (const c of copies) expect(c.from).toBe('build');
    const sources = copies.flatMap((c) => c.sources);
    expect(sources).toContain('/app/dist');
    for (const src of sources) expect(src).toMatch(/^\/app\/(dist|package-lock\.json|(.+\/)?package\.json)$/);
  });

  it('runs as the node user with production settings, the ops API by default, and a health check', () => {
    expect(ofOp(runtime, 'USER').at(-1)?.args).toBe('node');
    expect(Object.assign({}, ...ofOp(runtime, 'ENV').map((e) => envOf(e.args)))).toMatchObject({
      RAYVAULT_STATE_DIR: '/state',
      CHROMIUM_PATH: '/usr/bin/chromium',
      NODE_ENV: 'production',
    });
    expect(JSON.parse(ofOp(runtime, 'CMD').at(-1)!.args)).toEqual([
      'node',
      '--max-semi-space-size=1',
      'dist/ops-api.js',
    ]);
    expect(ofOp(runtime, 'HEALTHCHECK').at(-1)?.args).toMatch(
      /CMD curl -fsS "http:\/\/127\.0\.0\.1:\$\{RAYVAULT_API_PORT:-8080\}\/readyz"/,
    );
  });

  it('keeps local node_modules, dist/, state/, .git and .env out of the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    expect(ignored).toEqual(
      expect.arrayContaining(['node_modules', '**/node_modules', 'dist', 'state', '.git', '.env']),
    );
  });
});
