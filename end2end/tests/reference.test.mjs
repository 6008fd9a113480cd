// Reference data in Chromium: an administrator imports a skills CSV with one bad
// line, sees it refused (nothing written), mends it and imports; the catalog shows
// the new skills and the audit log holds each one's row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYDRATED, startConsole, textOf } from '../support.mjs';

const c = startConsole();

test('an administrator imports a skills CSV after mending the line it refused', async () => {
  const page = await c.signedInPage();
  await page.goto(`${c.base}/reference/skills`);
  await page.waitForSelector('[data-test-id=skills-table][data-loaded=true] tbody tr');
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  const excel = c.sql("SELECT skill_id FROM pf_ref_skills_catalog WHERE skill_name = 'Excel'");
  const header = 'skill_id,skill_name,skill_category,description,aliases,market_demand_score,is_active';
  // Line 3 takes Excel's name as an alias: refused, and with it the whole file.
  const bad = `${header}\n,E2E Reconciliation,accounting,,Recs,60,Y\n,E2E Modelling,finance,,excel,70,Y\n${excel},Excel,tools,Spreadsheets,,90,Y\n`;
  await page.click('[data-test-id=import] summary');
  await page.fill('[data-test-id=import-csv]', bad);
  await page.click('[data-test-id=import-check]');
  await page.waitForSelector('[data-test-id=import-report] tr[data-line="3"][data-outcome=refused]');
  assert.match(await page.textContent('[data-test-id=import-report] tr[data-line="3"]'), /is the name of the skill "Excel"/);
  await page.click('[data-test-id=import-run]');
  await page.waitForSelector('[data-test-id=import-summary][data-written=false]');
  await textOf(page, '[data-test-id=import-summary]', /1 refused — nothing was written\.$/);
  assert.equal(c.sql("SELECT COUNT(*) FROM pf_ref_skills_catalog WHERE skill_name LIKE 'E2E %'"), '0');

  await page.fill('[data-test-id=import-csv]', bad.replace(',excel,', ',Financial models,'));
  await page.click('[data-test-id=import-check]');
  await page.waitForSelector('[data-test-id=import-report] tr[data-line="3"][data-outcome=added]');
  assert.equal(await page.getAttribute('[data-test-id=import-report] tr[data-line="4"]', 'data-outcome'), 'changed');
  await page.click('[data-test-id=import-run]');
  await page.waitForSelector('[data-test-id=import-summary][data-written=true]');
  await page.waitForSelector('[data-test-id=skills-table] tr[data-skill="E2E Modelling"]');
  assert.equal(c.sql("SELECT COUNT(*) FROM pf_ref_skills_catalog WHERE skill_name LIKE 'E2E %'"), '2');
  assert.equal(c.sql(`SELECT description FROM pf_ref_skills_catalog WHERE skill_id = '${excel}'`), 'Spreadsheets');
  assert.equal(c.sql("SELECT COUNT(*) FROM pf_audit_log WHERE action IN ('reference.skill.create', 'reference.skill.update')"), '3');
  assert.equal(c.sql("SELECT error_message FROM pf_audit_log WHERE action = 'reference.skills.import'"), '2 added, 1 changed, 0 unchanged');
  await page.close();
});

test('an administrator edits a career path from its row; no row carries a form until asked', async () => {
  const page = await c.signedInPage();
  await page.goto(`${c.base}/reference/career-paths`);
  await page.waitForSelector('[data-test-id=paths-table][data-loaded=true] tbody tr');
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  assert.equal(await page.locator('[data-test-id=path-form]').count(), 0, 'a form per row made the page megabytes long');
  const [id, name] = c.sql('SELECT path_id, path_name FROM pf_ref_career_paths ORDER BY LOWER(path_name), path_id LIMIT 1').split('|');
  const row = page.locator(`tr[data-path="${name}"]`);
  await row.locator('[data-test-id=edit-path]').click();
  const form = row.locator('[data-test-id=path-form]');
  await form.locator('[data-test-id=path-steps]').fill('Shadow a senior colleague\nLead an E2E project');
  await form.locator('[data-test-id=save-path]').click();
  await page.waitForSelector(`tr[data-path="${name}"] li:has-text("Lead an E2E project")`);
  assert.equal(await page.locator('[data-test-id=path-form]').count(), 0, 'the saved row is shown again, without its form');
  assert.match(c.sql(`SELECT steps FROM pf_ref_career_paths WHERE path_id = '${id}'`), /Lead an E2E project/);
  assert.equal(c.sql(`SELECT COUNT(*) FROM pf_audit_log WHERE action = 'reference.path.update' AND entity_id = '${id}'`), '1');
  await page.close();
});
