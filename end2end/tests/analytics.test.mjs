// Analytics in Chromium: an administrator opens the page from the navigation and
// sees its charts as SVG images with labelled axes, with the numbers under them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYDRATED, chartOf, startConsole } from '../support.mjs';

const c = startConsole();

test('an administrator opens Analytics and sees a chart with labelled axes and its numbers', async () => {
  const page = await c.signedInPage();
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await page.click('[data-test-id=nav] a:text-is("Analytics")');
  // `generate` counted its events into the summaries: the last 30 days have some.
  await page.waitForSelector('[data-test-id=analytics][data-loaded=true]');
  assert.match(await page.textContent('[data-test-id=analytics-counted]'), /Counted up to .* \(\d+ events\)/);
  const svg = await chartOf(page, 'chart-active');
  assert.match(svg, /\nUTC\n/, 'the x axis is labelled');
  assert.match(svg, /\nPeople\n/, 'the y axis is labelled');
  assert.match(svg, /daily/);
  const pages = await chartOf(page, 'chart-pages');
  assert.match(pages, /\nPage views\n/);
  // The numbers under the chart: a row a day, the busiest page first.
  await page.click('[data-test-id=chart-active] ~ details summary');
  const days = await page.locator('[data-test-id=numbers-active] tbody tr').count();
  assert.equal(days, 30);
  const weekly = await page.locator('[data-test-id=numbers-active] tbody tr:last-child td:nth-child(3)').textContent();
  assert.ok(Number(weekly) > 0, `people active in the last week: ${weekly}`);
  // Another range, from its link.
  await page.click('[data-test-id=analytics-ranges] a:text-is("7 days")');
  const weekAgo = new Date(Date.now() - 6 * 86400000).toISOString().slice(0, 10);
  await page.waitForSelector(`[data-test-id=analytics][data-loaded=true][data-from="${weekAgo}"]`);
  assert.equal(await page.locator('[data-test-id=numbers-active] tbody tr').count(), 7);
  await page.close();
});
