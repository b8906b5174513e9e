/** An amount of money; `currency` is an ISO 4217 code when the page says which. */
export type Money = { amount: number; currency: string | null };

// Longest symbols first: "R$" and "US$" before "$".
const SYMBOLS: ReadonlyArray<[string, string]> = [
  ['R$', 'BRL'],
  ['US$', 'USD'],
  ['C$', 'CAD'],
  ['A$', 'AUD'],
  ['€', 'EUR'],
  ['£', 'GBP'],
  ['¥', 'JPY'],
  ['$', 'USD'],
];

/** "EUR", " usd " → ISO code; anything else → null. */
export function normalizeCurrency(code: unknown): string | null {
  if (typeof code !== 'string') return null;
  const c = code.trim().toUpperCase();
  if (/^[A-Z]{3}$/.test(c)) return c;
  return SYMBOLS.find(([sym]) => sym === code.trim())?.[1] ?? null;
}

/**
 * Reads prices as shops write them: "1.299,00 €", "$1,299.00", "R$ 1.299,90",
 * "1299 EUR", 1299. With both separators the last one is the decimal mark; a
 * single separator followed by exactly three digits groups thousands.
 * `currency` (e.g. schema.org priceCurrency) wins over a symbol in the text.
 */
export function parseMoney(value: unknown, currency?: unknown): Money | null {
  const explicit = normalizeCurrency(currency);
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? { amount: round2(value), currency: explicit } : null;
  if (typeof value !== 'string') return null;
  const token = value
    .match(/\d[\d.,'\s\u00a0\u202f]*/)?.[0]
    ?.replace(/[\s\u00a0\u202f']/g, '')
    .replace(/[.,]+$/, '');
  if (!token) return null;
  const amount = Number(toPlainNumber(token));
  if (!Number.isFinite(amount)) return null;
  const code = value.match(/\b[A-Za-z]{3}\b/)?.[0];
  const fromText = (code && normalizeCurrency(code)) ?? SYMBOLS.find(([sym]) => value.includes(sym))?.[1] ?? null;
  return { amount: round2(amount), currency: explicit ?? fromText };
}

function toPlainNumber(token: string): string {
  const lastDot = token.lastIndexOf('.');
  const lastComma = token.lastIndexOf(',');
  if (lastDot >= 0 && lastComma >= 0) {
    const decimal = lastDot > lastComma ? '.' : ',';
    const group = decimal === '.' ? ',' : '.';
    return token.split(group).join('').replace(decimal, '.');
  }
  const sep = lastDot >= 0 ? '.' : lastComma >= 0 ? ',' : '';
  if (!sep) return token;
  const parts = token.split(sep);
  const groupsThousands = parts.length > 2 || parts[1].length === 3;
  return groupsThousands ? parts.join('') : parts.join('.');
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The claim text of a price: "1299.00 EUR" (amount with two decimals, then the currency or "???"). */
export function formatMoney(m: Money): string {
  return `${m.amount.toFixed(2)} ${m.currency ?? '???'}`;
}
