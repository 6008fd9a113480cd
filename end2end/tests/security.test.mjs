// The security review in Chromium: a compliance reviewer opens it from the
// navigation, runs it, and sees the finding their own fresh role makes, with how
// to fix it; the page's counts follow the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYDRATED, startConsole, viaNav } from '../support.mjs';

const c = startConsole();

test('a compliance reviewer runs the security review and reads its findings', async () => {
  const reviewer = { username: 'sec_reviewer', password: 'sec-reviewer-password-1' };
  c.addAdmin(reviewer, 'sec_reviewer@example.com');
  const id = c.sql(`SELECT user_id FROM pf_users WHERE username = '${reviewer.username}'`);
  c.sql(`UPDATE pf_console_roles SET role = 'compliance' WHERE user_id = '${id}'`);
  const page = await c.signedInPage(reviewer);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await viaNav(page, 'compliance', 'Security review');
  await page.waitForSelector('[data-test-id=security-counts]');
  const mine = `[data-test-id=security-open] [data-check=recent_grant]:has-text("${reviewer.username}")`;

  await page.click('[data-test-id=security-run-form] button');
  assert.match(await page.textContent('[data-test-id=security-ran]'), /Ran the review: \d+ opened, \d+ closed; open: /);
  await page.waitForSelector(mine);
  const row = page.locator(mine);
  assert.equal(await row.getAttribute('data-severity'), 'low');
  assert.match(await row.textContent(), /compliance granted \d{4}-\d\d-\d\d/);
  assert.equal(await row.locator('a').getAttribute('href'), '/accounts');
  // The counts say what the table lists.
  const counts = page.locator('[data-test-id=security-counts]');
  const open = ['high', 'medium', 'low'].map(async (s) => Number(await counts.getAttribute(`data-${s}`)));
  const total = (await Promise.all(open)).reduce((a, b) => a + b, 0);
  assert.equal(await page.locator('[data-test-id=security-open] [data-test-id=security-finding]').count(), total);
  assert.match(c.sql("SELECT COUNT(*) FROM pf_audit_log WHERE action = 'security.review' AND user_id = '" + id + "'"), /^1$/);
  await page.close();
});
