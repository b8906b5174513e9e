// The extraction thread: parses pages off the evidence worker's event loop,
// so a slow or hostile page can delay only its own source, never heartbeats.
// Started by extract-pool.ts; it answers `{ id, ok, result | error }`.
import { parentPort } from 'node:worker_threads';
import { extractFacts } from './extract-facts';

export type ExtractRequest = { id: number; html: string; baseUrl?: string };

parentPort?.on('message', (req: ExtractRequest) => {
  try {
    parentPort!.postMessage({ id: req.id, ok: true, result: extractFacts(req.html, req.baseUrl) });
  } catch (err) {
    parentPort!.postMessage({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
parentPort?.postMessage({ ready: true });
