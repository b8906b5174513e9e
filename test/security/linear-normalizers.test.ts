// The normalisers are linear on their own, not only behind the field-length cap:
// a megabyte of the inputs that make a backtracking regex explode (a number, then
// a run of whitespace with no unit; long digit runs; separators) comes back at
// once. The pattern of 7242fda (`\d+…\s*UNIT?\s*…`) spent minutes on the first
// of them, so the generous bound below only catches a regex that is no longer
// linear; it is not a speed target.
import { normalizeCompatibility } from '../../services/evidence-worker/src/normalize/compatibility';
import { gtinDigits } from '../../services/evidence-worker/src/normalize/gtin';
import { normalizeCurrency, parseMoney } from '../../services/evidence-worker/src/normalize/money';
import { normalizeVoltage } from '../../services/evidence-worker/src/normalize/voltage';

const MB = 1024 * 1024;
const HOSTILE: Record<string, string> = {
  'a number, then a megabyte of spaces': `1${' '.repeat(MB)}x`,
  'a number, then a megabyte of tabs and new lines': `230${'\t\n'.repeat(MB / 2)}-`,
  'a megabyte of digits': '9'.repeat(MB),
  'a megabyte of "1 v "': '1 v '.repeat(MB / 4),
  'a megabyte of "1.1-"': '1.1-'.repeat(MB / 4),
  'a megabyte of separators and spaces': ', ;| \n'.repeat(MB / 6),
};

const NORMALIZERS: Record<string, (s: string) => unknown> = {
  normalizeVoltage: (s) => normalizeVoltage(s),
  'normalizeVoltage (unit known)': (s) => normalizeVoltage(s, true),
  parseMoney: (s) => parseMoney(s, 'EUR'),
  normalizeCurrency: (s) => normalizeCurrency(s),
  gtinDigits: (s) => gtinDigits(s),
  normalizeCompatibility: (s) => normalizeCompatibility(s),
};

const cases = Object.entries(NORMALIZERS).flatMap(([fn, f]) =>
  Object.entries(HOSTILE).map(([input, text]) => [fn, input, f, text] as const),
);

describe('normalisers stay linear on hostile input (no length cap in front)', () => {
  test.each(cases)('%s on %s returns within two seconds', (_fn, _input, normalize, text) => {
    const t0 = performance.now();
    normalize(text);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
