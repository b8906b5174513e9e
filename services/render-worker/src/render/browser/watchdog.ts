// A frozen studio tab never fails on its own: every Playwright call into it
// just waits. The watchdog asks the page for a trivial evaluation on an
// interval and declares the browser frozen when one goes unanswered.
import { PanicError } from '@rayvault/shared';
import type { Page } from 'playwright-core';

/** True when the page's main thread evaluates `1` within `withinMs` (a page mid-navigation counts as answering). */
export async function pageAnswers(page: Page, withinMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), withinMs);
  });
  try {
    return await Promise.race([
      page.evaluate('1').then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function frozenPanic(page: Page, frozenMs: number, why = `did not answer for ${frozenMs} ms`): PanicError {
  return new PanicError(
    'panic_browser_frozen',
    `the render studio page ${why}; restart the browser, check RAM/GPU, then resume`,
    { details: { url: page.url(), frozenMs } },
  );
}

export type Watchdog = {
  /** Rejects with panic_browser_frozen when the page stops answering or crashes; never resolves. */
  frozen: Promise<never>;
  stop(): void;
};

export function watchPage(page: Page, opts: { watchdogMs: number; frozenMs: number }): Watchdog {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const frozen = new Promise<never>((_, reject) => {
    const fail = (err: PanicError) => {
      if (stopped) return;
      stopped = true;
      reject(err);
    };
    page.once('crash', () => fail(frozenPanic(page, opts.frozenMs, 'crashed')));
    const tick = async () => {
      const answered = await pageAnswers(page, opts.frozenMs);
      if (stopped) return;
      if (!answered) return fail(frozenPanic(page, opts.frozenMs));
      timer = setTimeout(() => void tick(), opts.watchdogMs);
    };
    timer = setTimeout(() => void tick(), opts.watchdogMs);
  });
  frozen.catch(() => undefined); // the caller races it; no unhandled rejection if the race settled first
  return {
    frozen,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
