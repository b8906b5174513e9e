// The operator's cockpit in real Chromium against a real stack: ops-api (this
// process, from source, serving the dashboard the global setup built) and the
// evidence and render workers as their own processes running the samples.
// Every page is screenshotted into test-artifacts/dashboard/ and must log no
// console error.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { browserConfigFields, CHROMIUM_ARGS } from '../../services/render-worker/src/render/browser';
import { ROOT, waitFor } from '../support/harness';
import { startApi, type Api } from './api-support';

jest.setTimeout(240_000);

// The render worker's flags, and autoplay so the run page's video can be played without a click.
const LAUNCH_ARGS = [...CHROMIUM_ARGS, '--autoplay-policy=no-user-gesture-required'];
const SHOTS = path.join(ROOT, 'test-artifacts', 'dashboard');
// The README shows these two, refreshed with RV_DASHBOARD_README_SHOTS=1.
const README_SHOTS = process.env.RV_DASHBOARD_README_SHOTS === '1' ? path.join(ROOT, 'docs', 'screenshots') : null;

type Proc = { name: string; proc: ChildProcess; out: () => string };
let api: Api;
let browser: Browser;
let procs: Proc[] = [];

function startService(name: string, env: Record<string, string>): Proc {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, `services/${name}/src/main.ts`)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return { name, proc, out: () => out };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  api = await startApi('ops-dash');
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SUPABASE_URL|REDIS_URL|DATABASE_URL|OTEL_.*)$/.test(k)),
  ) as Record<string, string>;
  const env = { ...inherited, ...api.t.env, RAYVAULT_LOG_LEVEL: 'info' };
  procs = [startService('evidence-worker', env), startService('render-worker', env)];
  for (const [p, ready] of [
    [procs[0], 'worker started'],
    [procs[1], 'render worker ready'],
  ] as const) {
    await waitFor(
      `${p.name} ready`,
      () => p.out().includes(`"msg":"${ready}"`) || (p.proc.exitCode !== null && Promise.reject(new Error(p.out()))),
      90_000,
      200,
    );
  }
  browser = await chromium.launch({
    executablePath: browserConfigFields.parse(api.t.env).CHROMIUM_PATH,
    args: LAUNCH_ARGS,
  });
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(
    procs
      .filter((p) => p.proc.exitCode === null)
      .map(
        (p) =>
          new Promise((ok) => {
            p.proc.once('exit', ok);
            p.proc.kill('SIGTERM');
          }),
      ),
  );
  await api?.close();
});

/** A logged-in page that records console errors and failed requests. */
async function loggedIn(token: string, who: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${api.url}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText(who).waitFor();
  return { page, errors };
}

async function shot(page: Page, name: string, readme = false) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  if (readme && README_SHOTS) await page.screenshot({ path: path.join(README_SHOTS, `${name}.png`), fullPage: true });
}

const create = async (sample: string) => {
  const res = await api.call('POST', '/api/runs', { token: api.tokens.operator, body: { sample } });
  expect(res.status).toBe(201);
  return res.body.id as string;
};
const status = async (id: string) =>
  (await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body.status as string;

describe('the dashboard', () => {
  it('refuses a wrong token, then an admin drains and resumes intake from the overview; a viewer sees neither button nor New run', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${api.url}/`);
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText(/Login failed: unknown or revoked token/).waitFor();
    await page.close();
    expect(errors).toEqual([]);

    const { page: admin, errors: adminErrors } = await loggedIn(api.tokens.admin, 'admin-ops-dash (admin)');
    await admin
      .getByTestId('verdict')
      .filter({ hasText: /\[(PASS|WARN|FAIL)\|/ })
      .waitFor();
    await admin.getByText('Intake open').waitFor();
    await admin.locator('[data-queue="render"]').waitFor();
    await admin.getByRole('button', { name: 'Drain intake' }).click();
    await admin.getByText('Drain intake needs a reason: type why in Reason').waitFor();
    await admin.getByLabel('Reason').fill('maintenance window');
    await admin.getByRole('button', { name: 'Drain intake' }).click();
    await admin.getByText('Intake drained by admin-ops-dash: maintenance window').waitFor();
    await admin.getByText('Drain intake: done').waitFor();
    expect((await api.call('GET', '/api/ops/drain', { token: api.tokens.viewer })).body.intake.paused).toBe(true);
    await shot(admin, 'overview-drained', true);
    await admin.getByLabel('Reason').fill('maintenance over');
    await admin.getByRole('button', { name: 'Resume intake' }).click();
    await admin.getByText('Intake open').waitFor();
    expect((await api.call('GET', '/api/ops/drain', { token: api.tokens.viewer })).body.intake.paused).toBe(false);
    await admin.close();
    expect(adminErrors).toEqual([]);

    // A viewer reads the same overview without the admin's and the operator's controls.
    const { page: viewer, errors: viewerErrors } = await loggedIn(api.tokens.viewer, 'viewer-ops-dash (viewer)');
    await viewer.getByText('Intake open').waitFor();
    await viewer.locator('[data-queue="render"]').waitFor();
    expect(await viewer.getByRole('button', { name: /intake/ }).count()).toBe(0);
    expect(await viewer.getByRole('link', { name: 'New run' }).count()).toBe(0);
    expect(await viewer.getByRole('link', { name: 'Dead letters' }).count()).toBe(1);
    await shot(viewer, 'overview-viewer');
    await viewer.close();
    expect(viewerErrors).toEqual([]);
  });

  it('the runs list shows a run created through the API without a reload; its page shows the finished run with playable segments', async () => {
    const { page, errors } = await loggedIn(api.tokens.operator, 'operator-ops-dash (operator)');
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    const id = await create('consistent');
    await page.locator(`tr[data-run="${id}"]`).waitFor({ timeout: 5000 });
    await shot(page, 'runs');
    await waitFor(
      'consistent run done',
      async () => {
        const s = await status(id);
        if (['panic', 'failed', 'aborted', 'waiting_approval'].includes(s)) throw new Error(`run ended ${s}`);
        return s === 'done';
      },
      180_000,
      500,
    );
    // Live: the list shows the new state pushed by the server.
    await page.locator(`tr[data-run="${id}"] .status`, { hasText: 'done' }).waitFor({ timeout: 5000 });

    await page.locator(`tr[data-run="${id}"] a`).click();
    await page.getByTestId('run-status').filter({ hasText: 'done' }).waitFor();
    for (const stage of ['evidence', 'voice', 'render', 'qc'])
      await page.locator(`.waterfall li[data-stage="${stage}"]`, { hasText: 'done' }).waitFor();
    // One bar per try, drawn from the run's events: here every stage went through once, to done.
    for (const stage of ['evidence', 'voice', 'render', 'qc']) {
      const row = page.locator(`.waterfall li[data-stage="${stage}"]`);
      expect(await row.getAttribute('data-tries')).toBe('1');
      expect(await row.locator('.bar-done').getAttribute('title')).toMatch(/^attempt 1 · \S+ · fence \d+ · done · /);
    }
    // From the keyboard: a try's bar takes the focus and carries its details as its name.
    await page.locator('.waterfall li[data-stage="voice"] .bar-done').focus();
    await page.keyboard.press('Tab');
    const focused = page.locator('.waterfall li[data-stage="render"] .bar-done');
    expect(await focused.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await page.getByRole('img', { name: /^attempt 1 · \S+ · fence \d+ · done · / }).count()).toBe(4);
    const rows = page.locator('table.timeline tbody tr');
    expect(await rows.count()).toBe(3);
    expect(await page.locator('table.timeline tbody td.seg-READY').count()).toBe(3);
    const first = page.locator('video[data-segment="1"]');
    await first.waitFor();
    const duration = await first.evaluate(
      (v: HTMLVideoElement) =>
        new Promise<number>((ok, fail) => {
          if (v.readyState >= 1) return ok(v.duration);
          v.addEventListener('loadedmetadata', () => ok(v.duration), { once: true });
          v.addEventListener('error', () => fail(new Error(`video error ${v.error?.code}`)), { once: true });
        }),
    );
    expect(duration).toBeGreaterThan(0);
    // …and it plays.
    await first.evaluate(async (v: HTMLVideoElement) => {
      v.muted = true;
      await v.play();
    });
    await waitFor('video playing', () => first.evaluate((v: HTMLVideoElement) => v.currentTime > 0), 10_000);
    await shot(page, 'run-done', true);
    await page.close();
    expect(errors).toEqual([]);
  });

  it('the conflict sample: both prices and their tiers side by side; a viewer sees no decision button; Approve with a reason moves the run on', async () => {
    const id = await create('conflict');
    await waitFor('gate', async () => (await status(id)) === 'waiting_approval', 120_000, 500);

    const { page: viewer, errors: viewerErrors } = await loggedIn(api.tokens.viewer, 'viewer-ops-dash (viewer)');
    await viewer.goto(`${api.url}/runs/${id}`);
    await viewer.getByTestId('run-status').filter({ hasText: 'waiting_approval' }).waitFor();
    await viewer.getByText('Viewers read; an operator decides this gate.').waitFor();
    for (const name of ['Approve', 'Refetch', 'Abort', 'Resume', 'Unlock'])
      expect(await viewer.getByRole('button', { name }).count()).toBe(0);
    await shot(viewer, 'run-gate-viewer');
    await viewer.close();
    expect(viewerErrors).toEqual([]);

    const { page, errors } = await loggedIn(api.tokens.operator, 'operator-ops-dash (operator)');
    const gate = page.locator(`[data-gate="${id}"]`);
    await gate.getByRole('link').click();
    const diff = page.locator('table.diff');
    await diff.waitFor();
    const headers = await diff.locator('thead th').allTextContents();
    expect(headers[0]).toBe('Field');
    expect(headers.slice(1).sort()).toEqual(['VoltGo official store (tier 5)', 'shop.example (tier 4)'].sort());
    const price = diff.locator('tbody tr', { hasText: 'price' });
    expect(await price.textContent()).toMatch(/54[.,]90/);
    expect(await price.textContent()).toMatch(/49[.,]90/);
    expect(await page.locator('table.claims tr.disputed').count()).toBeGreaterThan(0);
    await shot(page, 'run-gate', true);

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approve needs a reason').waitFor();
    expect(await status(id)).toBe('waiting_approval');
    await page.getByLabel('Reason').fill('manufacturer price checked by phone');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText(/Approve: done, the run is now approved/).waitFor();
    await page
      .getByTestId('run-status')
      .filter({ hasText: /approved|running|done/ })
      .waitFor();
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    const run = (await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body;
    expect(run.events.find((e: { type: string }) => e.type === 'approve')).toMatchObject({
      actor: 'operator-ops-dash',
      reason: 'manufacturer price checked by phone',
    });
    await page.locator('table.events', { hasText: 'manufacturer price checked by phone' }).waitFor();
    await page.close();
    expect(errors).toEqual([]);
  });

  it("New run shows the API's validation error next to the product field, a sample starts and opens its run; the dead letters page loads", async () => {
    const { page, errors } = await loggedIn(api.tokens.operator, 'operator-ops-dash (operator)');
    await page.getByRole('link', { name: 'New run' }).click();
    await page
      .getByLabel('Product JSON')
      .fill('{"name": "Kettle", "sources": [{"url": "file:///etc/passwd", "tier": 5}]}');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.locator('#product-error', { hasText: /invalid input|http/ }).waitFor();
    await page.getByLabel('Product JSON').fill('{"name": ');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.locator('#product-error', { hasText: 'not valid JSON' }).waitFor();
    await shot(page, 'new-run-error');
    await page.getByLabel('Sample').selectOption('consistent');
    await page.getByRole('button', { name: 'Start sample' }).click();
    await page.getByText(/^Run [0-9a-f-]{36} created$/).waitFor();
    const id = /\/runs\/([0-9a-f-]{36})$/.exec(page.url())?.[1];
    expect(id).toBeDefined();
    expect((await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body.product.name).toBe(
      'VoltGo 65W USB-C GaN Charger',
    );
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    await page.getByText(/evidence \d+ · voice \d+ · render \d+ · qc \d+/).waitFor();
    await shot(page, 'dead-letters');
    await page.close();
    expect(errors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  });

  it('a panic: an operator sees Resume but no Unlock, an admin sees Unlock too; Resume with a reason starts a new attempt', async () => {
    // The conflict persists through every refetch: past RAYVAULT_MAX_REFETCHES the run panics
    // (panic_integrity_failure).
    const id = await create('conflict');
    let refetches = 0;
    await waitFor(
      'panic',
      async () => {
        const s = await status(id);
        if (s === 'waiting_approval') {
          await api.call('POST', `/api/runs/${id}/refetch`, {
            token: api.tokens.operator,
            body: { reason: `refetch ${++refetches}` },
          });
        }
        return s === 'panic';
      },
      180_000,
      500,
    );

    const { page: admin, errors: adminErrors } = await loggedIn(api.tokens.admin, 'admin-ops-dash (admin)');
    await admin.goto(`${api.url}/runs/${id}`);
    await admin.locator('#h-panic', { hasText: 'Panic: panic_integrity_failure' }).waitFor();
    expect(await admin.getByRole('button', { name: 'Unlock' }).count()).toBe(1);
    await shot(admin, 'run-panic-admin');
    await admin.close();
    expect(adminErrors).toEqual([]);

    const { page, errors } = await loggedIn(api.tokens.operator, 'operator-ops-dash (operator)');
    expect(await status(id)).toBe('panic');
    await page.goto(`${api.url}/runs/${id}`);
    await page.locator('#h-panic', { hasText: 'Panic: panic_integrity_failure' }).waitFor();
    expect(await page.getByRole('button', { name: 'Unlock' }).count()).toBe(0);
    const before = (await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body.attempt as number;
    await page.locator('#reason-panic').fill('sources fixed upstream');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByText(/Resume: done/).waitFor();
    // The sources still disagree and the refetches are spent, so the new attempt may panic again at once:
    // what Resume must do is start it, recorded with who and why.
    const after = await waitFor(
      'the new attempt',
      async () => {
        const run = (await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body;
        return run.attempt > before ? run : null;
      },
      30_000,
      200,
    );
    expect(after.events.find((e: { type: string }) => e.type === 'resume')).toMatchObject({
      actor: 'operator-ops-dash',
      reason: 'sources fixed upstream',
    });
    await shot(page, 'run-resumed');
    await page.close();
    expect(errors).toEqual([]);
  });
});
