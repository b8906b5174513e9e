import { createHash } from 'node:crypto';

// The checksum of an applied migration covers what Postgres executes, not its
// comments or layout, so a file may gain a note or be reindented without
// tripping the edited-migration guard on every existing database.
// The normal form is stored in every install's schema_migrations: changing how
// it is computed changes every checksum, so treat it as frozen. That is also why
// this is a small tokenizer of our own rather than a minifier library whose
// output could shift with a version bump.

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** The checksum of a migration's SQL in normal form. */
export const migrationChecksum = (sql: string): string => sha256(normalizeSql(sql));

/** The checksum builds before the normal form stored: of the raw file text. */
export const rawTextChecksum = (sql: string): string => sha256(sql);

const IDENTIFIER_CHAR = /[\w$\u0080-\uffff]/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/y;
// A dollar-quoted string right after AS (CREATE FUNCTION … AS $$) or DO is a
// routine body; anywhere else it is data (a format string), kept whole.
const ROUTINE_BODY_FOLLOWS = /(?:^|[^\w$])(?:as|do)$/i;

/**
 * SQL with `--` and (nested) `/* *\/` comments removed and each run of
 * whitespace or comments collapsed to one space. Single-quoted strings (with
 * E'…' backslash escapes), double-quoted identifiers and dollar-quoted data are
 * kept byte for byte. Routine bodies are normalized too: ours are all `sql` or
 * `plpgsql`, whose comments and whitespace are SQL's, so a comment inside one
 * changes only the comments Postgres stores in prosrc, never what it runs.
 * An unterminated string or comment runs to the end, as Postgres reads it.
 */
export function normalizeSql(sql: string): string {
  let out = '';
  let gap = false; // whitespace or a comment since the last thing kept
  let i = 0;
  while (i < sql.length) {
    const skipped = skippedEnd(sql, i);
    if (skipped > i) {
      gap = true;
      i = skipped;
      continue;
    }
    const kept = keptAt(sql, i, out);
    out += (gap && out ? ' ' : '') + kept.text;
    gap = false;
    i = kept.end;
  }
  return out;
}

/** End of the whitespace character or comment at `i`; `i` when there is none. */
function skippedEnd(sql: string, i: number): number {
  if (/\s/.test(sql[i])) return i + 1;
  if (sql.startsWith('--', i)) return lineCommentEnd(sql, i);
  if (sql.startsWith('/*', i)) return blockCommentEnd(sql, i);
  return i;
}

/** The token piece at `i` as the normal form keeps it: a quoted string or identifier whole, else one character. */
function keptAt(sql: string, i: number, before: string): { end: number; text: string } {
  const c = sql[i];
  if (c === "'" || c === '"') {
    const end = quotedEnd(sql, i, c === "'" && isEscapeString(sql, i));
    return { end, text: sql.slice(i, end) };
  }
  const tag = c === '$' ? dollarTagAt(sql, i) : undefined;
  if (!tag) return { end: i + 1, text: c };
  const close = sql.indexOf(tag, i + tag.length);
  const end = close < 0 ? sql.length : close + tag.length;
  if (!ROUTINE_BODY_FOLLOWS.test(before)) return { end, text: sql.slice(i, end) };
  const body = sql.slice(i + tag.length, close < 0 ? sql.length : close);
  return { end, text: `${tag}${normalizeSql(body)}${close < 0 ? '' : tag}` };
}

function lineCommentEnd(sql: string, start: number): number {
  const newline = sql.indexOf('\n', start);
  return newline < 0 ? sql.length : newline;
}

function blockCommentEnd(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      i += 2;
      if (--depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** E'…' (not part of a longer word) takes backslash escapes; '' and "" are the quote doubled. */
function isEscapeString(sql: string, quote: number): boolean {
  return /[Ee]/.test(sql[quote - 1] ?? '') && !IDENTIFIER_CHAR.test(sql[quote - 2] ?? '');
}

function quotedEnd(sql: string, start: number, backslashEscapes: boolean): number {
  const quote = sql[start];
  let i = start + 1;
  while (i < sql.length) {
    if (backslashEscapes && sql[i] === '\\') i += 2;
    else if (sql[i] !== quote) i++;
    else if (sql[i + 1] === quote) i += 2;
    else return i + 1;
  }
  return sql.length;
}

/** The `$tag$` opening a dollar-quoted string at `i`, if one does (not `$1`, nor a `$` inside an identifier). */
function dollarTagAt(sql: string, i: number): string | undefined {
  if (IDENTIFIER_CHAR.test(sql[i - 1] ?? '')) return undefined;
  DOLLAR_TAG.lastIndex = i;
  return DOLLAR_TAG.exec(sql)?.[0];
}
