// No Docker engine runs here, so the compose file is checked as data: the
// properties `docker compose up` and `--scale render-worker=N` rely on.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../support/harness';

type Service = { build?: string; image?: string; command?: string[]; ports?: string[]; healthcheck?: { test: string[] }; restart?: string;
  depends_on?: Record<string, { condition: string }>; volumes?: string[]; container_name?: string; env_file?: unknown; environment?: Record<string, string> };
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const s = compose.services;
const APP = ['ops-api', 'evidence-worker', 'render-worker', 'scheduler', 'notifier'];

it('has Redis, Postgres and the five services, each with a health check and restart policy', () => {
  expect(Object.keys(s).sort()).toEqual(['evidence-worker', 'notifier', 'ops-api', 'postgres', 'redis', 'render-worker', 'scheduler']);
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
  for (const svc of Object.values(s)) for (const d of Object.values(svc.depends_on ?? {})) expect(d.condition).toBe('service_healthy');
});

it('builds the app services from this repository with a shared state volume and .env support', () => {
  for (const n of APP) {
    expect(s[n].build).toBe('.');
    expect(s[n].volumes).toContain('state:/state');
    expect(s[n].env_file).toBeDefined();
    const entry = s[n].command!.at(-1)!;
    expect(readFileSync(path.join(ROOT, entry), 'utf8').length).toBeGreaterThan(0);
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
