// The measuring part of bench/ui/run.sh (see there). Uses the e2e harness and its playwright-core.
import { launchBrowser, startStack } from '../../e2e/lib/harness.js';

const SECTIONS = 100;
const DECISIONS = 200;
const CLICKS = 60;

function markdown() {
  const parts = ['# Incident write-up\n'];
  for (let i = 1; i <= SECTIONS; i += 1) {
    parts.push(`## Section ${i}: finding area ${i}\n`);
    parts.push(`Section ${i} starts with a sentence the model quotes. The service degraded at 09:${String(i % 60).padStart(2, '0')} UTC and about ${i * 10} requests failed.\n`);
    parts.push('The on-call engineer was paged, acknowledged within five minutes and rolled back the release after checking the dashboards and the error budget.\n');
    parts.push(`Owner: TBD. Follow-up ${i} is due by [DATE].\n`);
  }
  return parts.join('\n');
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const fmt = (ms) => `${ms.toFixed(1)} ms`;

// Rate limiting is off: the decision loop below is what is measured, not the API's budget.
const stack = await startStack({ env: { AIPRISM_ANALYSIS_CONCURRENCY: '4', AIPRISM_API_RATE_PER_MINUTE: '0' } });
const browser = await launchBrowser();
try {
  // Upload and wait for the review (over plain HTTP: not part of what is measured).
  const form = new FormData();
  form.append('file', new Blob([markdown()], { type: 'text/markdown' }), 'hundred.md');
  const uploaded = await (await fetch(`${stack.url}/api/v1/documents`, { method: 'POST', body: form })).json();
  const sectionCount = uploaded.sections.length;
  for (let i = 0; i < 600; i += 1) {
    const review = await (await fetch(`${stack.url}/api/v1/reviews/${uploaded.review.id}`)).json();
    if (!['queued', 'running'].includes(review.status)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const findings = (await (await fetch(`${stack.url}/api/v1/documents/${uploaded.id}/findings`)).json()).findings;
  const withModel = findings.find((f) => f.source === 'model') || findings[0];
  const path = `/documents/${uploaded.id}?section=${withModel.section_id}`;
  console.log(`document: ${sectionCount} sections, ${findings.length} findings`);

  // Cold loads: bytes on the wire and first contentful paint.
  const transfers = [];
  const coldPaints = [];
  for (let run = 0; run < 5; run += 1) {
    const context = await browser.newContext({ baseURL: stack.url });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const types = new Map();
    const bytes = { Document: 0, Script: 0, Stylesheet: 0, Other: 0 };
    cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.type));
    cdp.on('Network.loadingFinished', (e) => {
      const type = types.get(e.requestId);
      bytes[type in bytes ? type : 'Other'] += e.encodedDataLength;
    });
    await page.goto(path, { waitUntil: 'networkidle' });
    await page.locator('#findings-list .finding-card').first().waitFor();
    coldPaints.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0].startTime));
    transfers.push(bytes);
    await context.close();
  }
  const t = transfers[0];
  const html = t.Document + t.Script + t.Stylesheet;
  console.log(`transfer (cold, gzip): HTML ${(t.Document / 1024).toFixed(1)} KB + JS ${(t.Script / 1024).toFixed(1)} KB + CSS ${(t.Stylesheet / 1024).toFixed(1)} KB = ${(html / 1024).toFixed(1)} KB (target < 200 KB); API data ${(t.Other / 1024).toFixed(1)} KB`);

  // Warm loads (assets from the immutable cache) in one context.
  const context = await browser.newContext({ baseURL: stack.url });
  const page = await context.newPage();
  const warmPaints = [];
  for (let run = 0; run < 6; run += 1) {
    await page.goto(path, { waitUntil: 'load' });
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0].startTime);
    if (run > 0) warmPaints.push(fcp);
  }
  console.log(`first contentful paint: cold median ${fmt(quantile(coldPaints, 0.5))} (max ${fmt(Math.max(...coldPaints))}), warm median ${fmt(quantile(warmPaints, 0.5))} (target < 500 ms)`);

  // Decision round trips from the browser: the API call alone...
  await page.locator('.finding-card [data-action="accept"]').first().waitFor();
  const target = withModel;
  const api = await page.evaluate(
    async ({ id, n }) => {
      const token = document.cookie.match(/aiprism_csrf=([A-Za-z0-9]+)/)[1];
      const times = [];
      for (let i = 0; i < n; i += 1) {
        const start = performance.now();
        const response = await fetch(`/api/v1/findings/${id}/decision`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token },
          body: JSON.stringify({ status: i % 2 ? 'rejected' : 'accepted' }),
        });
        await response.json();
        if (!response.ok) throw new Error(`decision answered ${response.status}`);
        times.push(performance.now() - start);
      }
      return times;
    },
    { id: target.id, n: DECISIONS },
  );
  console.log(`accept/reject API round trip (browser fetch, ${DECISIONS}): p50 ${fmt(quantile(api, 0.5))}, p95 ${fmt(quantile(api, 0.95))} (target p95 < 50 ms)`);

  // ...and the whole loop: click, server answers, the card shows the new state.
  const clicks = [];
  for (let i = 0; i < CLICKS; i += 1) {
    const card = page.locator('.finding-card.source-model, .finding-card.source-rule').first();
    const action = i % 2 ? 'reject' : 'accept';
    const done = i % 2 ? 'status-rejected' : 'status-accepted';
    const id = await card.getAttribute('data-finding-id');
    const ms = await page.evaluate(
      ({ id, action, done }) =>
        new Promise((resolve) => {
          const list = document.querySelector('#findings-list');
          const start = performance.now();
          const observer = new MutationObserver(() => {
            const now = list.querySelector(`[data-finding-id="${id}"]`);
            if (now && now.classList.contains(done)) {
              observer.disconnect();
              resolve(performance.now() - start);
            }
          });
          observer.observe(list, { childList: true, subtree: true, attributes: true });
          list.querySelector(`[data-finding-id="${id}"] [data-action="${action}"]`).click();
        }),
      { id, action, done },
    );
    clicks.push(ms);
  }
  console.log(`accept/reject click → card updated (${CLICKS}): p50 ${fmt(quantile(clicks, 0.5))}, p95 ${fmt(quantile(clicks, 0.95))} (target p95 < 50 ms)`);
  await context.close();
} finally {
  await browser.close();
  await stack.stop();
}
