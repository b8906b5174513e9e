// The declarative description of a web render studio's flow. Selectors and
// waits change when the studio's UI does; the provider's code does not.
import { readFile } from 'node:fs/promises';
import { ConfigError, InvalidInputError } from '@rayvault/shared';
import YAML from 'yaml';
import { z } from 'zod';

/** Placeholders a `fill` value or an `open` path may use. */
export const TEMPLATE_VARS = ['title', 'runId', 'segment'] as const;
export type TemplateVars = Record<(typeof TEMPLATE_VARS)[number], string>;

const selector = z.string().min(1);
const timeoutMs = z.number().int().positive().optional();
const template = z
  .string()
  .refine((s) => [...s.matchAll(/\{(\w+)\}/g)].every((m) => (TEMPLATE_VARS as readonly string[]).includes(m[1])), {
    message: `placeholders must be one of ${TEMPLATE_VARS.map((v) => `{${v}}`).join(' ')}`,
  });
const regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s, 'i');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

export const stepSchema = z.discriminatedUnion('action', [
  /** Load `path` (resolved against RAYVAULT_STUDIO_URL). */
  z.object({ action: z.literal('open'), path: template.default('/'), timeoutMs }),
  /** Set a file input to the request's picture or voice; `optional` skips it when the request has none. */
  z.object({
    action: z.literal('upload'),
    selector,
    file: z.enum(['image', 'audio']),
    optional: z.boolean().default(false),
    timeoutMs,
  }),
  z.object({ action: z.literal('fill'), selector, value: template, timeoutMs }),
  /** Clicks once the element is visible and enabled. */
  z.object({ action: z.literal('click'), selector, timeoutMs }),
  /**
   * Polls until `done` is visible (success) or `error` is (the studio's message becomes the error);
   * `selector` is the progress element, logged as it advances. `timeoutMs` bounds the whole render.
   */
  z.object({ action: z.literal('waitForProgress'), selector, done: selector, error: selector.optional(), timeoutMs }),
  /** Clicks the link and saves what it downloads into the staging dir. */
  z.object({ action: z.literal('download'), selector, timeoutMs }),
  /** Reads the credits this render cost: the first number `pattern` captures in the element's text. */
  z.object({ action: z.literal('readCredits'), selector, pattern: regex.default('(\\d+(?:[.,]\\d+)?)'), timeoutMs }),
]);
export type Step = z.infer<typeof stepSchema>;

export const stepFileSchema = z
  .object({
    name: z.string().min(1),
    /** Per-step wait for a selector when the step sets no `timeoutMs`. */
    timeoutMs: z.number().int().positive().default(30_000),
    /** Studio errors matching one of these (case-insensitive) will not go away by retrying. */
    persistentErrors: z.array(regex).default([]),
    steps: z.array(stepSchema).min(1),
  })
  .superRefine((file, ctx) => {
    for (const action of ['open', 'download', 'readCredits'] as const) {
      const count = file.steps.filter((s) => s.action === action).length;
      if (count !== 1)
        ctx.addIssue({
          code: 'custom',
          path: ['steps'],
          message: `needs exactly one "${action}" step (found ${count})`,
        });
    }
    if (!file.steps.some((s) => s.action === 'upload' && s.file === 'audio')) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'needs an "upload" step with file: audio' });
    }
  });
export type StepFile = z.infer<typeof stepFileSchema>;

/** Reads and validates a step file (YAML, or JSON which is YAML too); every problem is listed. */
export async function loadStepFile(file: string): Promise<StepFile> {
  let raw: unknown;
  try {
    raw = YAML.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      `cannot read the studio step file ${file} (RAYVAULT_STUDIO_STEPS): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const parsed = stepFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(file)'}: ${i.message}`).join('\n');
    throw new ConfigError(`the studio step file ${file} is invalid; fix:\n${problems}`);
  }
  return parsed.data;
}

/** A `fill` value: the placeholders' text as it is (it is typed into a field, never parsed as a URL). */
export function expand(text: string, vars: TemplateVars): string {
  return text.replace(/\{(\w+)\}/g, (_, name: keyof TemplateVars) => vars[name]);
}

/**
 * An `open` path resolved against the studio URL. The title comes from product pages, so each
 * value is percent-encoded: `../admin`, `//other.host/`, `?token=` or `#` in a title stay text
 * inside one path segment or query value of the studio's page. A value that is a whole dot
 * segment (`.`, `..`) would still walk up the path, and the URL must stay on the studio's origin.
 */
export function studioPageUrl(pathTemplate: string, vars: TemplateVars, studioUrl: string): string {
  const url = new URL(
    pathTemplate.replace(/\{(\w+)\}/g, (_, name: keyof TemplateVars) => {
      if (/^\.{1,2}$/.test(vars[name]))
        throw new InvalidInputError(
          `the ${name} "${vars[name]}" cannot be placed in the studio's page path: rename the product`,
        );
      return encodeURIComponent(vars[name]);
    }),
    studioUrl,
  );
  if (url.origin !== new URL(studioUrl).origin) {
    throw new ConfigError(
      `the step file's open path "${pathTemplate}" leads to ${url.origin}, not to the studio ${new URL(studioUrl).origin}: make it a path on RAYVAULT_STUDIO_URL`,
    );
  }
  return url.href;
}
