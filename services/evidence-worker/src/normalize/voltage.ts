// Linear by construction: whitespace is collapsed to single spaces first, so
// no two quantifiers can trade the same characters, and a number may not
// start inside another number (the lookbehind), so each start position costs
// a bounded amount of work. (The old `\s*…\s?…\s*` pattern backtracked for
// minutes on a meta tag holding a megabyte of spaces.)
const NUM = String.raw`(?<![\d.,])(\d{1,6}(?:[.,]\d{1,3})?)`;
const UNIT = String.raw`(?:v(?:olts?)?|vac|vdc|v ?ac|v ?dc)`;
const RANGE = new RegExp(String.raw`${NUM} ?${UNIT}? ?(?:-|–|—|~|to|a|até) ?${NUM} ?${UNIT}(?![a-z])`, 'i');
const SINGLE = new RegExp(String.raw`${NUM} ?${UNIT}(?![a-z])`, 'i');
const BARE = /^\d{1,6}(?:[.,]\d{1,3})?$/;

/**
 * Voltage as one comparable text: "110-240V" for a range ("110 – 240 V",
 * "100~240VAC", "110 to 240 volts"), "230V" for one value. A bare number
 * counts as volts only when `unitKnown` (e.g. schema.org unitCode VLT).
 */
export function normalizeVoltage(value: unknown, unitKnown = false): string | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? `${trim(value)}V` : null;
  if (typeof value !== 'string') return null;
  const text = value.replace(/\s+/g, ' ').trim();
  const range = text.match(RANGE);
  if (range) {
    const [lo, hi] = [num(range[1]), num(range[2])].sort((a, b) => a - b);
    return lo === hi ? `${trim(lo)}V` : `${trim(lo)}-${trim(hi)}V`;
  }
  const single = text.match(SINGLE);
  if (single) return `${trim(num(single[1]))}V`;
  if (unitKnown && BARE.test(text)) return `${trim(num(text))}V`;
  return null;
}

const num = (s: string) => Number(s.trim().replace(',', '.'));
const trim = (n: number) => String(Math.round(n * 100) / 100);
