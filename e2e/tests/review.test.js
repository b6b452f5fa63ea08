// The reviewer's whole workflow in a real browser against a real server: upload → live progress →
// findings appear → accept / reject / undo (surviving a reload) → highlight + comment → chat reply
// streams → export → the downloaded .docx carries the accepted comments. Any console or page error fails.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launchBrowser, openPage, screenshot, screenshotDir, startStack } from '../lib/harness.js';
import { incidentWriteup } from '../lib/docx.js';
import { readZip } from '../lib/zip.js';

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const FIRST_QUOTE = 'On 3 March the payment service failed for 42 minutes.';

let stack;
let browser;
let session;
let documentUrl;

before(async () => {
  // Each section's model call takes 700 ms and one section runs at a time, so progress is observable.
  stack = await startStack({
    script: { default: { kind: 'delayed', millis: 700, then: { kind: 'findings' } } },
    env: { AIPRISM_ANALYSIS_CONCURRENCY: '1' },
  });
  browser = await launchBrowser();
  session = await openPage(browser, stack.url);
  console.log(`screenshots: ${screenshotDir}`);
});

// Errors are charged to the test during which they happened, even when it failed early.
afterEach(() => session && session.assertClean());

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

const modelCard = () => session.page.locator('.finding-card.source-model').first();

test('uploading a .docx opens its review and shows live progress from the server', async () => {
  const { page } = session;
  await page.goto('/');
  await page.setInputFiles('#file-input', { name: 'incident.docx', mimeType: DOCX, buffer: incidentWriteup() });
  assert.match(await page.textContent('#file-name'), /incident\.docx/);
  await page.click('#upload-button');
  await page.waitForURL(/\/documents\/[^/?]+$/);
  documentUrl = page.url();

  // A real progress bar: the server's sections done / total, moving while findings arrive.
  const bar = page.locator('#review-progress');
  await bar.waitFor();
  assert.equal(await bar.getAttribute('max'), '5');
  const seen = new Set();
  let findingsWhileRunning = 0;
  let reloadedAt = null;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await page.locator('.banner-done').count()) === 0) {
    if (await bar.count()) {
      const value = await bar.evaluate((el) => el.value).catch(() => null);
      if (value === null) continue;
      seen.add(value);
      findingsWhileRunning = Math.max(findingsWhileRunning, await page.locator('.finding-card').count());
      // A reload mid-review picks the progress up from the server where it was, never from zero.
      if (reloadedAt === null && value > 0 && value < 5) {
        reloadedAt = value;
        await page.reload();
        await page.locator('#review-progress, .banner-done').first().waitFor();
        if (await bar.count()) {
          const after = await bar.evaluate((el) => el.value);
          assert.ok(after >= reloadedAt, `after a reload progress is ${after}, was ${reloadedAt}`);
          assert.equal(await bar.getAttribute('max'), '5');
        }
      }
    }
    await page.waitForTimeout(100);
  }
  assert.ok(reloadedAt !== null, 'the page was reloaded while the review ran');
  await page.locator('.banner-done').waitFor();
  assert.ok([...seen].some((v) => v > 0 && v < 5), `intermediate progress was shown (saw ${[...seen]})`);
  assert.ok(findingsWhileRunning > 0, 'findings appeared while the review ran');
  assert.match(await page.textContent('#progress-live'), /Review finished/);
  assert.match(await page.textContent('#review-banner'), /5 of 5 sections/);
  await modelCard().waitFor();
  assert.match(await modelCard().textContent(), /Fake finding about/);
  await screenshot(page, 'review-light');
  session.assertClean();
});

test('accept, reject and undo are stored on the server and survive a reload', async () => {
  const { page } = session;
  const card = modelCard();
  await card.locator('[data-action="accept"]').click();
  await page.locator('.finding-card.source-model.status-accepted').waitFor();
  assert.equal(await modelCard().locator('[data-action="accept"]').getAttribute('aria-pressed'), 'true');
  await page.reload();
  await page.locator('.finding-card.source-model.status-accepted').waitFor();

  await modelCard().locator('[data-action="reject"]').click();
  await page.locator('.finding-card.source-model.status-rejected').waitFor();
  await page.reload();
  await page.locator('.finding-card.source-model.status-rejected').waitFor();

  await modelCard().locator('[data-action="undo"]').click();
  await page.locator('.finding-card.source-model.status-pending').waitFor();
  await page.reload();
  await page.locator('.finding-card.source-model.status-pending').waitFor();

  // The keyboard does the same: J selects, A accepts, R rejects, U undoes.
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('j');
  await page.locator('.finding-card.selected').waitFor();
  await page.keyboard.press('r');
  await page.locator('.finding-card.selected.status-rejected').waitFor();
  await page.keyboard.press('u');
  await page.locator('.finding-card.selected.status-pending').waitFor();
  await page.keyboard.press('a');
  await page.locator('.finding-card.source-model.status-accepted').waitFor();
  await page.reload();
  await page.locator('.finding-card.source-model.status-accepted').waitFor();
  session.assertClean();
});

test('a quote click flashes it in the text, and sections change with N / P and the list', async () => {
  const { page } = session;
  await modelCard().locator('[data-action="quote"]').click();
  await page.locator('.doc-section:not([hidden]) mark.flash').waitFor();
  assert.equal(await page.locator('.doc-section:not([hidden]) mark.hl').first().textContent(), FIRST_QUOTE);

  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('n');
  await page.waitForURL(/section=/);
  assert.match(await page.textContent('#section-position'), /Section 2 of 5/);
  await page.keyboard.press('p');
  assert.match(await page.textContent('#section-position'), /Section 1 of 5/);

  await page.click('#section-nav a:has-text("Actions")');
  assert.match(await page.textContent('#section-position'), /Section 5 of 5/);
  // Rule findings are marked as such; the source filter keeps only them.
  await page.selectOption('#findings-filters select[name="source"]', 'rule');
  await page.locator('.finding-card.source-rule').first().waitFor();
  assert.equal(await page.locator('.finding-card:not(.source-rule)').count(), 0);
  assert.match(await page.locator('.finding-card.source-rule').first().textContent(), /Rule: /);
  await page.selectOption('#findings-filters select[name="source"]', '');
  // The section survives a reload (it is in the URL).
  await page.reload();
  assert.match(await page.textContent('#section-position'), /Section 5 of 5/);
  await page.click('#section-nav a:has-text("Executive Summary")');
  session.assertClean();
});

test('selected text gets an anchored, coloured reviewer comment that survives a reload', async () => {
  const { page } = session;
  const selected = await page.evaluate((needle) => {
    const root = document.querySelector('.doc-section:not([hidden]) [data-text]');
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.data.indexOf(needle);
      if (at >= 0) {
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + needle.length);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
        return true;
      }
    }
    return false;
  }, 'About 1,200 customers could not pay.');
  assert.ok(selected);
  await page.locator('#comment-selection:not([disabled])').waitFor();
  await page.click('.swatch.hl-green');
  await page.click('#comment-selection');
  await page.locator('#comment-dialog[open]').waitFor();
  assert.equal(await page.textContent('#comment-quote'), 'About 1,200 customers could not pay.');
  await page.fill('#comment-text', 'Say how many customers exactly and where the number comes from.');
  await page.click('#comment-dialog button[type="submit"]');
  await page.locator('.finding-card.source-reviewer').waitFor();
  await page.locator('.doc-section:not([hidden]) mark.hl-green').waitFor();
  await page.reload();
  await page.locator('.finding-card.source-reviewer').waitFor();
  assert.equal(await page.locator('.doc-section:not([hidden]) mark.hl-green').textContent(), 'About 1,200 customers could not pay.');

  // A comment on a finding is a reply under it; an edit changes the finding's text.
  await modelCard().locator('[data-action="comment"]').click();
  await page.fill('#comment-text', 'Agreed: add the exact start time.');
  await page.click('#comment-dialog button[type="submit"]');
  await modelCard().locator('.reply').waitFor();
  await modelCard().locator('[data-action="edit"]').click();
  await page.fill('#edit-description', 'Name the exact start and end times of the outage.');
  await page.click('#edit-dialog button[type="submit"]');
  await page.locator('.finding-card.source-model:has-text("Name the exact start")').waitFor();
  await page.reload();
  assert.match(await modelCard().textContent(), /Name the exact start/);
  assert.match(await modelCard().textContent(), /edited/);
  session.assertClean();
});

test('the confidence slider hides findings below the threshold', async () => {
  const { page } = session;
  await page.locator('#confidence').fill('1');
  await page.waitForFunction(() => document.querySelectorAll('.finding-card.source-model').length === 0);
  assert.ok((await page.locator('.finding-card.source-reviewer').count()) > 0, 'reviewer comments stay');
  await page.locator('#confidence').fill('0.8');
  await modelCard().waitFor();
  session.assertClean();
});

test('a chat question is answered as a stream and kept in the history', async () => {
  const { page } = session;
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('/');
  await page.locator('#panel-chat:not([hidden])').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'chat-input');
  await page.fill('#chat-input', 'What is the **main** risk in this section?');
  const streamed = page.waitForResponse((r) => r.request().method() === 'POST' && /\/chat$/.test(r.url()));
  await page.keyboard.press('Enter');
  const response = await streamed;
  assert.match(response.headers()['content-type'], /text\/event-stream/);
  const events = (await response.text()).match(/^event: ?token$/gm) || [];
  assert.ok(events.length > 1, `the reply arrives as a stream of tokens (${events.length} token events)`);
  const reply = page.locator('.chat-message.from-assistant[data-message-id]:not([data-message-id=""])').last();
  await reply.waitFor({ timeout: 30_000 });
  assert.match(await reply.textContent(), /fake answer/i);
  await page.reload();
  await page.click('#tab-chat');
  await page.locator('.chat-message.from-user:has-text("main")').waitFor();
  await page.locator('.chat-message.from-assistant[data-message-id]').first().waitFor();
  session.assertClean();
});

test('the export dialog summarises, and the downloaded .docx has the accepted comments', async () => {
  const { page } = session;
  await page.click('#tab-findings');
  await page.click('#export-open');
  await page.locator('#export-dialog[open]').waitFor();
  const summary = await page.textContent('#export-summary');
  assert.match(summary, /Accepted findings\s*1/);
  assert.match(summary, /Reviewer comments\s*2/);
  assert.ok(await page.locator('#export-warning').isHidden());
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-submit')]);
  const path = await download.path();
  const files = readZip(readFileSync(path));
  const comments = files.get('word/comments.xml');
  assert.ok(comments, `the .docx has a comments part (parts: ${[...files.keys()].join(', ')})`);
  const xml = comments.toString('utf8');
  assert.match(xml, /Name the exact start and end times of the outage/);
  assert.match(xml, /Say how many customers exactly/);
  assert.ok(!/Fake finding about: 09:02/.test(xml), 'pending findings are left out');
  await page.locator('#export-result:has-text("Ready")').waitFor();
  await page.keyboard.press('Escape');
  session.assertClean();
});

test('every page renders in light and dark without errors', async () => {
  const id = new URL(documentUrl).pathname.split('/').pop();
  const pages = [
    ['documents', '/'],
    ['review', `/documents/${id}`],
    ['statistics', `/documents/${id}/statistics`],
    ['dashboard', '/dashboard'],
  ];
  for (const scheme of ['light', 'dark']) {
    const view = await openPage(browser, stack.url, { colorScheme: scheme });
    for (const [name, path] of pages) {
      await view.page.goto(path);
      await view.page.waitForLoadState('networkidle');
      if (name === 'statistics' || name === 'dashboard') {
        await view.page.waitForFunction(() => !/Loading/.test(document.querySelector('[role="status"]').textContent));
        assert.equal(await view.page.locator('.error-text').count(), 0, `${name} loaded every part`);
        assert.ok((await view.page.locator('svg.chart-svg').count()) > 0, `${name} has charts`);
      }
      await screenshot(view.page, `${name}-${scheme}`);
    }
    view.assertClean();
    await view.context.close();
  }
});

test('the dashboard resets cooldowns, the theme toggle persists, and ? lists the shortcuts', async () => {
  const { page } = session;
  await page.goto('/dashboard');
  await page.locator('#model-rows tr').first().waitFor();
  assert.match(await page.textContent('#model-rows'), /claude|anthropic/i);
  // The log across documents links entries to their document (the upload and the decisions made above).
  await page.locator('#recent-activity-rows a').first().waitFor();
  assert.match(await page.textContent('#recent-activity-rows'), /incident\.docx/);
  assert.match(await page.textContent('#recent-activity-rows'), /finding_accepted|document_uploaded/);
  await page.click('#reset-cooldowns');
  await page.locator('.toast-success').waitFor();

  await page.click('#theme-toggle');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
  await page.reload();
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
  await page.click('#theme-toggle');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'light');

  await page.keyboard.press('?');
  await page.locator('#shortcuts-dialog[open]').waitFor();
  assert.match(await page.textContent('#shortcuts-list'), /Show this list/);
  await page.keyboard.press('Escape');
  await page.locator('#shortcuts-dialog[open]').waitFor({ state: 'detached' });
  session.assertClean();
});

test('uploads are checked before sending, the server refusal is shown, and delete asks first', async () => {
  const { page, allow } = session;
  await page.goto('/');
  await page.setInputFiles('#file-input', { name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4') });
  assert.match(await page.textContent('#file-name'), /not a \.docx, \.md or \.txt/);
  assert.ok(await page.locator('#upload-button').isDisabled());

  // A file the server cannot read: its JSON error message is shown.
  allow(/status of 4\d\d/);
  await page.setInputFiles('#file-input', { name: 'broken.docx', mimeType: DOCX, buffer: Buffer.from('not a zip at all') });
  await page.click('#upload-button');
  const toast = page.locator('.toast-error').last();
  await toast.waitFor();
  assert.match(await toast.textContent(), /Upload refused: /);

  const rows = page.locator('#documents-table tbody tr');
  const before = await rows.count();
  await rows.first().locator('[data-action="delete"]').click();
  await page.locator('#confirm-dialog[open]').waitFor();
  await page.click('#confirm-dialog [data-close]');
  assert.equal(await rows.count(), before);
  await rows.first().locator('[data-action="delete"]').click();
  await page.click('#confirm-ok');
  await page.locator('.toast-success:has-text("Deleted")').waitFor();
  session.assertClean();
});
