// Public entry of the notifier: other code starts it through createNotifier.
export { createNotifier, type Notifier } from './notifier';
export {
  notifierConfigSchema,
  resolveNotifierOptions,
  parseAdminIds,
  type NotifierOptions,
  type NotifierConfig,
} from './config.schema';
export { encodeButton, decodeButton, type Button, type ButtonAction } from './callback-data';
export { formatAlert, escapeHtml } from './alert-format';
