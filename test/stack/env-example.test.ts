// .env.example is the configuration reference: it must name every variable
// that some process's schema reads, and nothing that none reads. Each process
// parses its environment once with its own schema; these are all of them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { telemetryEnvSchema } from '@rayvault/shared';
import { contractConfigSchema, reportConfigSchema, workerConfigSchema } from '../../cli/src/config';
import { evidenceConfigSchema } from '@rayvault/evidence-worker';
import { notifierConfigSchema } from '@rayvault/notifier';
import { opsApiConfigSchema } from '@rayvault/ops-api';
import { mediaConfigSchema } from '@rayvault/render-worker';
import { schedulerConfigSchema } from '@rayvault/scheduler';
import { ROOT } from '../support/harness';

it('lists every configuration variable of every process, and only those', () => {
  const schemas = [
    evidenceConfigSchema,
    notifierConfigSchema,
    opsApiConfigSchema,
    mediaConfigSchema,
    schedulerConfigSchema,
    workerConfigSchema,
    reportConfigSchema,
    contractConfigSchema,
    telemetryEnvSchema,
  ];
  const read = schemas.flatMap((s) => Object.keys(s.shape));
  const listed = [...readFileSync(path.join(ROOT, '.env.example'), 'utf8').matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map(
    (m) => m[1],
  );
  expect([...new Set(read)].filter((v) => !listed.includes(v)).sort()).toEqual([]);
  expect(listed.filter((v) => !read.includes(v)).sort()).toEqual([]);
});
