// The browser render provider: drives a web render studio (Dzine in
// production, a local double in tests) through its step file, one fresh
// browser context per render, a watchdog on the page, and an ffprobe check
// of every export before it is handed back.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import type { RenderProvider, RenderRequest, RenderResult } from '../provider';
import { resolveBrowserOptions, type BrowserConfig, type BrowserOptions } from './browser-config.schema';
import { createBrowserSession } from './browser-session';
import { checkExport } from './export-check';
import { loadStepFile, type StepFile } from './step-file.schema';
import { runStudioFlow, type FlowResult } from './studio-flow';
import { watchPage } from './watchdog';

/** How long a context may take to close before the whole browser is restarted instead. */
const CONTEXT_CLOSE_MS = 5000;

function whenAborted(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let dispose = () => {};
  const promise = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    dispose = () => signal.removeEventListener('abort', onAbort);
  });
  promise.catch(() => undefined);
  return { promise, dispose: () => dispose() };
}

async function closedInTime(context: BrowserContext): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CONTEXT_CLOSE_MS);
  });
  const closed = context.close().then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The browser render provider. `config` is the render worker's parsed config (CHROMIUM_PATH, the studio, log level).
 */
export function createBrowserProvider(config: BrowserConfig, overrides: Partial<BrowserOptions> = {}): RenderProvider {
  const opts = resolveBrowserOptions(config, overrides);
  const browsers = createBrowserSession(opts.chromiumPath, opts.log);
  let steps: Promise<StepFile> | undefined;

  function stepFile(): Promise<StepFile> {
    if (steps) return steps;
    const loading = loadStepFile(opts.stepFile);
    steps = loading;
    loading.catch(() => {
      if (steps === loading) steps = undefined;
    }); // a fixed file is read again on the next render
    return loading;
  }

  /** Runs the step file in a fresh context; the page and context are gone when it settles. */
  async function drive(req: RenderRequest, target: string): Promise<FlowResult> {
    const flowSteps = await stepFile();
    const context = await (await browsers.get()).newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const watchdog = watchPage(page, opts);
    const aborted = whenAborted(req.signal);
    const log = opts.log.child({ runId: req.runId, segment: req.segment, provider: 'browser' });
    try {
      const flow = runStudioFlow(page, {
        req,
        steps: flowSteps,
        stepFile: opts.stepFile,
        studioUrl: opts.studioUrl,
        target,
        frozenMs: opts.frozenMs,
        log,
      });
      flow.catch(() => undefined); // after a freeze or an abort it fails when its page closes
      return await Promise.race([flow, watchdog.frozen, aborted.promise]);
    } finally {
      watchdog.stop();
      aborted.dispose();
      if (!(await closedInTime(context))) {
        log.warn('the studio context did not close: restarting the browser');
        await browsers.restart();
      }
    }
  }

  return {
    name: 'browser',
    async render(req: RenderRequest): Promise<RenderResult> {
      req.signal.throwIfAborted();
      await mkdir(req.stagingDir, { recursive: true });
      const target = path.join(req.stagingDir, `${req.runId}-${req.segment}.browser.mp4`);
      const { credits } = await drive(req, target);
      await acceptExport(target, req, credits, opts.log);
      return { path: target, credits, provider: 'browser' };
    },
    close: () => browsers.close(),
  };
}

/** Checks the studio's export; a rejected one is logged with its credits, since the studio charged for it. */
async function acceptExport(
  target: string,
  req: RenderRequest,
  credits: FlowResult['credits'],
  log: BrowserOptions['log'],
): Promise<void> {
  const { seconds } = await checkExport(target, req.signal).catch((err: unknown) => {
    log.warn({ runId: req.runId, segment: req.segment, credits, path: target, err }, 'studio export rejected');
    throw err;
  });
  log.info({ runId: req.runId, segment: req.segment, credits, seconds, path: target }, 'studio export accepted');
}
