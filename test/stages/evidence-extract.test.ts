// Extraction and normalization of product pages (fixtures in test/fixtures/sources),
// and the product input the CLI and API accept.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadProductFile, loadSample, parseProduct } from '@rayvault/shared';
import { extractFacts } from '@rayvault/evidence-worker';
import { findConflicts, summarizeDiff } from '../../services/evidence-worker/src/claims/conflicts';
import { factsToClaims } from '../../services/evidence-worker/src/claims/claims';
import { gtinDigits, isValidGtin } from '../../services/evidence-worker/src/normalize/gtin';
import { parseMoney } from '../../services/evidence-worker/src/normalize/money';
import { normalizeVoltage } from '../../services/evidence-worker/src/normalize/voltage';

const FIXTURES = path.join(__dirname, '../fixtures/sources');
const page = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

describe('extraction', () => {
  it('reads a Product inside @graph with an AggregateOffer, and drops a GTIN with a bad check digit', () => {
    const { facts, warnings } = extractFacts(page('graph-aggregate-offer.html'), 'https://shop.example/kettle');
    expect(facts).toEqual({
      name: 'Aurora Kettle 1.7 L',
      brand: 'Aurora',
      model_id: 'AK-17',
      ean: '036000291452',
      price: { amount: 1299, currency: 'EUR' },
      voltage: '230V',
      image: 'https://shop.example/media/ak17.png',
    });
    expect(warnings).toEqual([expect.stringMatching(/GTIN\/EAN "4006381333932" is not a valid .*dropped/)]);
  });

  it('reads meta tags alone: og price, product brand/model/ean/voltage/compatibility', () => {
    const { facts, warnings } = extractFacts(page('meta-only.html'));
    expect(facts).toEqual({
      name: 'Travel Adapter Pro',
      brand: 'Roamly',
      model_id: 'TA-PRO',
      ean: '5901234123457',
      price: { amount: 1299, currency: 'USD' },
      voltage: '110-240V',
      compatibility: ['EU plugs', 'UK plugs', 'US plugs'],
      image: 'https://cdn.example/ta-pro.jpg',
    });
    expect(warnings).toEqual([]);
  });

  it('skips a broken JSON-LD block with a warning; JSON-LD wins over meta; offers may be a list with priceSpecification', () => {
    const { facts, warnings } = extractFacts(page('broken-json-ld.html'));
    expect(facts).toMatchObject({
      name: 'Desk Lamp',
      brand: 'Lumo',
      ean: '96385074',
      price: { amount: 39.5, currency: 'GBP' },
    });
    expect(warnings).toEqual([expect.stringMatching(/JSON-LD block 1 is not valid JSON/)]);
  });

  it('finds nothing on a page without product data', () => {
    expect(extractFacts(page('no-product.html'))).toEqual({ facts: {}, warnings: [] });
  });
});

describe('normalization', () => {
  it.each([
    ['1.299,00 €', undefined, 1299, 'EUR'],
    ['$1,299.00', undefined, 1299, 'USD'],
    ['R$ 1.299,90', undefined, 1299.9, 'BRL'],
    ['1 299,00 EUR', undefined, 1299, 'EUR'],
    ['49,90', 'eur', 49.9, 'EUR'],
    ['1.299', 'EUR', 1299, 'EUR'],
    ['12.5', 'GBP', 12.5, 'GBP'],
    ['£999', undefined, 999, 'GBP'],
    [1299, 'USD', 1299, 'USD'],
    ['1,234,567.891', 'USD', 1234567.89, 'USD'],
  ])('price %p (currency %p) → %p %p', (text, currency, amount, code) => {
    expect(parseMoney(text, currency)).toEqual({ amount, currency: code });
  });

  it('refuses text that is not a price', () => {
    expect(parseMoney('call us')).toBeNull();
    expect(parseMoney('19.99')).toEqual({ amount: 19.99, currency: null });
  });

  it.each([
    ['110-240V', '110-240V'],
    ['110 – 240 V', '110-240V'],
    ['100~240VAC', '100-240V'],
    ['AC 100-240V 50/60Hz', '100-240V'],
    ['240 to 110 volts', '110-240V'],
    ['230 V', '230V'],
    ['12V DC', '12V'],
    [230, '230V'],
  ])('voltage %p → %p', (text, expected) => {
    expect(normalizeVoltage(text)).toBe(expected);
  });

  it('a bare number is a voltage only when the unit is known', () => {
    expect(normalizeVoltage('230')).toBeNull();
    expect(normalizeVoltage('230', true)).toBe('230V');
    expect(normalizeVoltage('50/60 Hz')).toBeNull();
  });

  it('GTIN/EAN: digits only, check digit and length validated', () => {
    expect(gtinDigits('789 1000-12345 4')).toBe('7891000123454');
    expect(isValidGtin('7891000123454')).toBe(true);
    expect(isValidGtin('7891000123455')).toBe(false);
    expect(isValidGtin('036000291452')).toBe(true);
    expect(isValidGtin('96385074')).toBe(true);
    expect(isValidGtin('12345')).toBe(false);
  });
});

describe('conflicts', () => {
  const claims = (tier: number, source: string, facts: Parameters<typeof factsToClaims>[0]) =>
    factsToClaims(facts, source, tier);

  it('the same model, EAN and compatibility written differently agree; a different price does not', () => {
    const all = [
      ...claims(5, 'maker', {
        model_id: 'VG-65C',
        ean: '036000291452',
        compatibility: ['iPad', 'Galaxy'],
        price: { amount: 54.9, currency: 'EUR' },
      }),
      ...claims(4, 'shop', {
        model_id: 'vg 65c',
        ean: '0036000291452',
        compatibility: ['galaxy', 'ipad'],
        price: { amount: 49.9, currency: 'EUR' },
      }),
      ...claims(2, 'blog', { model_id: 'VG-99', price: { amount: 10, currency: 'USD' } }),
    ];
    const diff = findConflicts(all, [4, 5]);
    expect(diff).toEqual([
      {
        field: 'price',
        values: [
          { source: 'maker', tier: 5, value: '54.90 EUR' },
          { source: 'shop', tier: 4, value: '49.90 EUR' },
        ],
      },
    ]);
    expect(summarizeDiff(diff, [4, 5])).toBe(
      'tier 4/5 sources disagree on price: 54.90 EUR (maker, tier 5) vs 49.90 EUR (shop, tier 4)',
    );
    expect(findConflicts(all, [2, 5]).map((d) => d.field)).toEqual(['price', 'model_id']);
  });
});

describe('product input', () => {
  it('lists every problem of a bad product', () => {
    expect(() =>
      parseProduct(
        {
          sources: [
            { url: 'ftp://x', tier: 4 },
            { file: 'a.html', tier: 7 },
          ],
        },
        'p.json',
      ),
    ).toThrow(
      /p\.json is invalid \(3 problems\):\n {2}name: name is required.*\n {2}sources\.0\.url: url must start with http:\/\/ or https:\/\/\n {2}sources\.1\.tier: tier must be 1-5/,
    );
  });

  it('the samples load offline with absolute file paths and a narration script', async () => {
    for (const name of ['consistent', 'conflict'] as const) {
      const product = await loadSample(name);
      expect(product.sources.map((s) => s.tier)).toEqual(expect.arrayContaining([4, 5]));
      for (const s of product.sources) expect('file' in s && path.isAbsolute(s.file)).toBe(true);
      expect(product.script!.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('a product file naming a missing source file is refused with the path', async () => {
    const file = path.join(FIXTURES, 'missing-source.product.json');
    await expect(loadProductFile(file)).rejects.toThrow(
      /sources\.0\.file: .*fixtures\/sources\/nowhere\.html does not exist/,
    );
  });
});
