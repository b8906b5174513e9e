// orphans, index refresh, clean (safe, hard, zombies) and maintenance through
// the real CLI, on a temp state dir and the harness's Postgres and Redis.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Runtime } from '@rayvault/shared';
import { createTestEnv, testRuntime, type TestEnv } from '../support/harness';
import { ageHours, deadPid, indexFinal, json, rayvault, writeFinal, writeRaw } from './cli-kit';
import { flipMiddleByte, writeVideo, writeVideoFinal } from './video-kit';

let t: TestEnv;
let rt: Runtime;
let runId: string;
const final = (...p: string[]) => path.join(t.stateDir, 'final', ...p);
const state = (...p: string[]) => path.join(t.stateDir, ...p);

beforeAll(async () => {
  t = await createTestEnv('cli-hk');
  rt = testRuntime(t, 'cli-hk');
  runId = (await rt.store.createRun({ product: { name: 'Kettle' }, actor: 'test' })).id;
});
afterAll(() => rt.releasers.close());
beforeEach(async () => {
  for (const d of ['final', 'quarantine', 'staging', 'cache', 'pids', 'checkpoints'])
    rmSync(state(d), { recursive: true, force: true });
  await rt.pool.query('DELETE FROM artifacts');
});

/** Two indexed finals of the run, segments 1 and 2 (real videos: index refresh probes them). */
async function indexedPair() {
  const a = writeVideoFinal(t.stateDir, runId, 1, 'video one');
  const b = writeVideoFinal(t.stateDir, runId, 2, 'video two');
  await indexFinal(rt.pool, runId, 1, a);
  await indexFinal(rt.pool, runId, 2, b);
  return [a, b];
}

it('orphans lists final files the index does not name, oldest first, with their age', async () => {
  await indexedPair();
  const old = writeFinal(t.stateDir, runId, 7, 'left by a crash');
  ageHours(old.path, 7);
  const fresh = writeRaw(final('notes.txt'), 'x');
  const text = await rayvault(t, ['orphans']);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain(`2 orphan(s) of 4 file(s) in ${final()}`);
  expect(text.stdout.indexOf(old.path)).toBeLessThan(text.stdout.indexOf(fresh));
  expect(text.stdout).toMatch(/7\.0 h .*left|7\.0 h/);
  const r = json(await rayvault(t, ['orphans', '--json']));
  expect(r).toMatchObject({ files: 4, indexed: 2 });
  expect(r.orphans.map((o: { path: string }) => o.path)).toEqual([old.path, fresh]);
  expect(r.orphans[0].age_s).toBeGreaterThanOrEqual(7 * 3600 - 60);
});

it('index refresh passes a healthy index and catches a tampered file, a missing one and bad names', async () => {
  const [a, b] = await indexedPair();
  const ok = await rayvault(t, ['index', 'refresh']);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/2 indexed, 2 ok, 0 missing, 0 mismatched, 0 refused/);

  flipMiddleByte(a.path, a.bytes); // same size, other bytes, written after it was indexed
  rmSync(b.path);
  const bad = await rayvault(t, ['index', 'refresh', '--json']);
  expect(bad.code).toBe(1);
  const r = json(bad);
  expect(r.consistent).toBe(false);
  expect(r.mismatched).toEqual([
    expect.objectContaining({ path: a.path, reason: expect.stringMatching(/content changed/) }),
  ]);
  expect(r.missing).toEqual([expect.objectContaining({ path: b.path, run_id: runId, segment: 2 })]);
});

it('index refresh re-hashes files that look unchanged only with --force', async () => {
  const [a] = await indexedPair();
  flipMiddleByte(a.path, a.bytes);
  ageHours(a.path, 24); // tampered, then back-dated: mtime says nothing changed
  expect((await rayvault(t, ['index', 'refresh'])).code).toBe(0);
  const forced = await rayvault(t, ['index', 'refresh', '--force']);
  expect(forced.code).toBe(1);
  expect(forced.stdout).toMatch(
    new RegExp(`MISMATCH ${a.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  \\(content changed`),
  );
  expect(forced.stdout).toMatch(/2 hashed, 2 probed, --force/); // --force re-probes every file too
});

it('index refresh adds proven finals, refuses names without sha8 unless --allow-missing-sha8', async () => {
  await indexedPair();
  const found = writeVideoFinal(t.stateDir, runId, 3, 'rendered, never indexed');
  const legacy = writeVideo(final(`${runId.slice(0, 8)}-seg04.mp4`), 'legacy render').path;
  const liar = writeRaw(final(`${runId.slice(0, 8)}-seg05-00000000.mp4`), 'sha8 does not match');

  const refused = json(await rayvault(t, ['index', 'refresh', '--dry-run', '--json']));
  expect(refused.refused.map((p: { path: string }) => p.path)).toEqual([legacy]);
  expect(refused.mismatched.map((p: { path: string }) => p.path)).toEqual([liar]);
  expect(refused.added).toEqual([expect.objectContaining({ path: found.path, segment: 3, sha256: found.sha256 })]);
  expect((await rt.pool.query('SELECT 1 FROM artifacts WHERE segment = 3')).rowCount).toBe(0); // dry run

  rmSync(liar);
  const allowed = await rayvault(t, ['index', 'refresh', '--allow-missing-sha8', '--json']);
  expect(allowed.code).toBe(0);
  expect(json(allowed).added.map((a: { path: string; legacy: boolean }) => [a.path, a.legacy])).toEqual([
    [found.path, false],
    [legacy, true],
  ]);
  const { rows } = await rt.pool.query(`SELECT segment, meta FROM artifacts WHERE run_id = $1 ORDER BY segment`, [
    runId,
  ]);
  expect(rows.map((r) => r.segment)).toEqual([1, 2, 3, 4]);
  expect(json(await rayvault(t, ['orphans', '--json'])).orphans).toEqual([]);
});

it('clean (safe) removes exactly the leftovers and never a final file', async () => {
  const [a] = await indexedPair();
  const orphan = writeFinal(t.stateDir, runId, 9, 'orphan');
  ageHours(orphan.path, 100);
  const done = (await rt.store.createRun({ product: {}, actor: 'test' })).id;
  const panicked = (await rt.store.createRun({ product: {}, actor: 'test' })).id;
  await rt.pool.query(`UPDATE runs SET status = 'done', stage = 'qc' WHERE id = $1`, [done]);
  await rt.pool.query(`UPDATE runs SET status = 'panic', stage = 'render' WHERE id = $1`, [panicked]);
  await rt.pool.query(`UPDATE runs SET status = 'running', stage = 'render', fence = 5 WHERE id = $1`, [runId]);
  const gone = [
    writeRaw(state('staging/render', done, 'seg-01.f2/partial.mp4'), 'p'),
    writeRaw(state('staging/render', runId, 'seg-01.f4/partial.mp4'), 'earlier claim'),
    writeRaw(state('checkpoints', `${runId}.json.${await deadPid()}.tmp`), '{'),
    writeRaw(state('pids/Mac-Ray-02.pid'), String(await deadPid())),
    writeRaw(state('checkpoints', `${done}.json`), '{}'),
  ];
  mkdirSync(state('staging/render/empty/deeper'), { recursive: true });
  const kept = [
    writeRaw(state('staging/render', runId, 'seg-01.f5/partial.mp4'), 'current claim'),
    writeRaw(state('staging/render', panicked, 'seg-02.f1/partial.mp4'), 'for inspection'),
    writeRaw(state('pids/Mac-Ray-01.pid'), String(process.pid)),
    writeRaw(state('checkpoints', `${runId}.json`), '{}'),
    writeRaw(state('cache/voice/abc.wav'), 'w'),
    a.path,
    orphan.path,
  ];

  const dry = json(await rayvault(t, ['clean', '--dry-run', '--json']));
  expect(dry).toMatchObject({ level: 'safe', dry_run: true });
  expect([...gone, ...kept].every((f) => existsSync(f))).toBe(true);

  const r = await rayvault(t, ['clean']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/clean \(safe\): removed \d+ item\(s\)/);
  expect(gone.filter((f) => existsSync(f))).toEqual([]);
  expect(existsSync(state('staging/render', done))).toBe(false);
  expect(existsSync(state('staging/render/empty'))).toBe(false);
  expect(kept.filter((f) => !existsSync(f))).toEqual([]);
  expect(r.stdout).toContain(`kept       ${state('staging/render', panicked)}  (run is panic`);
  await rt.pool.query(`UPDATE runs SET status = 'queued', stage = 'evidence' WHERE id = $1`, [runId]);
  await rt.pool.query(`UPDATE runs SET status = 'aborted' WHERE id = $1`, [panicked]);
});

it('clean --hard also empties the cache, refused while a run still needs it', async () => {
  const [a] = await indexedPair();
  const wav = writeRaw(state('cache/voice/abc.wav'), 'w');
  await rt.pool.query(`UPDATE runs SET status = 'running', stage = 'render' WHERE id = $1`, [runId]);
  const refused = await rayvault(t, ['clean', '--hard']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/clean --hard refused, nothing removed: 1 run\(s\) at voice\/render/);
  expect(existsSync(wav)).toBe(true);

  await rt.pool.query(`UPDATE runs SET status = 'queued', stage = 'evidence' WHERE id = $1`, [runId]);
  const r = json(await rayvault(t, ['clean', '--hard', '--json']));
  expect(r).toMatchObject({ level: 'hard', refused: null });
  expect(r.removed).toEqual(
    expect.arrayContaining([expect.objectContaining({ kind: 'cache', path: state('cache/voice') })]),
  );
  expect(existsSync(wav)).toBe(false);
  expect(existsSync(a.path)).toBe(true);
});

it('clean --zombies quarantines orphans older than 6 h; --delete needs --confirm and takes those older than 48 h', async () => {
  const [a] = await indexedPair();
  ageHours(a.path, 100);
  const [young, old, ancient] = [1, 7, 50].map((h, i) => {
    const f = writeFinal(t.stateDir, runId, 10 + i, `orphan ${h} h`);
    ageHours(f.path, h);
    return f.path;
  });
  const qOld = state('quarantine', path.basename(old));

  expect(json(await rayvault(t, ['clean', '--zombies', '--dry-run', '--json'])).acted).toHaveLength(2);
  expect(existsSync(old)).toBe(true);
  const q = await rayvault(t, ['clean', '--zombies']);
  expect(q.code).toBe(0);
  expect(q.stdout).toMatch(/quarantined 2 orphan\(s\) older than 6 h .*; 1 younger kept/);
  expect([existsSync(young), existsSync(old), existsSync(ancient), existsSync(qOld), existsSync(a.path)]).toEqual([
    true,
    false,
    false,
    true,
    true,
  ]);
  expect(readdirSync(state('quarantine')).sort()).toEqual([path.basename(old), path.basename(ancient)].sort());

  const unconfirmed = await rayvault(t, ['clean', '--zombies', '--delete']);
  expect(unconfirmed.code).toBe(2);
  expect(unconfirmed.stderr).toMatch(/add --confirm/);
  expect(existsSync(state('quarantine', path.basename(ancient)))).toBe(true);

  const del = json(await rayvault(t, ['clean', '--zombies', '--delete', '--confirm', '--json']));
  expect(del).toMatchObject({ mode: 'delete', older_than_h: 48 });
  expect(del.acted.map((x: { from: string }) => x.from)).toEqual([state('quarantine', path.basename(ancient))]);
  expect([existsSync(young), existsSync(qOld), existsSync(a.path)]).toEqual([true, true, true]);

  const custom = json(await rayvault(t, ['clean', '--zombies', '--older-than', '0.5', '--json']));
  expect(custom.acted.map((x: { from: string }) => x.from)).toEqual([young]);
});

it('bad usage exits 2 with a message', async () => {
  for (const args of [
    ['clean', '--hard', '--zombies'],
    ['clean', '--delete', '--confirm'],
    ['clean', '--zombies', '--older-than', 'soon'],
    ['index'],
    ['clean', '--bogus'],
  ]) {
    const r = await rayvault(t, args);
    expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
    expect(r.stderr.length).toBeGreaterThan(0);
  }
});

it('maintenance refreshes the index, previews the cleanup and changes no file', async () => {
  await indexedPair();
  const orphan = writeVideoFinal(t.stateDir, runId, 20, 'old orphan');
  ageHours(orphan.path, 8);
  const stale = writeRaw(state('pids/Mac-Ray-03.pid'), String(await deadPid()));
  const r = json(await rayvault(t, ['maintenance', '--json']));
  expect(r.index).toMatchObject({ consistent: true, checked: 2 });
  // a proven file joins the index
  expect(r.index.added).toEqual([expect.objectContaining({ path: orphan.path, segment: 20 })]);
  expect(r.clean).toMatchObject({ dry_run: true, removed: [expect.objectContaining({ kind: 'pid', path: stale })] });
  expect(r.zombies).toMatchObject({ dry_run: true, mode: 'quarantine' });
  expect(existsSync(stale)).toBe(true);
  const text = await rayvault(t, ['maintenance']);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^index: 3 indexed, 3 ok/m);
  expect(text.stdout).toMatch(/^clean \(safe, dry run\): would remove 1 item/m);
  expect(text.stdout).toMatch(/^orphans: 0 of 3 final file\(s\)/m);
});
