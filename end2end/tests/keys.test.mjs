// Field encryption in Chromium: the key inventory, sensitive fields revealed (each
// reveal audited), changed and re-keyed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYDRATED, startConsole, textOf } from '../support.mjs';

const c = startConsole();

test('an administrator reveals, changes and re-keys encrypted fields; the key inventory lists the keys', async () => {
  const page = await c.signedInPage();
  await page.goto(`${c.base}/keys`);
  await page.waitForSelector('[data-test-id=keys-table] tbody tr');
  assert.ok(Number(await page.textContent('[data-test-id=keys-total]')) >= 100, 'generated phone numbers are encrypted');
  assert.equal(await page.textContent('[data-test-id=keys-overdue]'), '0');
  // The key longest without rotation leads the list.
  const link = page.locator('[data-test-id=keys-table] tbody tr a').first();
  const name = (await link.textContent()).trim();
  await link.click();
  await textOf(page, '[data-test-id=user-name]', name);
  assert.notEqual(await page.textContent('[data-test-id=sensitive-present]'), 'none stored');
  assert.equal(await page.locator('[data-test-id=sensitive-form]').count(), 0, 'values only on request');

  const reveal = async () => {
    await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
    await page.click('[data-test-id=reveal]');
    await page.waitForSelector('[data-test-id=sensitive-form]');
  };
  await reveal();
  await page.fill('[data-test-id=phone_number]', '+1 555 0142');
  await page.fill('[data-test-id=nationality]', 'Icelandic');
  await page.click('[data-test-id=sensitive-form] button');
  // Back on the page (a plain form post): the fields it now holds, values hidden again.
  await textOf(page, '[data-test-id=sensitive-present]', /phone number.*nationality/);
  await page.waitForFunction(() => !document.querySelector('[data-test-id=sensitive-form]'));
  await reveal();
  assert.equal(await page.inputValue('[data-test-id=phone_number]'), '+1 555 0142');
  assert.equal(await page.inputValue('[data-test-id=nationality]'), 'Icelandic');

  const version = Number(await textOf(page, '[data-test-id=key-version]', /^\d+$/));
  await page.click('[data-test-id=rotate-form] button');
  await textOf(page, '[data-test-id=key-version]', String(version + 1));
  await reveal();
  assert.equal(await page.inputValue('[data-test-id=phone_number]'), '+1 555 0142', 'readable after rotation');

  // Each reveal is in the audit log (three above).
  const reads = Number(c.sql("SELECT COUNT(*) FROM pf_audit_log WHERE action = 'read.user.sensitive'"));
  assert.equal(reads, 3);
  await page.close();
});
