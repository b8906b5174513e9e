import type { MediaStore } from '../store/media-store';

/** A final file the index lacks, proven by its name (run8, segment) and its bytes (sha8). */
export type IndexAddition = {
  path: string;
  run_id: string;
  segment: number;
  sha256: string;
  bytes: number;
  legacy: boolean;
};
/** An indexed file found under another name: same SHA-256, so the entry is re-pointed to it. */
export type IndexRelink = {
  id: number;
  path: string;
  from: string;
  run_id: string;
  segment: number | null;
  sha256: string;
  legacy: boolean;
};

/**
 * Indexes a found file with its audit event (the event id makes a repeat a
 * no-op); returns its entry id (null when a render indexed the segment meanwhile).
 */
export function addToIndex(media: MediaStore, a: IndexAddition): Promise<number | null> {
  return media.index.add({
    runId: a.run_id,
    segment: a.segment,
    path: a.path,
    sha256: a.sha256,
    bytes: a.bytes,
    legacy: a.legacy,
    eventId: `index-refresh:${a.run_id}:${a.segment}:${a.sha256.slice(0, 8)}`,
  });
}

/**
 * Re-points an entry whose file was renamed (same bytes). A legacy name is
 * recorded as accepted (`meta.legacy`), so later checks need no flag for it.
 * Changes nothing when the entry moved meanwhile (a re-render).
 */
export function relinkEntry(media: MediaStore, l: IndexRelink): Promise<boolean> {
  return media.index.relink({
    id: l.id,
    path: l.path,
    from: l.from,
    sha256: l.sha256,
    legacy: l.legacy,
    eventId: `index-refresh:relink:${l.id}:${l.sha256.slice(0, 8)}:${l.path}`,
  });
}
