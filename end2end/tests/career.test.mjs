// A person's career data in Chromium: from their page to the career page, a
// conversation's messages (what they wrote hidden), one revealed with a reason,
// and the reveal in the audit log with that reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { HYDRATED, startConsole, textOf } from '../support.mjs';

const c = startConsole();

test('an administrator reads a conversation and reveals one message with a reason', async () => {
  // The generated person with a table set (the first is a heavy user).
  const userId = c.sql('SELECT user_id FROM pf_user_table_sets ORDER BY rowid LIMIT 1');
  const page = await c.signedInPage();
  await page.goto(`${c.base}/users/${userId}`);
  await page.click('[data-test-id=career-link]');
  await page.waitForSelector('[data-test-id=career-table][data-section=experiences] tbody tr');
  await page.click('[data-test-id=career-sections] a:text-is("Chat conversations")');
  await page.waitForSelector('[data-test-id=career-table][data-section=chat_conversations] tbody tr');
  await page.locator('[data-test-id=conversation-messages]').first().click();
  await page.waitForSelector('[data-test-id=career-table][data-section=chat_messages] tbody tr');
  const first = page.locator('[data-test-id=career-table] tbody tr').first();
  assert.match(await first.locator('[data-test-id=hidden-text]').textContent(), /^hidden \(\d+ characters\)$/);
  const rowId = await first.getAttribute('data-row');
  const username = c.sql(`SELECT username FROM pf_users WHERE user_id = '${userId}'`);
  // SQLite keeps each person's tables in a file of their own.
  const set = join(c.dir, 'pf.db-user-tables', `${username}.db`);
  const written = execFileSync('sqlite3', [set, `SELECT content FROM pf_user_${username}_chat_messages WHERE id = '${rowId}'`], {
    encoding: 'utf8',
  }).trim();
  assert.ok(written.length > 0);
  assert.ok(!(await page.content()).includes(written), 'the message is not in the page before its reveal');

  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  // Without a reason: refused, nothing shown.
  await first.locator('[data-test-id=reveal-row]').click();
  await page.waitForSelector('[data-test-id=error]');
  await first.locator('[data-test-id=reveal-reason]').fill('The person asked for a copy (ticket 4711)');
  await first.locator('[data-test-id=reveal-row]').click();
  await textOf(page, '[data-test-id=revealed] dd', written);
  const detail = c.sql(
    `SELECT error_message FROM pf_audit_log WHERE action = 'read.user.career.reveal' AND entity_id = '${userId}'`,
  );
  assert.equal(detail, `chat_messages row ${rowId}: The person asked for a copy (ticket 4711)`);
  // Who looked at this person: one click from their timeline.
  await page.goto(`${c.base}/users/${userId}`);
  await page.click('[data-test-id=who-looked]');
  await page.waitForSelector('[data-test-id=event-link]');
  assert.ok((await page.content()).includes('read.user.career.reveal'), 'the reveal is among the reads of this person');
  await page.close();
});
