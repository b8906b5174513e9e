import { touchHealthFile, type Runtime } from '@rayvault/shared';
import { createLeaseWatchdog } from './lease-watchdog';
import { createReconciler } from './reconciler';

/** Runs the reconciler and the lease watchdog every RAYVAULT_RECONCILE_MS; one pass at a time. */
export function createScheduler(rt: Runtime) {
  const reconciler = createReconciler(rt);
  const watchdog = createLeaseWatchdog(rt);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function tick() {
    try {
      await reconciler.pass();
      await watchdog.pass();
      touchHealthFile(rt.config.RAYVAULT_HEALTH_FILE);
    } catch (err) {
      rt.log.warn({ err }, 'scheduler pass failed (dependency down?); next pass will retry');
    }
  }
  function loop() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = undefined;
        loop();
      });
    }, rt.config.RAYVAULT_RECONCILE_MS);
  }
  return {
    reconciler,
    watchdog,
    start() {
      running = tick().finally(() => {
        running = undefined;
        loop();
      });
    },
    async close() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
