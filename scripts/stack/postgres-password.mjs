// The embedded Postgres's superuser password. A cluster made by an older
// `npm start` still has the well-known password `postgres`: the first start
// after the upgrade logs in with it once and replaces it with the generated
// one, so an upgrade neither locks the operator out nor keeps the weak one.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';

/** What every cluster made before the upgrade was initialised with. */
export const LEGACY_PASSWORD = 'postgres';
const INVALID_PASSWORD = '28P01';

/**
 * A connected superuser client on `url` (which names no password) using
 * `password`; when the cluster still has the legacy password, it is replaced
 * first. `onNote` hears what was done. Anything else is refused, with the next
 * step for the operator.
 */
export async function connectSecured(url, password, onNote = () => {}) {
  const client = await tryConnect(url, password);
  if (client) return client;
  const legacy = await tryConnect(url, LEGACY_PASSWORD);
  if (!legacy) {
    throw new Error(
      'the embedded Postgres in state/postgres accepts neither the password in state/secrets/postgres-password nor the old default. ' +
        'Restore that file from a backup, or move state/postgres away to start with an empty database.',
    );
  }
  // A SCRAM verifier, not the password: the statement may reach the server log.
  await legacy.query(`ALTER ROLE postgres PASSWORD ${legacy.escapeLiteral(scramVerifier(password))}`);
  await legacy.end();
  onNote('replaced the old default Postgres password with the generated one (state/secrets/postgres-password)');
  const upgraded = await tryConnect(url, password);
  if (!upgraded) throw new Error('the new Postgres password was set but does not log in: see state/postgres.log');
  return upgraded;
}

/** A connected client, or null when the server refused this password (any other error is thrown). */
async function tryConnect(url, password) {
  const client = new pg.Client({ connectionString: withPassword(url, password) });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    if (err?.code === INVALID_PASSWORD) return null;
    throw err;
  }
}

/** `url` with `password` in it (a password option would lose to the URL's empty one). */
export function withPassword(url, password) {
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/**
 * The SCRAM-SHA-256 verifier Postgres stores for `password` (RFC 5802/7677,
 * the format `psql \password` sends). The password is base64url, so SASLprep
 * leaves it unchanged.
 */
export function scramVerifier(password, iterations = 4096) {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (key, text) => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
