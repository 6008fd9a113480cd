// Access reviews in Chromium: a compliance reviewer starts a campaign over the
// SREs from the navigation, decides each line (keeping one role, revoking the
// other), sees the campaign close with its summary, and downloads the report and
// its signature, which check with the public key the page shows (Node's Ed25519,
// no secret of ours).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HYDRATED, startConsole, viaNav } from '../support.mjs';

const c = startConsole();

function account(username, role) {
  const a = { username, password: `${username}-password-1` };
  c.addAdmin(a, `${username}@example.com`);
  const id = c.sql(`SELECT user_id FROM pf_users WHERE username = '${username}'`);
  c.sql(`UPDATE pf_console_roles SET role = '${role}' WHERE user_id = '${id}'`);
  return a;
}

test('a compliance reviewer runs a campaign to the end and downloads its signed report', async () => {
  const reviewer = account('ar_reviewer', 'compliance');
  account('ar_sre_keep', 'sre');
  account('ar_sre_gone', 'sre');
  const page = await c.signedInPage(reviewer);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await viaNav(page, 'compliance', 'Access reviews');
  await page.waitForSelector('[data-test-id=access-reviews][data-loaded=true]');

  const form = page.locator('[data-test-id=access-review-start]');
  await form.locator('input[name=name]').fill('E2E SRE review');
  await form.locator('select[name=scope]').selectOption('sre');
  await form.locator('input[name=days]').fill('7');
  await form.locator('button[type=submit]').click();
  await page.waitForSelector('[data-test-id=access-review-started]');
  assert.match(await page.textContent('[data-test-id=access-review-started]'), /2 lines/);
  await page.click('[data-test-id=access-review-started] a');

  const line = (name) => page.locator(`[data-test-id=access-line][data-username=${name}]`);
  await page.waitForSelector('[data-test-id=access-lines][data-loaded=true] [data-test-id=access-line][data-username=ar_sre_gone]');
  assert.equal(await page.getAttribute('[data-test-id=access-review-state]', 'data-undecided'), '2');
  await line('ar_sre_keep').locator('[data-test-id=access-comment]').fill('still on call');
  await line('ar_sre_keep').locator('[data-test-id=access-keep]').click();
  await page.waitForSelector('[data-test-id=access-line][data-username=ar_sre_keep][data-decision=keep]');
  await line('ar_sre_gone').locator('[data-test-id=access-comment]').fill('moved to another team');
  await line('ar_sre_gone').locator('[data-test-id=access-revoke]').click();
  await page.waitForSelector('[data-test-id=access-review-state][data-undecided="0"]');
  assert.match(await page.textContent('[data-test-id=access-review-state]'), /closed: every line decided/);
  assert.equal(c.sql("SELECT COUNT(*) FROM pf_console_roles r JOIN pf_users u ON u.user_id = r.user_id WHERE u.username = 'ar_sre_gone'"), '0');

  await page.waitForSelector('[data-test-id=access-summary]');
  const pem = await page.textContent('[data-test-id=access-public-key]');
  const [report] = await Promise.all([page.waitForEvent('download'), page.click('[data-test-id=access-report]')]);
  const [signature] = await Promise.all([page.waitForEvent('download'), page.click('[data-test-id=access-signature]')]);
  const csv = readFileSync(await report.path());
  const sig = readFileSync(await signature.path());
  const rows = csv.toString('utf8').trim().split('\n');
  assert.match(rows[0], /^review_id,campaign,scope,/);
  assert.equal(rows.length, 3, rows.join('\n'));
  assert.ok(rows.some((r) => r.includes('ar_sre_gone') && r.includes(',revoke,moved to another team,ar_reviewer')), rows.join('\n'));
  const key = createPublicKey(pem);
  assert.ok(verify(null, csv, key, sig), 'the signature checks with the public key alone');
  assert.ok(!verify(null, Buffer.concat([csv, Buffer.from('x')]), key, sig), 'a changed report does not');
  await page.close();
});
