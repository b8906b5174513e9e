// The browser render provider's public face: the render worker picks it when RAYVAULT_RENDER_PROVIDER=browser.
export { createBrowserProvider } from './browser-provider';
export {
  browserConfigFields,
  browserConfigSchema,
  CHROMIUM_ARGS,
  type BrowserConfig,
  type BrowserOptions,
} from './browser-config.schema';
export { loadStepFile, studioPageUrl, type StepFile } from './step-file.schema';
