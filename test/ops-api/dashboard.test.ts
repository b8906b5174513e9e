// The dashboard in real Chromium: log in with a token, see an open gate with
// its evidence diff side by side, press Approve with a reason, see the run move on.
import { chromium, type Browser } from 'playwright-core';
import { startApi, startWorkers, type Api } from './api-support';

const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let api: Api;
let workers: Awaited<ReturnType<typeof startWorkers>>;
let browser: Browser;
beforeAll(async () => {
  api = await startApi('ops-dash');
  workers = await startWorkers(api.t);
  browser = await chromium.launch({ executablePath: api.rt.config.CHROMIUM_PATH, args: LAUNCH_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await workers.close();
  await api.close();
});

it('an operator logs in, sees the gate with the diff, approves it with a reason, and the run finishes', async () => {
  const created = await api.call('POST', '/api/runs', { token: api.tokens.operator, body: { product: { name: 'Gated kettle', sources: [{ url: 'https://shop.example/p', tier: 5 }] }, input: { steps: 1, gateAt: 'evidence' } } });
  const id = created.body.id as string;
  const page = await browser.newPage();
  try {
    await page.goto(`${api.url}/`);
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText(/Login failed: unknown or revoked token/).waitFor();
    await page.getByLabel('API token').fill(api.tokens.operator);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('operator-ops-dash (operator)').waitFor();

    const gate = page.locator(`[data-gate="${id}"]`);
    await gate.waitFor({ timeout: 20000 });
    await expectText(gate, 'price differs');
    const headers = await gate.locator('thead th').allTextContents();
    expect(headers).toEqual(['Field', 'a (tier 5)', 'b (tier 4)']);
    expect(await gate.locator('tbody tr').first().locator('th, td').allTextContents()).toEqual(['price', '10.00 USD', '12.00 USD']);
    await expectText(page.locator(`tr[data-run="${id}"] .status`), 'waiting_approval');

    page.once('dialog', (d) => void d.accept('diff checked on the shop page'));
    await gate.getByRole('button', { name: 'Approve' }).click();
    await page.getByText(new RegExp(`approve: run ${id.slice(0, 8)} is now approved`)).waitFor();
    await page.locator(`tr[data-run="${id}"] .status`, { hasText: 'done' }).waitFor({ timeout: 20000 });
    expect(await page.locator(`[data-gate="${id}"]`).count()).toBe(0);
    await expectText(page.locator('#workers tbody tr[data-worker="w-ops"]'), 'w-ops');
  } finally {
    await page.close();
  }
  const run = (await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body;
  expect(run.events.find((e: { type: string }) => e.type === 'approve')).toMatchObject({ actor: 'operator-ops-dash', reason: 'diff checked on the shop page' });
});

async function expectText(locator: { textContent: () => Promise<string | null> }, text: string) {
  expect(await locator.textContent()).toContain(text);
}
