import { parse } from 'node-html-parser';
import { normalizeCompatibility } from '../normalize/compatibility';
import { gtinDigits, isValidGtin } from '../normalize/gtin';
import { parseMoney, type Money } from '../normalize/money';
import { normalizeVoltage } from '../normalize/voltage';
import { boundFields, mergeFields, textOf, type RawFields } from './fields';
import { fieldsFromProduct, jsonLdProducts } from './json-ld';
import { metaFields } from './meta-tags';

/** What a page says about the product, normalized. */
export type Facts = {
  name?: string;
  brand?: string;
  model_id?: string;
  /** GTIN/EAN digits with a valid check digit. */
  ean?: string;
  price?: Money;
  /** "110-240V" or "230V". */
  voltage?: string;
  compatibility?: string[];
  image?: string;
};

export type Extraction = { facts: Facts; warnings: string[] };

/**
 * Facts from schema.org Product JSON-LD, completed by meta tags. A GTIN that
 * fails its checksum is dropped with a warning, never guessed at.
 * `baseUrl` resolves a relative image URL.
 */
export function extractFacts(html: string, baseUrl?: string): Extraction {
  const warnings: string[] = [];
  const root = parse(html);
  const products = jsonLdProducts(root, warnings);
  if (products.length > 1) warnings.push(`${products.length} JSON-LD Product nodes: the first one is used`);
  const raw = boundFields(mergeFields(products[0] ? fieldsFromProduct(products[0]) : {}, metaFields(root)), warnings);
  const facts = normalizeFacts(raw, warnings, baseUrl);
  return {
    facts,
    warnings:
      warnings.length > MAX_WARNINGS
        ? [...warnings.slice(0, MAX_WARNINGS), `… and ${warnings.length - MAX_WARNINGS} more warnings`]
        : warnings,
  };
}

/** A hostile page could otherwise produce one warning per broken JSON-LD block. */
const MAX_WARNINGS = 20;

function normalizeFacts(raw: RawFields, warnings: string[], baseUrl?: string): Facts {
  const facts: Facts = { name: textOf(raw.name), brand: textOf(raw.brand), model_id: textOf(raw.model) };
  for (const candidate of raw.gtins ?? []) {
    const digits = gtinDigits(candidate);
    if (isValidGtin(digits)) {
      facts.ean ??= digits;
    } else {
      warnings.push(`GTIN/EAN "${String(candidate)}" is not a valid GTIN-8/12/13/14 (check digit or length): dropped`);
    }
  }
  if (raw.price !== undefined) {
    const money = parseMoney(raw.price, raw.currency);
    if (money) facts.price = money;
    else warnings.push(`price "${String(raw.price)}" is not a number: dropped`);
  }
  if (raw.voltage !== undefined) {
    const v = normalizeVoltage(raw.voltage, raw.voltageInVolts);
    if (v) facts.voltage = v;
    else warnings.push(`voltage "${String(raw.voltage)}" is not a voltage: dropped`);
  }
  const compat = normalizeCompatibility(raw.compatibility);
  if (compat.length) facts.compatibility = compat;
  const image = textOf(raw.image);
  if (image) facts.image = resolveUrl(image, baseUrl);
  for (const k of Object.keys(facts) as (keyof Facts)[]) if (facts[k] === undefined) delete facts[k];
  return facts;
}

function resolveUrl(u: string, base?: string): string {
  try {
    return base ? new URL(u, base).href : u;
  } catch {
    return u;
  }
}
