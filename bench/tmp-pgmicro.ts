import pg from 'pg';
import { startBenchInfra } from './infra';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
async function main() {
  const infra = await startBenchInfra();
  const N = 20000;
  const q = (c: { query: pg.Pool['query'] }, i: number) => c.query({ name: 'p1', text: 'SELECT $1::int + 1 AS r', values: [i] });
  for (const mode of ['pool', 'pipe1', 'pipe2', 'pool', 'pipe1']) {
    let run: (i: number) => Promise<unknown>; let close: () => Promise<void>;
    if (mode === 'pool') { const p = new pg.Pool({ connectionString: infra.dbUrl, max: 20 }); run = (i) => q(p, i); close = () => p.end(); }
    else { const n = mode === 'pipe1' ? 1 : 2; const cs = await Promise.all(Array.from({ length: n }, async () => { const c = new pg.Client({ connectionString: infra.dbUrl, pipeline: true } as pg.ClientConfig); await c.connect(); return c; })); run = (i) => q(cs[i % n] as never, i); close = async () => { await Promise.all(cs.map((c) => c.end())); }; }
    await Promise.all(Array.from({ length: 100 }, (_, i) => run(i)));
    const c0 = cpu(); const t0 = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: 50 }, async () => { while (next < N) await run(next++); }));
    const ms = Date.now() - t0;
    console.log(mode, 'q/s', Math.round(N / ms * 1000), 'client cpu us/q', ((cpu() - c0) * 1000 / N).toFixed(1));
    await close();
  }
  await infra.stop(); process.exit(0);
}
void main();
