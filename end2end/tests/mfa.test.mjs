// Two-factor sign-in in Chromium: set up with a QR code, then codes and recovery codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYDRATED, startConsole, textOf, totp } from '../support.mjs';

const c = startConsole();

test('an administrator sets up two-factor sign-in with a QR code and signs in with a code', async () => {
  const second = { username: 'totp_admin', password: 'totp-password-123' };
  c.addAdmin(second, 'totp@example.com');
  const page = await c.signedInPage(second);
  await page.click('[data-test-id=whoami]');
  await page.waitForSelector('[data-test-id=mfa-off]');
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await page.click('[data-test-id=mfa-start]');
  await page.waitForSelector('.qr svg');
  const secret = (await page.textContent('[data-test-id=mfa-secret]')).trim();
  await page.fill('[data-test-id=mfa-code]', totp(secret, Date.now() / 1000));
  await page.click('[data-test-id=mfa-confirm-form] button[type=submit]');
  await page.waitForSelector('[data-test-id=recovery-codes] li');
  const codes = await page.locator('[data-test-id=recovery-codes] li').allTextContents();
  assert.equal(codes.length, 10);
  await page.close();

  // A password alone no longer signs in; the next code does, and a recovery code once.
  const refused = await c.browser.newPage();
  await refused.goto(`${c.base}/login`);
  await refused.fill('input[name=username]', second.username);
  await refused.fill('input[name=password]', second.password);
  await refused.click('[data-test-id=sign-in]');
  await textOf(refused, '[data-test-id=login-message]', /incorrect/);
  await refused.close();
  const withCode = await c.signedInPage(second, totp(secret, Date.now() / 1000 + 30));
  await withCode.close();
  const withRecovery = await c.signedInPage(second, codes[0].trim());
  await withRecovery.close();
});
