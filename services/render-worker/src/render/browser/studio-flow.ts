// Interprets a step file on one studio page. Each failure is classified by
// what retrying can do about it: a studio that is down or said "try again" is
// transient; a refusal that will repeat, or a UI that no longer matches the
// step file, is panic_dzine_ui_failure; a page that stopped answering is
// panic_browser_frozen.
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInputError, isRayVaultError, PanicError, TransientError, type Logger } from '@rayvault/shared';
import type { Page } from 'playwright-core';
import type { RenderRequest } from '../provider';
import { expand, studioPageUrl, type Step, type StepFile, type TemplateVars } from './step-file.schema';
import { frozenPanic, pageAnswers } from './watchdog';

export type FlowInput = {
  req: RenderRequest;
  steps: StepFile;
  stepFile: string;
  studioUrl: string;
  /** Where the export is saved (inside the staging dir). */
  target: string;
  frozenMs: number;
  log: Logger;
};
export type FlowResult = { credits: number };

type StepRun = { page: Page; input: FlowInput; vars: TemplateVars; timeout: number; credits?: number };

export async function runStudioFlow(page: Page, input: FlowInput): Promise<FlowResult> {
  const vars: TemplateVars = { title: input.req.title, runId: input.req.runId, segment: String(input.req.segment) };
  const run: StepRun = { page, input, vars, timeout: 0 };
  for (const [i, step] of input.steps.steps.entries()) {
    input.req.signal.throwIfAborted();
    run.timeout = step.timeoutMs ?? input.steps.timeoutMs;
    try {
      await runStep(run, step);
    } catch (err) {
      throw await classify(run, err, `step ${i + 1} (${step.action}${'selector' in step ? ` ${step.selector}` : ''})`);
    }
  }
  if (run.credits === undefined)
    throw new PanicError('panic_dzine_ui_failure', `${input.stepFile} never read the credits`);
  return { credits: run.credits };
}

async function runStep(run: StepRun, step: Step): Promise<void> {
  const { page, input, vars, timeout } = run;
  switch (step.action) {
    case 'open':
      await page.goto(studioPageUrl(step.path, vars, input.studioUrl), { timeout });
      return;
    case 'upload': {
      const file = step.file === 'image' ? input.req.imagePath : input.req.audioPath;
      if (file) return page.setInputFiles(step.selector, file, { timeout });
      if (step.optional) return;
      throw new InvalidInputError(
        `the step file uploads a picture but segment ${input.req.segment} of run ${input.req.runId} has none; mark the image upload optional or give the segment a picture`,
      );
    }
    case 'fill':
      return page.fill(step.selector, expand(step.value, vars), { timeout });
    case 'click':
      return page.click(step.selector, { timeout });
    case 'waitForProgress':
      return waitForProgress(run, step);
    case 'download': {
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout }),
        page.click(step.selector, { timeout }),
      ]);
      const failure = await download.failure();
      if (failure) throw new TransientError(`the studio's download failed: ${failure}`);
      return download.saveAs(input.target);
    }
    case 'readCredits': {
      const text = (await page.locator(step.selector).first().textContent({ timeout })) ?? '';
      const found = new RegExp(step.pattern, 'i').exec(text)?.[1];
      if (!found)
        throw new PanicError(
          'panic_dzine_ui_failure',
          `no credits figure in "${text.trim()}"; fix the readCredits pattern in ${input.stepFile}`,
        );
      run.credits = Number(found.replace(',', '.'));
    }
  }
}

async function waitForProgress(run: StepRun, step: Extract<Step, { action: 'waitForProgress' }>): Promise<void> {
  const { page, input } = run;
  const deadline = Date.now() + run.timeout;
  let last: string | undefined;
  for (;;) {
    if (step.error && (await page.locator(step.error).first().isVisible())) {
      throw studioError(
        (await page.locator(step.error).first().textContent())?.trim() || 'an error without a message',
        input,
      );
    }
    if (await page.locator(step.done).first().isVisible()) return;
    const progress = await page
      .locator(step.selector)
      .first()
      .evaluate(
        (el) => (el as HTMLProgressElement).value ?? el.getAttribute('aria-valuenow') ?? el.textContent,
        undefined,
        { timeout: 1000 },
      )
      .then(String, () => undefined);
    if (progress !== last) input.log.debug({ progress }, 'studio render progress');
    last = progress;
    if (Date.now() > deadline)
      throw new TransientError(
        `the studio did not finish the render within ${run.timeout} ms (last progress ${last ?? 'unknown'})`,
      );
    await sleep(250, undefined, { signal: input.req.signal });
  }
}

function studioError(message: string, input: FlowInput): Error {
  if (input.steps.persistentErrors.some((p) => new RegExp(p, 'i').test(message))) {
    return new PanicError(
      'panic_dzine_ui_failure',
      `the studio refused the render: "${message}"; retrying will not help, check the studio account`,
      { details: { studioError: message } },
    );
  }
  return new TransientError(`the studio reported: "${message}"; the render will be retried`);
}

/**
 * Our own errors pass through; a Playwright failure means a frozen page, an unreachable studio, or a UI the step file
 * no longer matches.
 */
async function classify(run: StepRun, err: unknown, where: string): Promise<unknown> {
  if (isRayVaultError(err) || run.input.req.signal.aborted) return err;
  const message = (err as Error).message?.split('\n')[0] ?? String(err);
  if (!(await pageAnswers(run.page, run.input.frozenMs))) return frozenPanic(run.page, run.input.frozenMs);
  if (/net::ERR_|NS_ERROR_/.test(message)) {
    return new TransientError(`${where}: the studio at ${run.input.studioUrl} cannot be reached (${message})`, {
      cause: err,
    });
  }
  if ((err as Error).name === 'TimeoutError') {
    return new PanicError(
      'panic_dzine_ui_failure',
      `${where}: ${message}; the studio UI may have changed, update ${run.input.stepFile}`,
      { cause: err },
    );
  }
  return new TransientError(`${where}: ${message}`, { cause: err });
}
