// Public entry of ops-api: the process (main.ts) and the tests build the HTTP app through createApp.
export { createApp, type OpsApp } from './app';
export {
  opsApiConfigSchema,
  loadOpsApiConfig,
  resolveOpsApiOptions,
  type OpsApiConfig,
  type OpsApiOptions,
} from './config.schema';
