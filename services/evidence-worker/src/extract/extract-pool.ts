import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SourceFetchError } from '../fetch/source-fetch-error';
import { extractFacts, type Extraction } from './extract-facts';

export type ExtractPoolOptions = {
  /** Longest one page may take once its thread has it; then the thread is terminated and the page given up. */
  timeoutMs: number;
  /** Threads (default 2). */
  size?: number;
  /** Old-generation heap of one thread (MB, default 256): a page that needs more fails alone. */
  memoryMb?: number;
  /** Told once when no thread entry exists (a bundle built without it) and extraction runs in-process. */
  onFallback?: (why: string) => void;
};

type Task = {
  id: number;
  html: string;
  baseUrl?: string;
  resolve: (e: Extraction) => void;
  reject: (err: Error) => void;
};
type Slot = { worker: Worker | null; ready: boolean; task: Task | null; timer?: NodeJS.Timeout };
type Reply = { ready: true } | { id: number; ok: true; result: Extraction } | { id: number; ok: false; error: string };

// Under jest (swc) and tsx the thread entry is TypeScript: register tsx's require hook inside the thread first.
const BOOT = `const { workerData } = require('node:worker_threads');
if (/\\.ts$/.test(workerData.entry)) require(require.resolve('tsx/cjs/api', { paths: [workerData.entry] })).register();
require(workerData.entry);`;

/** Where the thread's code is: beside this file in the sources, `extract-thread.js` beside a bundle. */
function threadEntry(): string | null {
  const candidates = [path.join(__dirname, 'extract-thread.ts'), path.join(__dirname, 'extract-thread.js')];
  return candidates.find((f) => existsSync(f)) ?? null;
}

/**
 * Fact extraction in worker threads with a time limit. node-html-parser
 * takes about a second per megabyte and JSON.parse of a large JSON-LD block
 * is not free either: on the main thread that stops heartbeats and lock
 * renewals. A page over `timeoutMs` (or over the thread's heap) fails its
 * source as `extraction_failed`; the thread is replaced.
 */
// eslint-disable-next-line max-lines-per-function -- its closures share the slots, queue and pump
export function createExtractPool(o: ExtractPoolOptions) {
  const entry = threadEntry();
  const slots: Slot[] = Array.from({ length: o.size ?? 2 }, () => ({ worker: null, ready: false, task: null }));
  const queue: Task[] = [];
  let nextId = 0;

  const finish = (slot: Slot, settle: (t: Task) => void) => {
    clearTimeout(slot.timer);
    const task = slot.task;
    slot.task = null;
    if (task) settle(task);
    pump();
  };
  const fail = (slot: Slot, why: string) => {
    const w = slot.worker;
    slot.worker = null;
    slot.ready = false;
    void w?.terminate();
    finish(slot, (t) => t.reject(new SourceFetchError('extraction_failed', why, false)));
  };
  const send = (slot: Slot) => {
    if (!slot.task || !slot.ready || !slot.worker) return;
    slot.timer = setTimeout(
      () =>
        fail(
          slot,
          `extracting facts took longer than ${o.timeoutMs} ms (RAYVAULT_EVIDENCE_EXTRACT_TIMEOUT_MS): the page is ignored`,
        ),
      o.timeoutMs,
    );
    slot.worker.postMessage({ id: slot.task.id, html: slot.task.html, baseUrl: slot.task.baseUrl });
  };
  const spawn = (slot: Slot) => {
    const worker = new Worker(BOOT, {
      eval: true,
      workerData: { entry },
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: o.memoryMb ?? 256 },
    });
    worker.unref(); // an idle thread never keeps the process alive
    worker.on('message', (m: Reply) => {
      if (slot.worker !== worker) return;
      if ('ready' in m) {
        slot.ready = true;
        return send(slot);
      }
      if (slot.task?.id !== m.id) return;
      finish(slot, (t) =>
        m.ok
          ? t.resolve(m.result)
          : t.reject(new SourceFetchError('extraction_failed', `extracting facts failed: ${m.error}`, false)),
      );
    });
    worker.on('error', (err) => slot.worker === worker && fail(slot, `the extraction thread failed: ${err.message}`));
    worker.on('exit', (code) => slot.worker === worker && fail(slot, `the extraction thread exited with code ${code}`));
    slot.worker = worker;
  };
  const pump = () => {
    for (const slot of slots) {
      if (slot.task || !queue.length) continue;
      slot.task = queue.shift()!;
      if (!slot.worker) spawn(slot);
      send(slot);
    }
  };

  let warned = false;
  return {
    /** The page's facts, extracted in a thread; rejects with an `extraction_failed` SourceFetchError. */
    extract(html: string, baseUrl?: string): Promise<Extraction> {
      if (!entry) {
        if (!warned)
          o.onFallback?.(`no extraction thread entry beside ${__dirname}: pages are parsed on the event loop`);
        warned = true;
        return Promise.resolve().then(() => extractFacts(html, baseUrl));
      }
      return new Promise((resolve, reject) => {
        queue.push({ id: ++nextId, html, baseUrl, resolve, reject });
        pump();
      });
    },
    async close(): Promise<void> {
      for (const t of queue.splice(0))
        t.reject(new SourceFetchError('extraction_failed', 'the evidence worker is shutting down', true));
      await Promise.all(
        slots.map((slot) => {
          const w = slot.worker;
          slot.worker = null;
          clearTimeout(slot.timer);
          slot.task?.reject(new SourceFetchError('extraction_failed', 'the evidence worker is shutting down', true));
          slot.task = null;
          return w?.terminate();
        }),
      );
    },
  };
}
export type ExtractPool = ReturnType<typeof createExtractPool>;
