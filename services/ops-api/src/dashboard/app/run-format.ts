// Formatting shared by the run page's panels.
export const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
export const secs = (s: number | null) => (s === null ? '-' : `${s.toFixed(2)} s`);
