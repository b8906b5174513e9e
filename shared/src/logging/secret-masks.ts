/**
 * What counts as a secret in a log line, and how it is masked. Two nets:
 * by shape (a field named like a credential, userinfo in a URL, a bot token,
 * a credential in a query string or an Authorization value) wherever it sits,
 * and by value (this process's own configured secrets, remembered when the
 * configuration is parsed) in the finished line.
 */

/** Field names whose values never reach a log line, at any depth. */
export const SECRET_KEY =
  /pass(?:word|wd|phrase)?$|secret|token|authori[sz]ation|cookie|api[-_]?key|service[-_]?(?:role[-_]?)?key|private[-_]?key|credential|^(?:DATABASE_URL|REDIS_URL)$/i;
/** …except ids and counts of such things (`tokenId`, `token_count`), which are plain facts an operator needs. */
const PLAIN_FACT = /(?:_id|Id|_ids|Ids|_count|Count)$/;

export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key) && !PLAIN_FACT.test(key);

/** scheme://user:password@host → scheme://user:***@host (the last @ of the authority, so an unescaped @ in a password is covered). */
const URL_USERINFO = /\b([a-z][\w+.-]*:\/\/)([^\s/?#"']*)@/gi;
/** Telegram bot tokens: in Bot API paths (`/bot<id>:<secret>`) and bare. */
const BOT_PATH = /bot\d+:[A-Za-z0-9_-]+/g;
const BOT_TOKEN = /\b\d{5,}:[A-Za-z0-9_-]{30,}/g;
/** ?password=…, &token=…, &apikey=…, &sig=… in URLs and form bodies. */
const QUERY_SECRET =
  /([?&;](?:key|[\w.-]*?(?:pass(?:word|wd)?|token|secret|api[-_]?key|sig|signature|auth)[\w.-]*)=)[^&#\s"']+/gi;
const AUTH_VALUE = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=:-]{6,}/gi;

/** Masks credentials recognisable by their shape; cheap tests first, since most strings have none. */
export function maskSecrets(text: string): string {
  let out = text;
  if (out.includes('://') && out.includes('@')) {
    out = out.replace(
      URL_USERINFO,
      (_m, scheme: string, info: string) =>
        `${scheme}${info.includes(':') ? `${info.slice(0, info.indexOf(':'))}:***` : '***'}@`,
    );
  }
  if (out.includes(':')) out = out.replace(BOT_PATH, 'bot***').replace(BOT_TOKEN, '***');
  if (out.includes('=')) out = out.replace(QUERY_SECRET, '$1***');
  if (/bearer|basic/i.test(out)) out = out.replace(AUTH_VALUE, '$1 ***');
  return out;
}

/**
 * Secrets shorter than this are masked only where their shape gives them away:
 * a short value could be an ordinary word of a log line (the embedded
 * Postgres's `postgres` password), and masking it everywhere would blind the
 * logs without protecting much.
 */
export const MIN_VALUE_LENGTH = 12;
const known = new Set<string>();
let knownList: string[] = [];

/** Adds values to mask wherever they appear in this process's log lines (as written and JSON-escaped). */
export function rememberSecrets(values: Iterable<string | undefined | null>): void {
  const before = known.size;
  for (const v of values) {
    if (!v || v.length < MIN_VALUE_LENGTH) continue;
    known.add(v);
    known.add(JSON.stringify(v).slice(1, -1));
  }
  // Longest first, so a secret containing another is masked whole.
  if (known.size !== before) knownList = [...known].sort((a, b) => b.length - a.length);
}

/** The finished line with every remembered secret replaced by `***`; a line with none is returned as is. */
export function maskKnownSecrets(line: string): string {
  let out = line;
  for (const v of knownList) if (out.includes(v)) out = out.split(v).join('***');
  return out;
}

/** Secret values of a parsed configuration: variables named like credentials, and passwords inside *_URL values. */
export function configSecrets(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== 'string') continue;
    if (isSecretKey(key) && !/_URL$/.test(key)) out.push(value);
    if (/_URL$/.test(key)) out.push(...urlSecrets(value));
  }
  return out;
}

function urlSecrets(value: string): string[] {
  try {
    const u = new URL(value);
    const found = [u.password, safeDecode(u.password)];
    for (const [k, v] of u.searchParams) if (isSecretKey(k)) found.push(v);
    return found.filter(Boolean);
  } catch {
    return [];
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
