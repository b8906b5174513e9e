// The Makefile verbs of the operator manuals: each a thin call to the CLI.
import { spawnSync } from 'node:child_process';
import { createTestEnv, ROOT, type TestEnv } from '../support/harness';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('cli-make');
});

const make = (args: string[], env: Record<string, string> = {}) =>
  spawnSync('make', ['--no-print-directory', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...t.env, RAYVAULT_LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
  });
const plan = (...args: string[]) =>
  make(['-n', ...args])
    .stdout.trim()
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim());

it('each verb is the CLI call the manual describes', () => {
  const rv = 'npx --no-install rayvault';
  expect(plan('worker', 'WID=Mac-Ray-01')).toEqual([`${rv} worker --worker-id Mac-Ray-01`]);
  expect(plan('doctor')).toEqual([`${rv} replay-spool`, `${rv} doctor --health`]);
  expect(plan('baptism')).toEqual([`${rv} baptism`]);
  expect(plan('baptism-full', 'CONFIRM=YES')).toEqual([`${rv} baptism --full --confirm`]);
  expect(plan('baptism-full')).toEqual([`${rv} baptism --full`]); // the CLI then refuses: exit 2
  expect(plan('timeline', 'ID=RAY-99')).toEqual([`${rv} timeline RAY-99`]);
  expect(plan('report', 'ID=RAY-99', 'ARGS=--json')).toEqual([`${rv} report RAY-99 --json`]);
  expect(plan('orphans')).toEqual([`${rv} orphans`]);
  expect(plan('clean')).toEqual([`${rv} clean`]);
  expect(plan('clean-hard')).toEqual([`${rv} clean --hard`]);
  expect(plan('clean-zombies')).toEqual([`${rv} clean --zombies`]);
  expect(plan('clean-zombies-delete', 'CONFIRM=YES')).toEqual([`${rv} clean --zombies --delete --confirm`]);
  expect(plan('maintenance')).toEqual([`${rv} maintenance`]);
  expect(plan('test')).toEqual(['npm test']);
  expect(plan('start')).toEqual(['npm start']);
  expect(plan('status')).toEqual([`${rv} queues`, `${rv} runs --limit 10`, `${rv} index refresh --dry-run`]);
});

it('a verb missing its argument says which', () => {
  const r = make(['report']);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('ID is required: make report ID=<run id>');
  expect(make(['worker']).stderr).toContain('WID is required');
});

it('runs the real CLI: orphans as JSON, and a delete that is not confirmed is refused', () => {
  const orphans = make(['-s', 'orphans', 'ARGS=--json']);
  expect(orphans.status).toBe(0);
  expect(JSON.parse(orphans.stdout)).toMatchObject({ files: 0, orphans: [] });
  const del = make(['-s', 'clean-zombies-delete']);
  expect(del.status).not.toBe(0);
  expect(del.stderr).toMatch(/add --confirm \(make clean-zombies-delete CONFIRM=YES\)/);
});
