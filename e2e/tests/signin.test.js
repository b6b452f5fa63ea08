// Sign-in flows in accounts mode, in the browser: the one-time link printed at first start creates the
// first admin and signs them in; sign-out ends the session (pages then send you to the login form); a
// wrong password is refused with a message; the right one signs in again; the used link does not work
// twice. Any console or page error on the happy path fails.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openPage, screenshot, startStack } from '../lib/harness.js';

const cleanup = [];

after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** The path of the one-time sign-in link the server printed on stderr. */
async function signinPath(stack) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const m = stack.serverLog().match(/https?:\/\/[^/\s]+(\/signin\/[A-Za-z0-9_-]+)/);
    if (m) return m[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no sign-in link was printed:\n${stack.serverLog().slice(-2000)}`);
}

test('first admin through the one-time link, sign out, wrong and right password', async () => {
  const stack = await startStack({ model: false, env: { AIPRISM_AUTH: 'accounts' } });
  cleanup.push(() => stack.stop());
  const browser = await launchBrowser();
  cleanup.push(() => browser.close());
  const link = await signinPath(stack);

  // Before anyone signs in, pages send the browser to the login form.
  const { page, assertClean } = await openPage(browser, stack.url);
  await page.goto('/');
  await page.waitForURL(/\/login/);
  await page.locator('#login-name').waitFor();

  // The one-time link creates the first admin and signs them in.
  await page.goto(link);
  await page.fill('#admin-name', 'Ana.Reviewer');
  await page.fill('#admin-password', 'correct horse battery');
  await page.fill('#admin-password2', 'correct horse battery');
  await page.click('button:has-text("Create admin and sign in")');
  await page.waitForURL((url) => !/\/signin\//.test(url.pathname));
  const signOut = page.locator('.topbar-actions a[href="/logout"]');
  await signOut.waitFor();
  assert.match(await signOut.textContent(), /ana\.reviewer/i, 'the header names who is signed in');
  // The session cookie is out of scripts' reach (the CSRF double-submit cookie is not a secret).
  const session = (await page.context().cookies()).filter((c) => c.name !== 'aiprism_csrf');
  assert.ok(session.length > 0 && session.every((c) => c.httpOnly && c.sameSite === 'Lax'), JSON.stringify(session));
  await screenshot(page, 'signed-in');
  assertClean();

  // Sign out: the session ends and pages ask for a login again.
  await signOut.click();
  await page.click('button:has-text("Sign out")');
  await page.goto('/dashboard');
  await page.waitForURL(/\/login/);
  assertClean();

  // A wrong password is refused with a message, on a page of its own (the refusal is an error status).
  const wrong = await openPage(browser, stack.url);
  await wrong.page.goto('/login');
  await wrong.page.fill('#login-name', 'ana.reviewer');
  await wrong.page.fill('#login-password', 'not the password');
  await wrong.page.click('button:has-text("Sign in")');
  await wrong.page.locator('.form-error').waitFor();
  assert.equal(await wrong.page.locator('.topbar-actions a[href="/logout"]').count(), 0, 'not signed in');
  await wrong.context.close();

  // The right password signs in again.
  await page.goto('/login');
  await page.fill('#login-name', 'ana.reviewer');
  await page.fill('#login-password', 'correct horse battery');
  await page.click('button:has-text("Sign in")');
  await page.waitForURL((url) => !/\/login/.test(url.pathname));
  await page.locator('.topbar-actions a[href="/logout"]').waitFor();
  assertClean();

  // The one-time link is spent.
  const again = await openPage(browser, stack.url);
  const response = await again.page.goto(link);
  assert.ok(response.status() >= 400, `the used link answers ${response.status()}`);
  assert.equal(await again.page.locator('#admin-name').count(), 0, 'no admin form behind a used link');
  await again.context.close();
});
