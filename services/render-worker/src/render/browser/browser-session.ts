// One Chromium per provider, launched on first use (a worker that never
// renders through the browser never starts one) and relaunched after it dies.
import { access, constants } from 'node:fs/promises';
import { ConfigError, ShutdownError, TransientError, type Logger } from '@rayvault/shared';
import type { Browser } from 'playwright-core';
import { CHROMIUM_ARGS } from './browser-config.schema';

export type BrowserSession = {
  get(): Promise<Browser>;
  /** Closes the browser; the next `get()` launches a fresh one. */
  restart(): Promise<void>;
  /** Idempotent; `get()` refuses afterwards. */
  close(): Promise<void>;
};

async function launch(chromiumPath: string, log: Logger): Promise<Browser> {
  try {
    await access(chromiumPath, constants.X_OK);
  } catch (err) {
    throw new ConfigError(
      `no Chromium at ${chromiumPath} (CHROMIUM_PATH): install it (apt-get install chromium) or point CHROMIUM_PATH at it`,
      { cause: err },
    );
  }
  try {
    // Loaded on the first browser render only: Playwright costs a worker that never renders in a browser about 60 MB.
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, timeout: 60_000 });
    log.info({ version: browser.version() }, 'chromium started');
    return browser;
  } catch (err) {
    throw new TransientError(`Chromium at ${chromiumPath} did not start: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
}

export function createBrowserSession(chromiumPath: string, log: Logger): BrowserSession {
  let current: Promise<Browser> | undefined;
  let closed = false;

  async function shut(): Promise<void> {
    const pending = current;
    current = undefined;
    const browser = await pending?.catch(() => undefined);
    await browser?.close().catch((err: Error) => log.warn({ err }, 'chromium did not close cleanly'));
  }

  return {
    get() {
      if (closed) return Promise.reject(new ShutdownError('the browser render provider is closed'));
      if (!current) {
        const starting = launch(chromiumPath, log);
        current = starting;
        starting.then(
          (b) =>
            b.on('disconnected', () => {
              if (current === starting) current = undefined;
            }),
          () => {
            if (current === starting) current = undefined;
          },
        );
      }
      return current;
    },
    restart: shut,
    async close() {
      closed = true;
      await shut();
    },
  };
}
