// Sign-in and sessions in Chromium: the sign-in page, sign-out, revoked sessions on a
// user's page, and an account locked by wrong passwords unlocked by an administrator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, HYDRATED, startConsole, textOf } from '../support.mjs';

const c = startConsole();

test('wrong password is refused with one sentence', async () => {
  const page = await c.browser.newPage();
  await page.goto(`${c.base}/login`);
  await page.fill('input[name=username]', ADMIN.username);
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('[data-test-id=sign-in]');
  await textOf(page, '[data-test-id=login-message]', 'The username, password or two-factor code is incorrect.');
  assert.match(page.url(), /error=credentials/);
  await page.close();
});

test('the password toggle works once hydrated', async () => {
  const page = await c.browser.newPage();
  await page.goto(`${c.base}/login`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  const input = page.locator('[data-test-id=password]');
  assert.equal(await input.getAttribute('type'), 'password');
  await page.click('[data-test-id=toggle-password]');
  await page.waitForSelector('[data-test-id=password][type=text]');
  assert.equal((await page.textContent('[data-test-id=toggle-password]')).trim(), 'Hide');
  await page.close();
});

test('sign out ends the session', async () => {
  const page = await c.signedInPage();
  await page.click('[data-test-id=sign-out]');
  await textOf(page, '[data-test-id=login-message]', 'You are signed out.');
  // The session is over: a console page sends the browser to sign in.
  await page.goto(`${c.base}/users`);
  await page.waitForSelector('[data-test-id=sign-in]');
  assert.equal(page.url(), `${c.base}/login`);
  await page.close();
});

test('revoked sessions show on request (hydrated toggle on the detail page)', async () => {
  // A session of its own to revoke, whatever ran before.
  const other = await c.signedInPage();
  await other.click('[data-test-id=sign-out]');
  await textOf(other, '[data-test-id=login-message]', 'You are signed out.');
  await other.close();
  const page = await c.signedInPage();
  const id = c.sql(`SELECT user_id FROM pf_users WHERE username = '${ADMIN.username}'`);
  await page.goto(`${c.base}/users/${id}`);
  await page.waitForSelector('[data-test-id=sessions] tbody tr');
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  const before = await page.locator('[data-test-id=sessions] tbody tr').count();
  const toggle = '[data-test-id=toggle-inactive]';
  assert.match(await textOf(page, toggle, /^Show \d+ revoked$/), /revoked/, 'the session signed out above');
  await page.click(toggle);
  await textOf(page, toggle, /^Hide \d+ revoked$/);
  await page.waitForFunction((n) => document.querySelectorAll('[data-test-id=sessions] tbody tr').length > n, before);
  await page.close();
});

test('an administrator unlocks an account locked by wrong passwords', async () => {
  const target = { username: 'lock_target', password: 'lock-target-password-1' };
  c.addAdmin(target, 'lock@example.com');
  const guesser = await c.browser.newPage();
  for (let i = 0; i < 5; i++) {
    await guesser.goto(`${c.base}/login`);
    await guesser.fill('input[name=username]', target.username);
    await guesser.fill('input[name=password]', `wrong guess ${i}`);
    await guesser.click('[data-test-id=sign-in]');
    await textOf(guesser, '[data-test-id=login-message]', /incorrect/);
  }
  await guesser.close();

  const admin = await c.signedInPage();
  const id = c.sql(`SELECT user_id FROM pf_users WHERE username = '${target.username}'`);
  await admin.goto(`${c.base}/users/${id}`);
  await textOf(admin, '[data-test-id=sign-in-lock]', /^locked until/);
  await admin.click('[data-test-id=unlock-form] button');
  await textOf(admin, '[data-test-id=sign-in-lock]', 'not locked');
  await admin.close();

  const holder = await c.signedInPage(target);
  assert.equal(await holder.textContent('[data-test-id=whoami]'), target.username);
  await holder.close();
});
