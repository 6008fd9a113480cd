// Retention and backups in Chromium: a policy added and dry-run, a verified backup listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYDRATED, startConsole, textOf, viaNav } from '../support.mjs';

const c = startConsole();

test('an administrator adds a retention policy and a dry run says what a run would delete; the Backups page lists a verified backup', async () => {
  // A backup taken and verified with the CLI, as a scheduler would.
  c.cli('backup', 'create');
  c.cli('backup', 'verify');
  const page = await c.signedInPage();
  await page.goto(`${c.base}/retention`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await page.fill('[data-test-id=retention-new] input[name=table_pattern]', 'pf_user_sessions');
  await page.fill('[data-test-id=retention-new] input[name=retention_days]', '1');
  await page.click('[data-test-id=retention-new] button');
  // Back on the page (a plain form post), with the policy.
  await page.waitForSelector('[data-test-id=retention-policy]');
  assert.match(await page.textContent('[data-test-id=retention-policies]'), /pf_user_sessions/);
  assert.equal(c.sql(`SELECT COUNT(*) FROM pf_audit_log WHERE action = 'retention.policy.create'`), '1');
  // The dry run answers in the page (hydrated) and changes nothing.
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  const sessions = c.sql('SELECT COUNT(*) FROM pf_user_sessions');
  await page.click('[data-test-id=retention-dry-run-form] button');
  await textOf(page, '[data-test-id=retention-dry-run]', /Retention \(dry run\): would archive 0 rows, would delete \d+\./);
  assert.match(await page.textContent('[data-test-id=retention-dry-run-tables]'), /pf_user_sessions/);
  assert.equal(c.sql('SELECT COUNT(*) FROM pf_user_sessions'), sessions, 'a dry run deletes nothing');
  // The backup, from the nav, with its verification.
  await viaNav(page, 'operations', 'Backups');
  await textOf(page, '[data-test-id=backup-verified]', /^ok \(/);
  await page.close();
});
