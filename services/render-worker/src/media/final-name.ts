/**
 * Final file names: `<run8>-segNN-<sha8>.mp4`, where sha8 is the first 8 hex
 * digits of the file's SHA-256. Legacy files (before sha8 names) are
 * `<run8>-segNN.mp4`; anything else cannot be attributed to a run. The render
 * stage writes these names and the CLI's index refresh reads them: both go through here.
 */
const FINAL_NAME = /^([0-9a-f]{8})-seg(\d{1,4})(?:-([0-9a-f]{8}))?\.mp4$/;

export type FinalName = { run8: string; segment: number; sha8: string | null };

/** The name the render stage gives a segment's accepted file in `final/`. */
export function finalName(runId: string, segment: number, sha256: string): string {
  return `${runId.slice(0, 8)}-seg${String(segment).padStart(2, '0')}-${sha256.slice(0, 8)}.mp4`;
}

export function parseFinalName(name: string): FinalName | null {
  const m = FINAL_NAME.exec(name);
  return m ? { run8: m[1], segment: Number(m[2]), sha8: m[3] ?? null } : null;
}
