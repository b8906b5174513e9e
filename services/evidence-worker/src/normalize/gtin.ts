/** GTIN-8, UPC-A (12), EAN-13 and GTIN-14. */
const LENGTHS = new Set([8, 12, 13, 14]);

/** Digits only: "4 006381 33393-1" → "4006381333931". */
export function gtinDigits(value: unknown): string {
  return typeof value === 'number'
    ? String(Math.trunc(value))
    : typeof value === 'string'
      ? value.replace(/\D/g, '')
      : '';
}

/** GS1 check digit: weights 3,1,3,… from the right, excluding the check digit itself. */
export function isValidGtin(digits: string): boolean {
  if (!/^\d+$/.test(digits) || !LENGTHS.has(digits.length)) return false;
  const body = digits.slice(0, -1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += Number(body[body.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10 === Number(digits.at(-1));
}

/** The same article written as GTIN-8/12/13/14 compares equal: padded to 14 digits. */
export function gtinKey(digits: string): string {
  return digits.padStart(14, '0');
}
