/**
 * A compatibility claim as a sorted, de-duplicated list, from a list or from
 * text separated by commas, semicolons, pipes or new lines.
 */
export function normalizeCompatibility(value: unknown): string[] {
  const items = Array.isArray(value) ? value.flatMap((v) => splitText(v)) : splitText(value);
  const byKey = new Map<string, string>();
  for (const item of items) if (!byKey.has(item.toLowerCase())) byKey.set(item.toLowerCase(), item);
  return [...byKey.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
}

function splitText(value: unknown): string[] {
  if (typeof value === 'object' && value !== null && 'name' in value)
    return splitText((value as { name: unknown }).name);
  if (typeof value !== 'string') return [];
  return value
    .split(/[,;|\n]+/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}
