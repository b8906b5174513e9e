// Public entry of the scheduler: the process (main.ts) and the tests start it through createScheduler.
export { createScheduler } from './scheduler';
export { createReconciler } from './reconciler';
export { schedulerConfigSchema, loadSchedulerConfig, type SchedulerConfig } from './config.schema';
