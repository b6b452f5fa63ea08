// The end-to-end harness: a fake model server (`aiprism-fake-llm`), a real `aiprism serve` on loopback
// with its own data directory, and Debian's Chromium driven by playwright-core. Binaries come from
// `$CARGO_TARGET_DIR/debug` (or `target/debug`); build them first with
// `cargo build -p aiprism -p aiprism-fakes`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const screenshotDir = resolve(repoRoot, 'e2e', 'screenshots');
export const CHROMIUM = process.env.AIPRISM_CHROMIUM || '/usr/bin/chromium';

function binary(name) {
  const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repoRoot, 'target');
  // Benchmarks point AIPRISM_BIN_DIR at a release build.
  const path = join(process.env.AIPRISM_BIN_DIR || join(target, 'debug'), name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`cargo build -p aiprism -p aiprism-fakes\` first`);
  }
  return path;
}

/** Starts a process and resolves with the first stdout line matching `pattern` (its match). */
function startProcess(command, args, { env = {}, pattern, label }) {
  // Start from this environment without anything that would point the server elsewhere (a developer's
  // database, configuration file or real model keys).
  const base = { ...process.env };
  for (const key of Object.keys(base)) {
    if (/^(DATABASE_URL|AIPRISM_|BEDROCK_|ANTHROPIC_|OPENAI_|S3_|MAX_|FEEDBACK_|ENABLE_)/.test(key)) delete base[key];
  }
  const child = spawn(command, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => {
    log += chunk.toString();
    if (process.env.AIPRISM_E2E_VERBOSE) process.stderr.write(`[${label}] ${chunk}`);
  });
  return new Promise((resolveStart, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 30 s:\n${log.slice(-4000)}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const match = out.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolveStart({ child, match, log: () => log });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code} before it was ready:\n${log.slice(-4000)}`));
    });
  });
}

function stop(child) {
  if (child && child.exitCode === null) child.kill('SIGTERM');
}

/**
 * Starts the fake model server and `aiprism serve` wired to it. `script` is a fake-llm script (JSON);
 * `env` adds to the server's environment; `model: false` leaves the server without a model (rules only).
 * Resolves with `{ url, stop() }`.
 */
export async function startStack({ script, env = {}, model = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'aiprism-e2e-'));
  const fakeArgs = ['--provider', 'anthropic', '--port', '0'];
  if (script) {
    const path = join(dir, 'script.json');
    writeFileSync(path, JSON.stringify(script));
    fakeArgs.push('--script', path);
  }
  const fake = await startProcess(binary('aiprism-fake-llm'), fakeArgs, {
    pattern: /base_url=(\S+)/,
    label: 'fake-llm',
  });
  let server;
  try {
    server = await startProcess(binary('aiprism'), ['serve', '--bind', '127.0.0.1:0'], {
      env: {
        AIPRISM_DATA_DIR: join(dir, 'data'),
        ...(model ? { ANTHROPIC_API_KEY: 'e2e-test-key', ANTHROPIC_BASE_URL: fake.match[1] } : {}),
        LOG_LEVEL: 'warn',
        ...env,
      },
      pattern: /aiprism listening on (http:\/\/\S+)/,
      label: 'aiprism',
    });
  } catch (e) {
    stop(fake.child);
    throw e;
  }
  return {
    url: server.match[1],
    serverLog: server.log,
    async stop() {
      stop(server.child);
      stop(fake.child);
      await new Promise((r) => setTimeout(r, 200));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with the flags this machine's closed network needs. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A fresh browser context and page that record every console error and page error. `allow` lists
 * patterns of console errors a test expects (a refused request it provokes on purpose).
 */
export async function openPage(browser, baseURL, { colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ baseURL, acceptDownloads: true, colorScheme, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  const allowed = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = `${message.text()} (${message.location().url || 'no url'})`;
    if (!allowed.some((p) => p.test(text))) errors.push(`console error: ${text}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return {
    page,
    context,
    errors,
    /** Lets console errors matching `pattern` pass (for failures a test provokes). */
    allow(pattern) {
      allowed.push(pattern);
    },
    /** Throws when the page logged an error. */
    assertClean() {
      // Each error is reported once, by the first check after it happened.
      const found = errors.splice(0);
      if (found.length) throw new Error(`the page reported errors:\n${found.join('\n')}`);
    },
  };
}

/** Saves a full-page screenshot as `e2e/screenshots/<name>.png`. */
export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
