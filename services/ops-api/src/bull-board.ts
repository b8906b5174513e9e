import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { Runtime } from '@rayvault/shared';
import { opsQueues } from './queues/queue-overview';

export const BULL_BOARD_PATH = '/admin/queues';

/** Bull Board over the stage queues and the alerts queue; app.ts mounts it behind the admin role. */
export function bullBoardRouter(rt: Runtime): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: Object.values(opsQueues(rt)).map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: 'RayVault' } } });
  return adapter.getRouter() as Router;
}
