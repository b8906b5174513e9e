// The single-machine operator's day, with the CLI only: submit the bundled
// samples, run every stage in one process (`rayvault worker --once`), read the
// outcome, decide the gate, and check the contract and the report.
import { createTestEnv, type TestEnv } from '../support/harness';
import { json, rayvault } from './cli-kit';

jest.setTimeout(180_000);
let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('cli-worker');
});

it('consistent sample: worker --once takes it to done; check-contract and report agree', async () => {
  const run = json<{ id: string }>(await rayvault(t, ['runs', 'create', '--sample', 'consistent', '--json']));
  const worker = await rayvault(t, ['worker', '--worker-id', 'Mac-Ray-01', '--once']);
  expect(worker.code).toBe(0);
  expect(json<{ status: string }>(await rayvault(t, ['run', run.id, '--json'])).status).toBe('done');
  const contract = await rayvault(t, ['check-contract', run.id]);
  expect(contract.code).toBe(0);
  expect(contract.stdout).toMatch(/READY/);
  const report = json<{ quality: unknown }>(await rayvault(t, ['report', run.id, '--json']));
  expect(report).toHaveProperty('quality');
});

it('conflict sample: the worker stops at the gate; approve from the CLI; the next worker finishes it', async () => {
  const run = json<{ id: string }>(await rayvault(t, ['runs', 'create', '--sample', 'conflict', '--json']));
  expect((await rayvault(t, ['worker', '--worker-id', 'Mac-Ray-01', '--once'])).code).toBe(0);
  const gated = json<{ status: string; events: Array<{ type: string; payload: { diff?: Array<{ field: string }> } }> }>(
    await rayvault(t, ['run', run.id, '--json']),
  );
  expect(gated.status).toBe('waiting_approval');
  expect(gated.events.find((e) => e.type === 'gate_opened')!.payload.diff!.map((d) => d.field)).toContain('price');
  const refused = await rayvault(t, ['approve', run.id]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/reason/i);
  expect((await rayvault(t, ['approve', run.id, '--reason', 'maker price is current'])).code).toBe(0);
  expect((await rayvault(t, ['worker', '--worker-id', 'Mac-Ray-01', '--once'])).code).toBe(0);
  expect(json<{ status: string }>(await rayvault(t, ['run', run.id, '--json'])).status).toBe('done');
});
