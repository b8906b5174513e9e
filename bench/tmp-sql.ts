import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startBenchInfra } from './infra';
async function main() {
  const infra = await startBenchInfra();
  const c = new pg.Client({ connectionString: infra.dbUrl }); await c.connect();
  await c.query(readFileSync('/tmp/sqlnew.sql', 'utf8'));
  const bpid = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p;
  const cpu = () => { const f = readFileSync(`/proc/${bpid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
  const stages = ['evidence', 'voice', 'render', 'qc'];
  { const t0 = cpu(); for (let i = 0; i < 6000; i++) await c.query({ name: 's1', text: 'SELECT $1::int AS r', values: [i] }); console.log('select1 backend cpu us', (cpu() - t0) * 1000 / 6000); }
  { const id = randomUUID(); await c.query('SELECT rv_create_run($1, $2, $3, $4, $5)', [id, '{"name":"x"}', '{}', 'b', `${id}:created`]);
    const t0 = cpu(); for (let i = 0; i < 3000; i++) await c.query({ name: 's2', text: 'SELECT rv_get_run(p_run => $1) AS r', values: [id] }); console.log('get_run backend cpu us', (cpu() - t0) * 1000 / 3000);
    const t1 = cpu(); for (let i = 0; i < 3000; i++) await c.query({ name: 's3', text: "UPDATE runs SET updated_at = now() WHERE id = $1", values: [id] }); console.log('update backend cpu us', (cpu() - t1) * 1000 / 3000); }
  for (const suffix of ['', '2']) {
    const N = 1500; const ids = Array.from({ length: N }, () => randomUUID());
    for (const id of ids) await c.query('SELECT rv_create_run($1, $2, $3, $4, $5)', [id, '{"name":"x"}', '{}', 'b', `${id}:created`]);
    const t0 = process.hrtime.bigint(); const c0 = cpu();
    for (const id of ids) for (let i = 0; i < 4; i++) {
      const cl = (await c.query({ name: `c${suffix}`, text: `SELECT rv_claim_stage${suffix}(p_run => $1, p_stage => $2, p_attempt => $3, p_worker => $4, p_event_id => $5) AS r`, values: [id, stages[i], 1, 'w', randomUUID()] })).rows[0].r;
      await c.query({ name: `d${suffix}`, text: `SELECT rv_complete_stage${suffix}(p_run => $1, p_stage => $2, p_fence => $3, p_output => $4, p_next => $5, p_event_id => $6) AS r`, values: [id, stages[i], cl.run.fence, null, stages[i + 1] ?? null, `${id}:${i}:complete`] });
    }
    console.log(suffix || 'old', 'us per transition', Number(process.hrtime.bigint() - t0) / 1000 / (N * 4), 'backend cpu us', (cpu() - c0) * 1000 / (N * 4));
  }
  await c.end(); await infra.stop(); process.exit(0);
}
void main();
