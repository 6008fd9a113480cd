// The operations pages in Chromium: the pool and its charts, the queries, the
// storage sample and its chart, diagnostics with its schema check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYDRATED, chartOf, eventually, startConsole, textOf, viaNav } from '../support.mjs';

const c = startConsole();

test('the Pool page shows the pool now and its charts as SVG images with labelled axes; the Queries page its operations', async () => {
  const page = await c.signedInPage();
  await page.goto(`${c.base}/pool`);
  await page.waitForSelector('[data-test-id=pool-now]');
  assert.match(await page.textContent('[data-test-id=pool-now]'), /sqlite/);
  assert.match(await page.textContent('[data-test-id=pool-database]'), /Write-ahead log/);
  // The sampler takes its first sample at the start: the page has one by now.
  assert.match(await page.textContent('[data-test-id=pool-open]'), /^\d+$/);
  const svg = await chartOf(page, 'pool-chart');
  assert.match(svg, /\nConnections\n/, 'the y axis is labelled');
  assert.match(svg, /\nUTC\n/, 'the x axis is labelled');
  // The storage operations by name, from the nav: the page hydrated whole, so the
  // router moves on without reloading.
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await viaNav(page, 'operations', 'Queries');
  await page.waitForSelector('[data-test-id=operations] tbody tr');
  assert.equal(page.url(), `${c.base}/queries`);
  assert.match(await page.textContent('[data-test-id=operations]'), /users::search_users|sessions::|users::/);
  await page.close();
});

test('the Storage page shows the sample and its growth chart as an SVG with labelled axes; a sample on demand is audited; Diagnostics checks the schema', async () => {
  const page = await c.signedInPage();
  await page.goto(`${c.base}/storage`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  // The upkeep job samples at the start; a sample asked for now is another, audited.
  const before = Number(c.sql(`SELECT COUNT(*) FROM pf_audit_log WHERE action = 'storage.sample'`));
  await page.click('[data-test-id=sample-now] button');
  const samples = () => Number(c.sql(`SELECT COUNT(*) FROM pf_audit_log WHERE action = 'storage.sample'`));
  await eventually(() => samples() === before + 1, 'the sample\'s audit row');
  await page.waitForSelector('[data-test-id=storage-tables] tbody tr');
  assert.equal(page.url().replace(/\?$/, ''), `${c.base}/storage`, 'back on the page');
  assert.match(await page.textContent('[data-test-id=storage-used]'), /\d+(\.\d)? (B|KiB|MiB|GiB) of /);
  assert.match(await page.textContent('[data-test-id=storage-tables]'), /pf_audit_log/);
  const svg = await chartOf(page, 'storage-chart');
  assert.match(svg, /\n(B|KiB|MiB|GiB|TiB)\n/, 'the y axis is labelled with its unit');
  assert.match(svg, /\nUTC\n/, 'the x axis is labelled');
  // Diagnostics, from the nav; its schema check runs in the page (hydrated).
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await viaNav(page, 'operations', 'Diagnostics');
  await page.waitForSelector('[data-test-id=migrations] tbody tr');
  assert.match(await page.textContent('[data-test-id=database-version]'), /^SQLite 3\./);
  assert.match(await page.textContent('[data-test-id=settings]'), /PF_STORAGE_WARNING_PERCENT\s*80\s*default/);
  assert.match(await page.textContent('[data-test-id=settings]'), /PF_JWT_SECRET\s*(set|unset)/);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await page.click('[data-test-id=schema-check]');
  await textOf(page, '[data-test-id=schema-check-result]', 'The schema matches the migrations.');
  await page.close();
});
