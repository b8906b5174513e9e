const NUM = String.raw`(\d+(?:[.,]\d+)?)`;
const UNIT = String.raw`(?:v(?:olts?)?|vac|vdc|v\s?ac|v\s?dc)`;
const RANGE = new RegExp(String.raw`${NUM}\s*${UNIT}?\s*(?:-|–|—|~|to|a|até)\s*${NUM}\s*${UNIT}(?![a-z])`, 'i');
const SINGLE = new RegExp(String.raw`${NUM}\s*${UNIT}(?![a-z])`, 'i');

/**
 * Voltage as one comparable text: "110-240V" for a range ("110 – 240 V",
 * "100~240VAC", "110 to 240 volts"), "230V" for one value. A bare number
 * counts as volts only when `unitKnown` (e.g. schema.org unitCode VLT).
 */
export function normalizeVoltage(value: unknown, unitKnown = false): string | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? `${trim(value)}V` : null;
  if (typeof value !== 'string') return null;
  const range = value.match(RANGE);
  if (range) {
    const [lo, hi] = [num(range[1]), num(range[2])].sort((a, b) => a - b);
    return lo === hi ? `${trim(lo)}V` : `${trim(lo)}-${trim(hi)}V`;
  }
  const single = value.match(SINGLE);
  if (single) return `${trim(num(single[1]))}V`;
  if (unitKnown && /^\s*\d+(?:[.,]\d+)?\s*$/.test(value)) return `${trim(num(value))}V`;
  return null;
}

const num = (s: string) => Number(s.trim().replace(',', '.'));
const trim = (n: number) => String(Math.round(n * 100) / 100);
