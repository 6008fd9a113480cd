// Users in Chromium: search, keyset pages, one user's page and its sections, a
// status changed by a plain form post, and bad input explained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, HYDRATED, followPager, startConsole, textOf } from '../support.mjs';

const c = startConsole();
const ROWS = '[data-test-id=users-table] tbody tr';

test('users search, pagination and detail', async () => {
  const page = await c.signedInPage();
  await page.goto(`${c.base}/users?sort=created_at`);
  const oldest = (await page.locator(`${ROWS} a`).first().textContent()).trim();
  await page.fill('[data-test-id=user-search]', oldest.toUpperCase());
  await page.press('[data-test-id=user-search]', 'Enter');
  // The search's one row, once it has replaced the list.
  await page.waitForFunction(
    ([rows, name]) => {
      const found = document.querySelectorAll(rows);
      return found.length === 1 && found[0].querySelector('a')?.textContent.trim() === name;
    },
    [ROWS, oldest],
  );
  await page.locator(`${ROWS} a`).first().click();
  await textOf(page, '[data-test-id=user-name]', oldest);
  // User-supplied text is isolated from its surroundings (bidirectional overrides).
  await page.waitForSelector('[data-test-id=user-tables] td');
  for (const sel of ['[data-test-id=user-name]', '[data-test-id=user-tables] td']) {
    assert.equal(await page.locator(sel).first().evaluate((el) => getComputedStyle(el).unicodeBidi), 'isolate', sel);
  }
  assert.match(await page.textContent('[data-test-id=user-tables]'), new RegExp(`pf_user_${oldest}_experiences\\s*3`));
  // What the set's career summary and the user statistics say about them.
  assert.equal(await page.textContent('[data-test-id=career-positions]'), '3');
  assert.match(await page.textContent('[data-test-id=activity-events]'), /^\d+$/);
  assert.match(await page.textContent('[data-test-id=stats-refreshed]'), /UTC$/);

  // "Starts with": each row listed has a field that starts with the text, and the
  // page lists exactly what the search answers (its fields read from the API).
  const prefix = oldest.slice(0, 3);
  await page.goto(`${c.base}/users?q=${prefix}&match=prefix`);
  const shown = (await page.locator(`${ROWS} a`).allTextContents()).map((t) => t.trim());
  assert.ok(shown.length >= 1);
  const answer = await page.evaluate(async (q) => {
    const r = await fetch('/api/users', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `q=${q}&mode=prefix&status=&sort=&dir=&after=`,
    });
    return r.json();
  }, prefix);
  assert.deepEqual(answer.items.map((u) => u.username), shown);
  for (const u of answer.items) {
    const fields = [u.username, u.email, u.first_name ?? '', u.last_name ?? ''].map((f) => f.toLowerCase());
    assert.ok(fields.some((f) => f.startsWith(prefix)), `${u.username} has no field starting with ${prefix}: ${fields}`);
  }
  // The bulk panel counts on request (not on every page load) and offers the groups.
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await page.click('[data-test-id=bulk] summary');
  await page.click('[data-test-id=bulk-count-button]');
  const counted = await textOf(page, '[data-test-id=bulk-count]', /users match/);
  assert.ok(Number(counted.split(' ')[0]) >= shown.length - 1, counted);
  assert.ok(await page.locator('[data-test-id=bulk-group-form] select option').count() > 1, 'the groups are offered');

  // Keyset pages: the next page's rows replace the first's once they have arrived,
  // and the table says which page it shows.
  await page.goto(`${c.base}/users`);
  assert.equal(await page.getAttribute('[data-test-id=users-table]', 'data-page'), 'first');
  const firstNames = await page.locator(`${ROWS} a`).allTextContents();
  assert.equal(firstNames.length, 25);
  await followPager(page, '[data-test-id=next-page]', '[data-test-id=users-table]');
  const secondNames = await page.locator(`${ROWS} a`).allTextContents();
  assert.equal(secondNames.length, 25);
  assert.ok(!secondNames.some((n) => firstNames.includes(n)), 'the next page holds other users');
  await page.close();
});

test("a user's page is in sections to jump to, and shows the flags that are not at their default", async () => {
  const page = await c.signedInPage();
  // A user with an override of their own: one flag of 300 differs from its default.
  const [id, username] = c.sql("SELECT user_id || '|' || username FROM pf_users WHERE username NOT LIKE 'admin%' ORDER BY username DESC LIMIT 1").split('|');
  c.sql(`DELETE FROM pf_user_feature_flags WHERE user_id = '${id}'`);
  c.sql(`UPDATE pf_users SET feature_group_id = NULL WHERE user_id = '${id}'`);
  const flag = c.sql("SELECT flag_id || '|' || flag_key FROM pf_feature_flags WHERE flag_type = 'boolean' ORDER BY flag_key LIMIT 1").split('|');
  c.sql(`INSERT INTO pf_user_feature_flags (override_id, user_id, flag_id, override_value, reason, created_at)
         VALUES ('01E2EUSERPAGEOVERRIDE00001', '${id}', '${flag[0]}', 'true', 'e2e', '2026-01-01 00:00:00.000000')`);
  const flags = Number(c.sql('SELECT COUNT(*) FROM pf_feature_flags'));
  await page.goto(`${c.base}/users/${id}`);
  // The values not at their default, as the server evaluates them (the default
  // group's overrides apply to them too).
  const evaluated = await page.evaluate(async (user) => {
    const r = await fetch('/api/user_flags', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `user_id=${user}`,
    });
    return r.json();
  }, id);
  assert.equal(evaluated.length, flags);
  const own = evaluated.filter((e) => e.source !== 'Default' || e.error).length;
  assert.ok(own >= 1 && own < flags, `${own} of ${flags}`);
  await textOf(page, '[data-test-id=user-name]', username);
  const jumps = await page.locator('[data-test-id=user-sections] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(jumps, ['#profile', '#activity', '#sessions', '#keys', '#tables', '#flags', '#timeline', '#export', '#delete']);
  for (const anchor of jumps) assert.equal(await page.locator(anchor).count(), 1, `${anchor} is a section`);
  await textOf(page, '[data-test-id=user-flags-count]', new RegExp(`^${own} of ${flags} flags have a value of their own`));
  assert.equal(await page.locator('[data-test-id=user-flags] tbody tr').count(), own);
  assert.match(await page.textContent(`[data-test-id="user-flag-${flag[1]}"]`), /true.*the user's own override \(e2e\)/);
  // Every flag, on request.
  await page.click('[data-test-id=user-flags-all]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-test-id=user-flags] tbody tr').length === n, flags);
  assert.equal(page.url().endsWith('?flags=all#flags'), true);
  // A page of 300 flags' rows is no longer the page's length by default.
  await page.goto(`${c.base}/users/${id}`);
  await page.waitForSelector('[data-test-id=user-flags-count]');
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height < 8000, `the page is ${height} px tall`);
  await page.close();
});

test('an administrator changes a status (a plain form post) and bad input is explained', async () => {
  const page = await c.signedInPage();
  // The newest active user other than the admin.
  const [id, name] = c.sql(`SELECT user_id || '|' || username FROM pf_users WHERE account_status = 'active' AND username <> '${ADMIN.username}' ORDER BY created_at DESC LIMIT 1`).split('|');
  await page.goto(`${c.base}/users/${id}`);
  await textOf(page, '[data-test-id=user-status]', 'active');
  await page.selectOption('[data-test-id=status-form] select', 'suspended');
  await page.click('[data-test-id=status-form] button');
  await textOf(page, '[data-test-id=user-status]', 'suspended');
  assert.equal(page.url().replace(/\?$/, ''), `${c.base}/users/${id}`, 'back on the same page');
  await page.reload();
  await textOf(page, '[data-test-id=user-status]', 'suspended');
  assert.equal(c.sql(`SELECT account_status FROM pf_users WHERE user_id = '${id}'`), 'suspended', `${name} stays suspended`);

  // A value the form would never send: refused with a sentence, nothing changed.
  await page.evaluate(() => { document.querySelector('[data-test-id=status-form] select option').value = 'frozen'; });
  await page.selectOption('[data-test-id=status-form] select', 'frozen');
  await page.click('[data-test-id=status-form] button');
  // The error comes back to the page by its code only (never as text in the URL).
  await textOf(page, '[data-test-id=error]', /a value was not accepted/);
  assert.equal(await page.textContent('[data-test-id=user-status]'), 'suspended');
  await page.close();
});
