import type { FileEntry } from '@rayvault/shared';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { EXIT, printJson, UsageError, withRuntime } from '../context';
import { baptismText, runBaptism } from '../housekeeping/baptism';
import { cleanState, type CleanReport } from '../housekeeping/clean-state';
import { cleanZombies, type ZombieReport } from '../housekeeping/clean-zombies';
import { refreshIndex, type RefreshReport } from '../housekeeping/index-refresh';
import { findOrphans } from '../housekeeping/orphans';

const out = (s: string): void => void process.stdout.write(s + '\n');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const age = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : `${Math.round(s / 60)} min`);

/** A bar on stderr for long hashing, only for a human at a terminal. */
function progress(label: string, json: boolean) {
  let bar: SingleBar | null = null;
  const tick =
    json || !process.stderr.isTTY
      ? undefined
      : (done: number, total: number) => {
          if (!bar) {
            bar = new SingleBar(
              { format: `${label} [{bar}] {value}/{total}`, stream: process.stderr },
              Presets.shades_classic,
            );
            bar.start(total, 0);
          }
          bar.update(done);
        };
  return { tick, stop: () => bar?.stop() };
}

function printOrphans(list: FileEntry[]) {
  for (const f of list) out(`  ${age(f.age_s).padStart(8)}  ${mb(f.bytes).padStart(9)}  ${f.path}`);
}

/** What housekeeping refused to touch (links, places outside the state dir), each with why. */
function printSkipped(list: { path: string; reason: string }[]) {
  if (list.length) out(`skipped ${list.length} path(s), left untouched:`);
  for (const s of list) out(`  SKIPPED  ${s.path}  (${s.reason})`);
}

function printRefresh(r: RefreshReport) {
  out(
    `index${r.dry_run ? ' (dry run)' : ''}: ${r.checked} indexed, ${r.ok} ok, ${r.missing.length} missing, ${r.mismatched.length} mismatched, ` +
      `${r.refused.length} refused, ${r.relinked.length} ${r.dry_run ? 'to relink' : 'relinked'}, ${r.added.length} ${r.dry_run ? 'to add' : 'added'}, ` +
      `${r.probe_failed.length} probe_failed (${r.hashed} hashed, ${r.probed} probed${r.force ? ', --force' : ''})`,
  );
  const rows: [string, { path: string; reason?: string }[]][] = [
    ['MISSING', r.missing],
    ['MISMATCH', r.mismatched],
    ['REFUSED', r.refused],
    [
      'RELINKED',
      r.relinked.map((l) => ({
        path: l.path,
        reason: `was ${l.from}; run ${l.run_id} segment ${l.segment}, same sha256${l.legacy ? ', legacy name' : ''}`,
      })),
    ],
    [
      'ADDED',
      r.added.map((a) => ({
        path: a.path,
        reason: `run ${a.run_id} segment ${a.segment}${a.legacy ? ' (legacy name)' : ''}`,
      })),
    ],
    ['ORPHAN', r.unattributed],
    ['PROBE', r.probe_changes.map((c) => ({ path: c.path, reason: `${c.was ?? 'no metadata'} -> ${c.now}` }))],
    ['PROBE_FAILED', r.probe_failed],
  ];
  for (const [tag, list] of rows)
    for (const p of list) out(`  ${tag.padEnd(8)} ${p.path}${p.reason ? `  (${p.reason})` : ''}`);
  if (r.unprobed)
    out(
      `  ${r.unprobed} entr${r.unprobed === 1 ? 'y has' : 'ies have'} no probe metadata: rayvault index refresh probes them`,
    );
  if (r.probe_failed.length) {
    out(
      '  probe_failed: check `ffprobe -version`, then make maintenance (re-probes; an IO race resolves); ' +
        "if it persists, the studio's export/codec settings are at fault",
    );
  }
}

function printClean(r: CleanReport) {
  const verb = r.dry_run ? 'would remove' : 'removed';
  out(
    `clean (${r.level}${r.dry_run ? ', dry run' : ''}): ${verb} ${r.removed.length} item(s), ${mb(r.freed_bytes)}; final files untouched`,
  );
  for (const i of r.removed) out(`  ${i.kind.padEnd(10)} ${i.path}  (${i.reason})`);
  for (const k of r.kept) out(`  kept       ${k.path}  (${k.reason})`);
  printSkipped(r.skipped);
}

function printZombies(z: ZombieReport) {
  const verb =
    z.mode === 'delete' ? (z.dry_run ? 'would delete' : 'deleted') : z.dry_run ? 'would quarantine' : 'quarantined';
  out(
    `zombies: ${verb} ${z.acted.length} orphan(s) older than ${z.older_than_h} h${z.mode === 'quarantine' ? ` (to ${z.quarantine_dir})` : ''}; ${z.younger} younger kept`,
  );
  for (const a of z.acted) out(`  ${age(a.age_s).padStart(8)}  ${a.from}${a.to ? ` -> ${a.to}` : ''}`);
  printSkipped(z.skipped);
}

function cleanOptions(o: {
  hard?: boolean;
  zombies?: boolean;
  delete?: boolean;
  confirm?: boolean;
  dryRun?: boolean;
  olderThan?: string;
}) {
  if (o.hard && o.zombies) throw new UsageError('--hard and --zombies are separate levels: run them one at a time');
  if (o.delete && !o.zombies)
    throw new UsageError('--delete only applies to --zombies (clean --zombies --delete --confirm)');
  if (o.olderThan !== undefined && !o.zombies) throw new UsageError('--older-than only applies to --zombies');
  if (o.delete && !o.confirm && !o.dryRun) {
    throw new UsageError(
      'deleting orphans cannot be undone: add --confirm (make clean-zombies-delete CONFIRM=YES), or preview with --dry-run',
    );
  }
  const olderThanH = o.olderThan === undefined ? undefined : Number(o.olderThan);
  if (olderThanH !== undefined && !(olderThanH >= 0))
    throw new UsageError(`--older-than takes hours (a number >= 0), got '${o.olderThan}'`);
  return { olderThanH };
}

/** `rayvault orphans`: final files the index does not name. */
function registerOrphans(program: Command): void {
  program
    .command('orphans')
    .description('files in the final dir that the video index does not name, with their age')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const r = await withRuntime((rt) => findOrphans(rt));
      if (o.json) return printJson(r);
      if (!r.orphans.length) out(`no orphans: ${r.files} file(s) in ${r.final_dir}, all indexed`);
      else {
        out(
          `${r.orphans.length} orphan(s) of ${r.files} file(s) in ${r.final_dir} (${mb(r.orphan_bytes)}), oldest first:`,
        );
        printOrphans(r.orphans);
      }
      printSkipped(r.skipped);
    });
}

/** `rayvault clean`: the safe, --hard and --zombies levels. */
function registerClean(program: Command): void {
  program
    .command('clean')
    .description(
      'safe: staging/temp leftovers, stale pid files, empty dirs (final files never); --hard: also caches; ' +
        '--zombies: quarantine orphans older than 6 h; --zombies --delete --confirm: delete orphans older than 48 h',
    )
    .option('--hard', 'also remove state/cache')
    .option('--zombies', 'act on orphans of the final dir')
    .option('--delete', 'with --zombies: delete instead of quarantine')
    .option('--confirm', 'required by --delete')
    .option('--older-than <hours>', 'with --zombies: age threshold (default 6, or 48 with --delete)')
    .option('--dry-run', 'show what would be done, do nothing')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { olderThanH } = cleanOptions(o);
      if (o.zombies) {
        const z = await withRuntime((rt) => cleanZombies(rt, { delete: !!o.delete, dryRun: !!o.dryRun, olderThanH }));
        return o.json ? printJson(z) : printZombies(z);
      }
      const r = await withRuntime((rt) => cleanState(rt, { hard: !!o.hard, dryRun: !!o.dryRun }));
      if (r.refused) process.exitCode = EXIT.failed;
      if (o.json) return printJson(r);
      if (r.refused)
        return void process.stderr.write(`rayvault: clean --hard refused, nothing removed: ${r.refused}\n`);
      printClean(r);
    });
}

/** `rayvault index refresh`: verify, relink and add to the video index. */
function registerIndexRefresh(program: Command): void {
  program
    .command('index')
    .description('the video index (artifacts)')
    .command('refresh')
    .description(
      'verify every indexed file (exists, size, sha256, ffprobe), relink renamed ones, index unlisted final files; ' +
        'exit 1 while anything is missing, mismatched, refused or probe_failed',
    )
    .option(
      '--force',
      're-hash and re-probe every file (default: hash files changed since indexed; probe entries without metadata, failed or changed)',
    )
    .option('--allow-missing-sha8', 'accept legacy names without sha8 (<run8>-segNN.mp4)')
    .option('--dry-run', 'report only: add, relink and probe nothing (shows the probe state the index holds)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const bar = progress('hashing', !!o.json);
      const r = await withRuntime((rt) =>
        refreshIndex(rt, {
          force: !!o.force,
          allowMissingSha8: !!o.allowMissingSha8,
          dryRun: !!o.dryRun,
          onProgress: bar.tick,
        }),
      ).finally(bar.stop);
      if (!r.consistent) process.exitCode = EXIT.failed;
      return o.json ? printJson(r) : printRefresh(r);
    });
}

/** `rayvault maintenance`: index refresh plus a dry-run of every cleanup. */
function registerMaintenance(program: Command): void {
  program
    .command('maintenance')
    .description(
      'index refresh (re-probes missing metadata, probe_failed and changed files) + dry-run cleanup (safe and zombies) ' +
        '+ a short report; exit 1 when the index is inconsistent',
    )
    .option('--json', 'print JSON')
    .action(async (o) => {
      const bar = progress('hashing', !!o.json);
      const r = await withRuntime(async (rt) => ({
        index: await refreshIndex(rt, { onProgress: bar.tick }).finally(bar.stop),
        clean: await cleanState(rt, { dryRun: true }),
        zombies: await cleanZombies(rt, { dryRun: true }),
        orphans: await findOrphans(rt),
      }));
      if (!r.index.consistent) process.exitCode = EXIT.failed;
      if (o.json) return printJson(r);
      printRefresh(r.index);
      printClean(r.clean);
      printZombies(r.zombies);
      out(`orphans: ${r.orphans.orphans.length} of ${r.orphans.files} final file(s) (rayvault orphans)`);
    });
}

/** `rayvault baptism`: the readiness checks, levels A and B. */
function registerBaptism(program: Command): void {
  program
    .command('baptism')
    .description(
      'level A (no worker): infra, migrations, index, skip, orphans; --full --confirm: level B after kill tests ' +
        '(also checkpoints, spool, pid files). Report in state/baptism/; exit 1 on any FAIL',
    )
    .option('--full', 'level B')
    .option('--confirm', 'required by --full')
    .option('--json', 'print JSON')
    .action(async (o) => {
      if (o.full && !o.confirm)
        throw new UsageError(
          'baptism --full validates recovery after kill tests: add --confirm (make baptism-full CONFIRM=YES)',
        );
      const r = await withRuntime((rt) => runBaptism(rt, { full: !!o.full }));
      if (r.verdict === 'FAIL') process.exitCode = EXIT.failed;
      if (o.json) return printJson(r);
      process.stdout.write(baptismText(r));
      out(`report: ${r.files?.txt}`);
    });
}

export function registerHousekeeping(program: Command): void {
  registerOrphans(program);
  registerClean(program);
  registerIndexRefresh(program);
  registerMaintenance(program);
  registerBaptism(program);
}
