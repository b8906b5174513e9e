// Symlink attacks on housekeeping: links planted in the state dir (a file, a
// directory, a whole state subdir) that name files elsewhere. `clean` must
// never move or delete what a link points at, and must say what it skipped.
// The "elsewhere" is this test's own temp dir; the state dir is the harness's.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Runtime } from '@rayvault/shared';
import { createTestEnv, testRuntime, type TestEnv } from '../support/harness';
import { ageHours, json, rayvault, writeFinal, writeRaw } from '../cli/cli-kit';

let t: TestEnv;
let rt: Runtime;
let runId: string;
let outside: string;
const state = (...p: string[]) => path.join(t.stateDir, ...p);

beforeAll(async () => {
  t = await createTestEnv('symlinks');
  rt = testRuntime(t, 'symlinks');
  runId = (await rt.store.createRun({ product: { name: 'Kettle' }, actor: 'test' })).id;
});
afterAll(() => rt.releasers.close());
beforeEach(() => {
  for (const d of ['final', 'quarantine', 'staging', 'cache', 'tmp'])
    rmSync(state(d), { recursive: true, force: true });
  outside = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'outside-'));
});
afterEach(() => rmSync(outside, { recursive: true, force: true }));

type Bait = { path: string; content: string };
/** A file outside the state dir, old enough for every clean threshold. */
function bait(rel: string): Bait {
  const file = writeRaw(path.join(outside, rel), `not yours: ${rel}`);
  ageHours(file, 100);
  return { path: file, content: `not yours: ${rel}` };
}
const damaged = (files: Bait[]) =>
  files.filter((f) => !existsSync(f.path) || readFileSync(f.path, 'utf8') !== f.content).map((f) => f.path);
const link = (target: string, at: string) => {
  mkdirSync(path.dirname(at), { recursive: true });
  symlinkSync(target, at);
  return at;
};
/** A real orphan in state/final, old enough to be quarantined and deleted. */
function realOrphan(segment: number): string {
  const f = writeFinal(t.stateDir, runId, segment, `orphan ${segment}`);
  ageHours(f.path, 100);
  return f.path;
}
const skippedPaths = (r: { skipped: { path: string }[] }) => r.skipped.map((s) => s.path);

describe('clean --zombies against links planted in the state dir', () => {
  it('a link in state/final to an outside file: the file is untouched, the link is skipped and reported', async () => {
    const target = bait('secret.mp4');
    const planted = link(target.path, state('final', `${runId.slice(0, 8)}-seg40-deadbeef.mp4`));
    const orphan = realOrphan(41);

    const q = json(await rayvault(t, ['clean', '--zombies', '--json']));
    expect(q.acted.map((a: { from: string }) => a.from)).toEqual([orphan]);
    expect(q.skipped).toEqual([
      { path: planted, reason: expect.stringMatching(/^symbolic link to .*secret\.mp4: links are never followed/) },
    ]);
    const text = await rayvault(t, ['clean', '--zombies', '--delete', '--confirm']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`SKIPPED  ${planted}  (symbolic link to ${target.path}`);
    expect(damaged([target])).toEqual([]);
  });

  it('a linked directory inside state/final: the files behind it are neither quarantined nor deleted', async () => {
    const files = [bait('dir/a.mp4'), bait('dir/deeper/b.mp4')];
    const planted = link(path.join(outside, 'dir'), state('final', 'sub'));

    const q = json(await rayvault(t, ['clean', '--zombies', '--json']));
    expect(q.acted).toEqual([]);
    expect(skippedPaths(q)).toEqual([planted]);
    const d = json(await rayvault(t, ['clean', '--zombies', '--delete', '--confirm', '--json']));
    expect(d.acted).toEqual([]);
    expect(damaged(files)).toEqual([]);
    expect(existsSync(state('quarantine'))).toBe(false);
  });

  it('state/final itself a link to an outside directory: nothing there is moved or deleted', async () => {
    const files = [bait('final/c.mp4'), bait('final/d.mp4')];
    rmSync(state('final'), { recursive: true, force: true });
    link(path.join(outside, 'final'), state('final'));

    const q = json(await rayvault(t, ['clean', '--zombies', '--json']));
    expect(q.acted).toEqual([]);
    expect(q.skipped).toEqual([{ path: state('final'), reason: expect.stringMatching(/^symbolic link to /) }]);
    expect(json(await rayvault(t, ['orphans', '--json']))).toMatchObject({
      files: 0,
      skipped: [{ path: state('final') }],
    });
    json(await rayvault(t, ['clean', '--zombies', '--delete', '--confirm', '--json']));
    expect(damaged(files)).toEqual([]);
  });

  it('state/quarantine a link to an outside directory: orphans are not moved there, files there are not deleted', async () => {
    const kept = bait('q/already-there.mp4');
    link(path.join(outside, 'q'), state('quarantine'));
    const orphan = realOrphan(42);

    const q = json(await rayvault(t, ['clean', '--zombies', '--json']));
    expect(q.acted).toEqual([]);
    expect(q.skipped).toEqual([
      { path: orphan, reason: expect.stringMatching(/^quarantine refused: symbolic link to /) },
    ]);
    expect(existsSync(orphan)).toBe(true);
    expect(readdirSync(path.join(outside, 'q'))).toEqual(['already-there.mp4']);

    const d = json(await rayvault(t, ['clean', '--zombies', '--delete', '--confirm', '--json']));
    expect(d.acted.map((a: { from: string }) => a.from)).toEqual([orphan]); // a real orphan of the state dir still goes
    expect(skippedPaths(d)).toContain(state('quarantine'));
    expect(damaged([kept])).toEqual([]);
  });
});

describe('clean (safe and --hard) against linked state subdirs', () => {
  it('state/staging a link to an outside directory: a run-named dir there is not removed', async () => {
    const files = [bait(`staging/render/${randomUUID()}/seg-01.f1/partial.mp4`)];
    link(path.join(outside, 'staging'), state('staging'));

    const r = json(await rayvault(t, ['clean', '--json']));
    expect(r.removed).toEqual([]);
    expect(r.skipped).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: expect.stringMatching(/outside the state dir/) })]),
    );
    expect(damaged(files)).toEqual([]);
  });

  it('state/tmp and state/cache links to outside directories: old files there survive clean --hard', async () => {
    const files = [bait('tmp/old.bin'), bait('cache/voice/abc.wav')];
    link(path.join(outside, 'tmp'), state('tmp'));
    link(path.join(outside, 'cache'), state('cache'));

    const text = await rayvault(t, ['clean', '--hard']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/removed 0 item\(s\)/);
    expect(text.stdout).toContain(`SKIPPED  ${state('tmp')}  (symbolic link to`);
    expect(text.stdout).toMatch(/SKIPPED {2}\S*cache\/voice {2}\(.*outside the state dir/);
    expect(damaged(files)).toEqual([]);
  });
});
