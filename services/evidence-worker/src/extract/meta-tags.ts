import type { HTMLElement } from 'node-html-parser';
import type { RawFields } from './fields';

/**
 * Open Graph / product meta tags and itemprop metas:
 * og:price:amount, product:price:amount, og:price:currency,
 * product:price:currency, product:brand, product:ean / :gtin / :upc,
 * product:model (or :mpn), product:voltage, product:compatibility,
 * og:title, og:image.
 */
export function metaFields(root: HTMLElement): RawFields {
  const meta = new Map<string, string>();
  for (const el of root.querySelectorAll('meta')) {
    const key = (el.getAttribute('property') ?? el.getAttribute('name') ?? el.getAttribute('itemprop'))
      ?.trim()
      .toLowerCase();
    const content = el.getAttribute('content');
    if (key && content !== undefined && !meta.has(key)) meta.set(key, content.trim());
  }
  const first = (...keys: string[]) => keys.map((k) => meta.get(k)).find((v) => v !== undefined && v !== '');
  const gtins = ['product:ean', 'product:gtin', 'product:gtin13', 'product:upc', 'gtin13', 'gtin12', 'gtin', 'ean']
    .map((k) => meta.get(k))
    .filter(Boolean);
  return {
    name: first('og:title', 'product:name', 'name'),
    brand: first('product:brand', 'og:brand', 'brand'),
    model: first('product:model', 'product:mpn', 'model', 'mpn'),
    gtins,
    price: first('product:price:amount', 'og:price:amount', 'price'),
    currency: first('product:price:currency', 'og:price:currency', 'pricecurrency'),
    voltage: first('product:voltage', 'voltage'),
    compatibility: first('product:compatibility', 'compatibility'),
    image: first('og:image', 'og:image:url', 'image'),
  };
}
