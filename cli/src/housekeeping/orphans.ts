import { indexMatcher, loadVideoIndex, stateLayout, type FileEntry } from '@rayvault/shared';
import { listFiles, type HousekeepingDeps, type SkippedEntry } from './state-files';

export type OrphanReport = {
  final_dir: string;
  files: number;
  indexed: number;
  orphans: FileEntry[];
  orphan_bytes: number;
  /** Symbolic links found in the final dir (never followed, never counted). */
  skipped: SkippedEntry[];
};

/** Files in the final dir that the video index does not name, oldest first, with their age. */
export async function findOrphans(deps: HousekeepingDeps, now = Date.now()): Promise<OrphanReport> {
  const layout = stateLayout(deps.stateDir);
  const index = await loadVideoIndex(deps.media, layout.root, layout.final);
  const skipped: SkippedEntry[] = [];
  const files = listFiles(layout.final, now, skipped);
  const indexed = indexMatcher(index);
  const orphans = files.filter((f) => !indexed(f)).sort((a, b) => a.mtime_ms - b.mtime_ms);
  return {
    final_dir: layout.final,
    files: files.length,
    indexed: files.length - orphans.length,
    orphans,
    orphan_bytes: orphans.reduce((n, f) => n + f.bytes, 0),
    skipped,
  };
}
