// The audit log in Chromium: filters, keyset pages both ways, one event, the CSV of
// a filter, the chain's verification, and who acted when no user did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN, HYDRATED, followPager, startConsole, textOf } from '../support.mjs';

const c = startConsole();
const TABLE = '[data-test-id=audit-table]';
const ids = (page) => page.locator('[data-test-id=event-link]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));

test('a compliance reviewer searches the audit log, pages both ways, opens an event, exports CSV and verifies the chain', async () => {
  const page = await c.signedInPage();
  await page.goto(`${c.base}/audit`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  // The browser's offset from UTC is said once hydrated.
  await textOf(page, '[data-test-id=audit-tz]', /UTC/);
  // Filter by actor and action: only their sign-ins.
  await page.fill('[data-test-id=audit-actor]', ADMIN.username);
  await page.fill('[data-test-id=audit-action]', 'login.success');
  await page.click('[data-test-id=audit-search]');
  // The filter's rows, once they have replaced the unfiltered ones.
  await page.waitForFunction((table) => {
    const rows = [...document.querySelectorAll(`${table} tbody tr`)];
    return rows.length >= 1 && rows.every((r) => r.querySelectorAll('td')[2]?.textContent.trim() === 'login.success');
  }, TABLE);
  for (const row of await page.locator(`${TABLE} tbody tr`).all()) {
    assert.equal((await row.locator('td').nth(1).textContent()).trim(), ADMIN.username);
  }
  await textOf(page, '[data-test-id=audit-total]', /^\d+ events$/);
  // Page forward and back through a larger set (the generated events).
  await page.goto(`${c.base}/audit?action=profile.view&size=50`);
  assert.equal(await page.getAttribute(TABLE, 'data-page'), 'first');
  const firstIds = await ids(page);
  assert.equal(firstIds.length, 50);
  await followPager(page, '[data-test-id=next-page]', TABLE);
  const secondIds = await ids(page);
  assert.equal(secondIds.length, 50);
  assert.ok(!secondIds.some((id) => firstIds.includes(id)), 'the next page holds other events');
  await followPager(page, '[data-test-id=previous-page]', TABLE);
  assert.deepEqual(await ids(page), firstIds, 'back where we started');
  // The chart is an image the server drew.
  const chart = page.locator('[data-test-id=audit-chart]');
  await chart.evaluate((img) => img.complete || new Promise((r) => { img.onload = r; img.onerror = r; }));
  assert.ok(await chart.evaluate((img) => img.naturalWidth > 0), 'the chart loads');
  // One event, every column.
  await page.click(`[data-test-id=event-link][href="${firstIds[0]}"]`);
  await textOf(page, '[data-test-id=event-action]', 'profile.view');
  // The CSV of exactly the filter.
  await page.goto(`${c.base}/audit?action=profile.view`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test-id=audit-export-csv]')]);
  const lines = readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.match(lines[0], /^id,created_at,user_id,action,/);
  assert.ok(lines.length > 51, `${lines.length} lines`);
  assert.ok(lines.slice(1).every((l) => l.includes(',profile.view,')), 'only the filter\'s events');
  // Verify the chain in the background, and see it end.
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await page.click('[data-test-id=verify-button]');
  await page.waitForSelector('[data-test-id=job-state][data-outcome=ok]', { timeout: 30000 });
  assert.match(await page.textContent('[data-test-id=job-state]'), /intact/);
  await page.close();
});

test("rows no user wrote name the console's job or the command line, not 'anonymous'", async () => {
  const page = await c.signedInPage();
  // The statistics refresh of the server's first round, and the CLI's migration.
  await page.goto(`${c.base}/audit?action=user_stats.refresh`);
  await textOf(page, `${TABLE} tbody tr td:nth-child(2)`, 'the system (stats-refresh)');
  await page.goto(`${c.base}/audit?action=schema.migrate`);
  await textOf(page, `${TABLE} tbody tr td:nth-child(2)`, 'the command line (migrate)');
  await page.click('[data-test-id=event-link] >> nth=0');
  await textOf(page, '[data-test-id=event-actor]', 'the command line (migrate)');
  await page.close();
});
