import type { HTMLElement } from 'node-html-parser';
import { textOf, type RawFields } from './fields';

type Node = Record<string, unknown>;

const isProductType = (t: unknown): boolean =>
  (Array.isArray(t) ? t : [t]).some(
    (x) => typeof x === 'string' && /^(?:(?:https?:\/\/)?schema\.org\/|schema:)?Product$/.test(x),
  );

/** Every schema.org Product node in the page's JSON-LD blocks: top level, arrays, `@graph`, nested. */
export function jsonLdProducts(root: HTMLElement, warnings: string[]): Node[] {
  const found: Node[] = [];
  const visit = (v: unknown, depth: number) => {
    if (depth > 8 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach((x) => visit(x, depth + 1));
    const node = v as Node;
    if (isProductType(node['@type'])) found.push(node);
    else for (const child of Object.values(node)) visit(child, depth + 1);
  };
  root.querySelectorAll('script[type="application/ld+json"]').forEach((el, i) => {
    try {
      visit(JSON.parse(el.rawText), 0);
    } catch (err) {
      warnings.push(`JSON-LD block ${i + 1} is not valid JSON (${(err as Error).message}): ignored`);
    }
  });
  return found;
}

/** The fields of one Product node; offers may be an Offer, a list of offers, or an AggregateOffer. */
export function fieldsFromProduct(p: Node): RawFields {
  const offer = firstOffer(p.offers);
  const spec = offer?.priceSpecification as Node | undefined;
  const props = (
    Array.isArray(p.additionalProperty) ? p.additionalProperty : p.additionalProperty ? [p.additionalProperty] : []
  ) as Node[];
  const prop = (re: RegExp) => props.find((x) => re.test(textOf(x.name) ?? '') || re.test(textOf(x.propertyID) ?? ''));
  const voltage = prop(/volt|tens[aã]o/i);
  const compat = prop(/compat/i);
  return {
    name: textOf(p.name),
    brand: textOf(p.brand) ?? textOf(p.manufacturer),
    model: textOf(p.model) ?? textOf(p.mpn),
    gtins: ['gtin13', 'gtin12', 'gtin14', 'gtin8', 'gtin', 'ean']
      .map((k) => p[k])
      .filter((v) => v !== undefined && v !== null),
    price: offer?.price ?? offer?.lowPrice ?? spec?.price,
    currency: offer?.priceCurrency ?? spec?.priceCurrency,
    voltage: voltage?.value,
    voltageInVolts: voltage ? /^(VLT|V)$/i.test(textOf(voltage.unitCode) ?? textOf(voltage.unitText) ?? '') : undefined,
    compatibility: compat?.value ?? p.isAccessoryOrSparePartFor,
    image: imageUrl(p.image),
  };
}

function firstOffer(offers: unknown): Node | undefined {
  const list = (Array.isArray(offers) ? offers : offers ? [offers] : []) as Node[];
  for (const o of list) {
    if (o.price !== undefined || o.lowPrice !== undefined || o.priceSpecification !== undefined) return o;
    const nested = firstOffer(o.offers);
    if (nested) return nested;
  }
  return undefined;
}

function imageUrl(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return imageUrl(v[0]);
  if (v && typeof v === 'object') return imageUrl((v as Node).url ?? (v as Node).contentUrl);
  return undefined;
}
