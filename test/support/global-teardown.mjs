import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  const t = globalThis.__RV_TEST__;
  if (!t) return;
  t.redis.kill('SIGKILL');
  await t.pg.stop();
  rmSync(t.root, { recursive: true, force: true });
}
