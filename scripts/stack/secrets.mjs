// The local stack's secrets (Redis and Postgres passwords, the admin token,
// state/stack.env): files only their owner can read, created with that mode
// from the first byte, so no other local user ever sees them, and never
// printed in full.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

/** A directory only its owner can enter (created so, or tightened when an older start left it open). */
export function privateDir(dir) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

/**
 * Writes `content` to `file` with mode 0600: a new file opened with `wx` and
 * that mode (never world-readable, not even for a moment), then renamed over
 * the old one, so a file an older start left open is replaced, not reused.
 */
export function writeSecretFile(file, content) {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * The secret kept in `file`, made on the first call (32 random bytes,
 * base64url: safe in URLs and config files). `created` says whether this call
 * made it. An existing file is tightened to 0600 and must be a regular file.
 */
export function readOrCreateSecret(file) {
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (!st) {
    const value = randomBytes(32).toString('base64url');
    writeSecretFile(file, value + '\n');
    return { value, created: true };
  }
  if (!st.isFile())
    throw new Error(`${file} is not a regular file (a link?): remove it and start again to make a new secret`);
  if ((st.mode & 0o077) !== 0) chmodSync(file, 0o600);
  const value = readFileSync(file, 'utf8').trim();
  if (!value) throw new Error(`${file} is empty: remove it and start again to make a new secret`);
  return { value, created: false };
}

/** A log file of the stack, 0600 (a server may log a statement that names a secret). */
export function privateLog(file) {
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  return file;
}

/** `redis://:secret@host:port` -> `redis://:***@host:port`: addresses to print, never credentials. */
export function maskUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** `path` relative to `root` when inside it (shorter to print), else absolute. */
export const shown = (root, p) => (p.startsWith(root + path.sep) ? path.relative(root, p) : p);
