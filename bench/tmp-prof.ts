import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { readFileSync, readdirSync } from 'node:fs';
function cpuOf(pid: number): number { try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; } catch { return 0; } }
function tree(): Map<number, { ppid: number; cmd: string }> { const m = new Map(); for (const d of readdirSync('/proc')) { if (!/^\d+$/.test(d)) continue; try { const st = readFileSync(`/proc/${d}/stat`, 'utf8'); const ppid = Number(st.split(') ')[1].split(' ')[1]); m.set(Number(d), { ppid, cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') }); } catch {} } return m; }
function descendants(root: number): number[] { const t = tree(); const out = [root]; for (let i = 0; i < out.length; i++) for (const [pid, v] of t) if (v.ppid === out[i]) out.push(pid); return out; }
function cpuSnap(groups: Record<string, number[]>) { return Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.flatMap(descendants).reduce((n, p) => n + cpuOf(p), 0)])); }
import { createLogger, createRuntime, loadConfig, STAGES, submitRun } from '@rayvault/shared';
import { spawnTs, startBenchInfra, stopAll } from './infra';
async function main() {
  const infra = await startBenchInfra();
  const env = { REDIS_URL: infra.redisUrl, DATABASE_URL: infra.dbUrl, RAYVAULT_STATE_DIR: path.join(infra.dir, 'state'), RAYVAULT_LOG_LEVEL: 'error',
    RAYVAULT_QUEUE_PREFIX: '{bench}', RAYVAULT_LEASE_MS: '5000', RAYVAULT_PG_POOL: '20', RAYVAULT_SAMPLES: '0' };
  const db = new pg.Pool({ connectionString: infra.dbUrl, max: 2 });
  const rt = createRuntime(loadConfig(env, { useDotenv: false }), createLogger('bench', 'error'), { workerId: 'sub' });
  const RAW = !!process.env.RAW;
  db.on('error', () => undefined);
  const ours = STAGES.map((s) => spawnTs('bench/stage-worker.ts', { ...env, BENCH_STAGE: s, BENCH_MODE: RAW ? 'raw' : 'rayvault', }, process.env.PROF ? ['--cpu-prof', `--cpu-prof-dir=/tmp/prof/${s}`] : []));
  await Promise.all(ours.map((p) => p.ready));
  const N = Number(process.env.N ?? 1000);
  const { Redis } = await import('ioredis');
  const mon = process.env.MON ? await new Redis(infra.redisUrl).monitor() : new Redis(infra.redisUrl);
  const cmdCount = new Map<string, number>(); let lua = 0;
  mon.on('monitor', (_t: string, args: string[], src: string) => { if (src.startsWith('lua')) { lua++; return; } const k = args[0].toLowerCase() === 'evalsha' ? 'evalsha' : args[0].toLowerCase(); cmdCount.set(k, (cmdCount.get(k) ?? 0) + 1); });
  const kids = [...tree()].filter(([, v]) => v.ppid === process.pid);
  const groups = { stages: ours.map((p) => p.pid), total: [process.pid], redis: kids.filter(([, v]) => v.cmd.startsWith('redis')).map(([p]) => p), pg: kids.filter(([, v]) => v.cmd.includes('embedded-pg')).map(([p]) => p) };
  const c0 = cpuSnap(groups);
  const xid0 = Number((await db.query('SELECT pg_current_xact_id()::text::bigint AS x')).rows[0].x);
  const t0 = Date.now();
  const inflight: Promise<unknown>[] = [];
  const { Queue } = await import('bullmq');
  const rawFirst = new Queue('raw-evidence', { connection: mon, prefix: '{bench}' });
  if (RAW) for (let i = 0; i < N; i++) await rawFirst.add('evidence', { runId: `r${i}` }, { jobId: `r${i}-evidence`, removeOnComplete: true });
  else for (let i = 0; i < N; i++) { inflight.push(submitRun(rt, { product: { name: `b-${i}` }, actor: 'bench' })); if (inflight.length >= 50) await Promise.all(inflight.splice(0)); }
  await Promise.all(inflight);
  const tSub = Date.now() - t0;
  if (RAW) while ((await mon.hlen('{bench}:raw-done')) < N) await sleep(50);
  else while (Number((await db.query(`SELECT count(*) FROM runs WHERE status <> 'done'`)).rows[0].count) > 0) await sleep(50);
  await rawFirst.close();
  const xid1 = Number((await db.query('SELECT pg_current_xact_id()::text::bigint AS x')).rows[0].x);
  console.log('pg xacts per transition', (xid1 - xid0 - 1) / (N * 4), 'redis client cmds', Object.fromEntries([...cmdCount].map(([k, v]) => [k, v / (N * 4)])), 'lua', lua / (N * 4));
  mon.disconnect();
  const c1 = cpuSnap(groups); console.log('cpu ms per transition', Object.fromEntries(Object.keys(c0).map((k) => [k, ((c1[k] - c0[k]) * 1000 / (N * 4)).toFixed(2)])));
  console.log('submit ms', tSub, 'runs/s', Math.round(N / ((Date.now() - t0) / 1000)));
  await stopAll(ours);
  await rt.releasers.close(); await db.end(); await infra.stop(); process.exit(0);
}
void main();
