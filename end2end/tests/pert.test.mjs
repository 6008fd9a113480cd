// CPA PERT oversight in Chromium: a reviewer filters the reports past their
// deadline, opens one, reveals an experience's narrative with a reason and records
// a review; the page, the tables and the audit log agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HYDRATED, startConsole, textOf } from '../support.mjs';

const c = startConsole();

test('a reviewer filters overdue reports, reveals a narrative and records a review', async () => {
  const today = new Date().toISOString().slice(0, 10);
  // The newest report waiting for review whose deadline has passed: first on the list.
  const reportId = c.sql(
    `SELECT r.id FROM pf_cpa_pert_reports r WHERE r.status = 'pending' AND r.submission_deadline < '${today}' ORDER BY r.id DESC LIMIT 1`,
  );
  assert.ok(reportId, 'the generated data holds a pending report past its deadline');
  const page = await c.signedInPage();
  await page.goto(`${c.base}/pert`);
  await page.waitForSelector('[data-test-id=pert-reports][data-page=first] tbody tr');
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await page.selectOption('[data-test-id=pert-status]', 'pending');
  await page.selectOption('[data-test-id=pert-deadline]', 'past');
  await page.click('[data-test-id=pert-apply]');
  const row = page.locator(`[data-test-id=pert-reports] tr[data-report="${reportId}"]`);
  await row.waitFor();
  // Only what the filter asks for.
  const statuses = await page.locator('[data-test-id=pert-reports] tbody tr td:nth-child(6)').allTextContents();
  assert.ok(statuses.length > 0 && statuses.every((s) => s === 'Submitted, waiting for review'), statuses.join());
  const deadlines = await page.locator('[data-test-id=pert-reports] tbody tr td:nth-child(4)').allTextContents();
  assert.ok(deadlines.every((d) => d < today), deadlines.join());

  await row.locator('[data-test-id=report-link]').click();
  await page.waitForSelector(`[data-test-id=pert-report][data-status=pending]`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  const experience = page.locator('[data-test-id=pert-experiences] tbody tr[data-experience]').first();
  const experienceId = await experience.getAttribute('data-experience');
  const challenge = c.sql(`SELECT challenge FROM pf_cpa_pert_experiences WHERE id = '${experienceId}'`);
  assert.ok(!(await page.content()).includes(challenge), 'the narrative is hidden until revealed');
  await experience.locator('[data-test-id=reveal-reason]').fill('The candidate appealed (case 88)');
  await experience.locator('[data-test-id=reveal-narrative]').click();
  await textOf(page, '[data-test-id=revealed] dd', challenge);
  assert.equal(
    c.sql(`SELECT error_message FROM pf_audit_log WHERE action = 'read.pert.narrative' ORDER BY chain_seq DESC LIMIT 1`),
    `experience ${experienceId}: The candidate appealed (case 88)`,
  );

  const submission = page.locator('[data-test-id=pert-submissions] section[data-status=pending]').first();
  const submissionId = await submission.getAttribute('data-submission');
  await submission.locator('[data-test-id=review-action]').selectOption('accepted');
  await submission.locator('[data-test-id=review-comment]').fill('Meets the PER rubric');
  await submission.locator('[data-test-id=review-record]').click();
  await page.waitForSelector('[data-test-id=pert-report][data-status=accepted]');
  await textOf(page, '[data-test-id=report-status]', 'Accepted');
  assert.equal(c.sql(`SELECT submission_status FROM pf_cpa_pert_submissions WHERE id = '${submissionId}'`), 'accepted');
  assert.equal(
    c.sql(
      `SELECT previous_status || '>' || new_status || ' ' || action_details FROM pf_cpa_submission_history WHERE submission_id = '${submissionId}' AND action = 'accepted'`,
    ),
    'pending>accepted Meets the PER rubric',
  );
  assert.match(
    c.sql(`SELECT error_message FROM pf_audit_log WHERE action = 'pert.review' AND entity_id = '${submissionId}'`),
    /pending → accepted \(accepted\); Meets the PER rubric$/,
  );
  await page.close();
});
