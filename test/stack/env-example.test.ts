// .env.example is the configuration reference: it must name every variable
// that some service's schema reads, and nothing that none reads.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { baseConfigSchema, telemetryEnvSchema } from '@rayvault/shared';
import { evidenceFields } from '../../services/evidence-worker/src/config.schema';
import { notifierFields } from '../../services/notifier/src/config.schema';
import { opsApiFields } from '../../services/ops-api/src/config.schema';
import { browserConfigFields } from '../../services/render-worker/src/render/browser/browser-config.schema';
import { mediaFields } from '../../services/render-worker/src/config.schema';
import { schedulerConfigSchema } from '../../services/scheduler/src/config.schema';
import { ROOT } from '../support/harness';

it('lists every configuration variable of every service, and only those', () => {
  const read = [baseConfigSchema, evidenceFields, notifierFields, opsApiFields, browserConfigFields, mediaFields, schedulerConfigSchema, telemetryEnvSchema]
    .flatMap((s) => Object.keys(s.shape));
  const listed = [...readFileSync(path.join(ROOT, '.env.example'), 'utf8').matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
  expect([...new Set(read)].filter((v) => !listed.includes(v)).sort()).toEqual([]);
  expect(listed.filter((v) => !read.includes(v)).sort()).toEqual([]);
});
