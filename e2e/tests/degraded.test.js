// What the reviewer sees when the AI is not there: a failing model gives an "AI review unavailable"
// state with the reason and a Retry that starts a new review; no model at all gives a notice. Rule
// findings are still shown, marked as rule findings. Any console or page error fails.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openPage, screenshot, startStack } from '../lib/harness.js';
import { incidentWriteup } from '../lib/docx.js';

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const cleanup = [];

after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function uploadAndWait(page) {
  await page.goto('/');
  await page.setInputFiles('#file-input', { name: 'incident.docx', mimeType: DOCX, buffer: incidentWriteup() });
  await page.click('#upload-button');
  await page.waitForURL(/\/documents\/[^/?]+$/);
}

test('a failing model shows "AI review unavailable" with the reason and a working Retry', async () => {
  const stack = await startStack({ script: { default: { kind: 'server_error', status: 500 } } });
  cleanup.push(() => stack.stop());
  const browser = await launchBrowser();
  cleanup.push(() => browser.close());
  const { page, assertClean } = await openPage(browser, stack.url);
  await uploadAndWait(page);
  const banner = page.locator('.banner-error');
  await banner.waitFor({ timeout: 60_000 });
  assert.match(await banner.textContent(), /AI review unavailable/);
  const firstReview = await page.evaluate(() => document.querySelector('#review').dataset.review);
  await screenshot(page, 'review-ai-unavailable');
  // Rule findings are still there, marked as such.
  await page.click('#section-nav a:has-text("Actions")');
  await page.locator('.finding-card.source-rule').first().waitFor();
  assert.match(await page.locator('.finding-card.source-rule').first().textContent(), /Rule: /);

  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && /\/reviews$/.test(r.url())),
    banner.locator('button:has-text("Retry")').click(),
  ]);
  assert.equal(response.status(), 202);
  const retried = await response.json();
  assert.notEqual(retried.id, JSON.parse(firstReview).id, 'Retry starts a new review');
  await page.locator('.banner-error').waitFor({ timeout: 60_000 });
  await page.reload();
  await page.locator('.banner-error').waitFor();
  assertClean();
});

test('without a model the page says only rules ran', async () => {
  const stack = await startStack({ model: false });
  cleanup.push(() => stack.stop());
  const browser = await launchBrowser();
  cleanup.push(() => browser.close());
  const { page, assertClean } = await openPage(browser, stack.url);
  await uploadAndWait(page);
  await page.locator('#review-notice').waitFor({ timeout: 60_000 });
  assert.match(await page.textContent('#review-notice'), /No AI model is configured/);
  await page.goto('/dashboard');
  await page.locator('#models-notice:not([hidden])').waitFor();
  assertClean();
});
