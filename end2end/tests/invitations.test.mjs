// Invitations in Chromium: an administrator invites, the invitee makes their
// account from the link and signs in; the used link says so (410).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYDRATED, startConsole, textOf } from '../support.mjs';

const c = startConsole();

test('an invitation is accepted in the browser: the invitee makes their account and signs in', async () => {
  const admin = await c.signedInPage();
  await admin.goto(`${c.base}/invitations`);
  await admin.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await admin.fill('[data-test-id=invite-form] input[name=email]', 'e2e-invitee@example.com');
  await admin.selectOption('[data-test-id=invite-form] select[name=role]', 'sre');
  await admin.click('[data-test-id=invite-form] button[type=submit]');
  const link = await textOf(admin, '[data-test-id=invitation-link] code', /\/invite\/[0-9a-f]{64}$/);
  await admin.close();

  const page = await c.browser.newPage();
  await page.goto(link);
  assert.match(await page.textContent('[data-test-id=invite-for]'), /e2e-invitee@example\.com/);
  await page.fill('[data-test-id=invite-username]', 'e2e_invitee');
  await page.fill('[data-test-id=invite-password]', 'invitee-password-1');
  await page.click('[data-test-id=accept]');
  await textOf(page, '[data-test-id=login-message]', 'Your account is ready: sign in.');
  // The link is used up: its page says so, with the status 410.
  const again = await page.goto(link);
  assert.equal(again.status(), 410);
  await textOf(page, '[data-test-id=error]', /used already/);
  await page.close();
  const invitee = await c.signedInPage({ username: 'e2e_invitee', password: 'invitee-password-1' });
  assert.equal(await invitee.textContent('[data-test-id=whoami]'), 'e2e_invitee');
  await invitee.close();
});
