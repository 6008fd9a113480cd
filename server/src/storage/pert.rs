//! CPA PERT oversight: the reports list (one statement built from the filter, by
//! [`reports_query`], which the schema test sends through the Oracle lint), a
//! report's page (one read transaction), a narrative revealed with its audit row,
//! and a review recorded through `pathfinder::pert`'s state machine.
//!
//! Two reviewers on any instances cannot both move a submission from the same
//! state: the status is changed by `UPDATE … WHERE submission_status = <the one
//! read>`, and the one whose update finds it already moved is refused.

use super::audit::append;
use super::driver::{Conn, ReadRow, Row, Value};
use super::search::prefix_end;
use super::sql::{limit_clause, Binds, Dialect};
use super::store::Store;
use crate::{args, sql};
use chrono::NaiveDate;
use pathfinder::career::Revealed;
use pathfinder::pert::{
    refused_transition, Activity, Deadline, ExperienceView, HistoryEntry, MilestoneView, PertAction, PertCheck,
    PertCursor, PertFilter, PertOrder, PertStatus, ReportDetail, ReportPage, ReportSummary, ReviewOutcome,
    SubmissionView, NARRATIVE, PERT_PAGE,
};
use pathfinder::storage::{AuditEntry, PertStore};
use pathfinder::{AppError, AppResult};
use sha2::{Digest, Sha256};

/// A submission's checksum: the lower-case hex SHA-256 of its payload exactly as
/// stored (the product stores canonical JSON: keys sorted, no spaces).
pub fn payload_checksum(payload: &str) -> String {
    Sha256::digest(payload.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The columns a report is read from, in [`summary`]'s order.
const REPORT_COLUMNS: &str = "r.id, r.user_id, u.username, r.report_period_start, r.report_period_end,
    r.submission_deadline, r.route_type, r.status, r.employer_name, r.position_title, r.hours_worked, r.version";

fn summary(r: &dyn Row) -> AppResult<ReportSummary> {
    let day = |i: usize| r.opt_date(i)?.ok_or_else(|| AppError::internal("a report without its period"));
    Ok(ReportSummary {
        id: r.text(0)?,
        user_id: r.text(1)?,
        username: r.opt_text(2)?,
        period_start: day(3)?,
        period_end: day(4)?,
        deadline: r.opt_date(5)?,
        route: r.opt_text(6)?,
        status: r.opt_text(7)?.unwrap_or_else(|| PertStatus::Draft.as_str().into()),
        employer: r.opt_text(8)?,
        position: r.opt_text(9)?,
        hours_worked: r.opt_real(10)?,
        version: r.opt_int(11)?,
    })
}

/// The reports list's statement and values: the filter's conditions in its
/// [`PertFilter::order`], one row more than `limit` (to know there is a next).
pub fn reports_query(f: &PertFilter, today: NaiveDate, limit: u32, dialect: Dialect) -> (String, Vec<Value>) {
    let mut b = Binds::default();
    let mut conditions = Vec::new();
    let order = f.order();
    // A kept check walks its findings' index; the overdue one asks the submissions'.
    // (First: placeholders are numbered in the order the text has them.)
    let mut from = "pf_cpa_pert_reports r".to_string();
    // The newest-first keyset's column: the report's id, or its finding's (the same
    // value, in the order of the findings' index).
    let mut id = "r.id";
    match f.check {
        Some(PertCheck::Overdue) | None => {}
        Some(check) => {
            from = format!(
                "pf_cpa_report_checks k JOIN pf_cpa_pert_reports r ON r.id = k.report_id AND k.check_name = {}",
                b.next(check.as_str())
            );
            id = "k.report_id";
        }
    }
    // The order's index finds the rows; every other condition is tested on the way
    // (on SQLite `+` keeps its column's index out of the plan: the planner would
    // otherwise take a wide range and sort all of it). A status and a candidate
    // keep their indexes (a status has one for each order).
    let walk = |column: &str| match dialect {
        Dialect::Sqlite => format!("+{column}"),
        Dialect::Oracle => column.to_string(),
    };
    let (deadline, start) = ("r.submission_deadline", "r.report_period_start");
    if let Some(s) = f.status {
        conditions.push(format!("r.status = {}", b.next(s.as_str())));
    }
    if let Some(route) = f.route {
        conditions.push(format!("{} = {}", walk("r.route_type"), b.next(route)));
    }
    let (deadline_of, start_of) = match order {
        PertOrder::DeadlineLatest | PertOrder::DeadlineSoonest => (deadline.to_string(), walk(start)),
        PertOrder::PeriodLatest => (walk(deadline), start.to_string()),
        PertOrder::Newest => (walk(deadline), walk(start)),
    };
    if let Some(from) = f.from {
        conditions.push(format!("{} >= {}", walk("r.report_period_end"), b.next(from)));
        if order == PertOrder::PeriodLatest {
            // A period that overlaps one starting `from` starts at most the longest
            // period before it (idx_cpa_reports_length answers the longest).
            let earliest = match dialect {
                Dialect::Sqlite => format!(
                    "date({}, '-' || (SELECT CAST(MAX(julianday(report_period_end) - julianday(report_period_start)) AS INTEGER) FROM pf_cpa_pert_reports) || ' days')",
                    b.next(from)
                ),
                Dialect::Oracle => format!(
                    "{} - (SELECT MAX(report_period_end - report_period_start) FROM pf_cpa_pert_reports)",
                    b.next(from)
                ),
            };
            conditions.push(format!("{start_of} >= {earliest}"));
        }
    }
    if let Some(to) = f.to {
        conditions.push(format!("{start_of} <= {}", b.next(to)));
    }
    match f.deadline {
        Some(Deadline::Past) => conditions.push(format!("{deadline_of} < {}", b.next(today))),
        Some(Deadline::Within(days)) => {
            let (from, upto) = (b.next(today), b.next(today + chrono::Duration::days(i64::from(days))));
            conditions.push(format!("{deadline_of} >= {from} AND {deadline_of} <= {upto}"));
        }
        None => {}
    }
    if let Some(employer) = &f.employer {
        // A prefix. Most employers hold many reports: walked (a rare one's range
        // would be quicker; BENCHMARKS.md has the figures).
        let lower = walk("LOWER(r.employer_name)");
        conditions.push(format!("{lower} >= {}", b.next(employer.clone())));
        if let Some(end) = prefix_end(employer) {
            conditions.push(format!("{lower} < {}", b.next(end)));
        }
    }
    if let Some(user) = &f.user {
        let (name, id) = (b.next(user.to_lowercase()), b.next(user.clone()));
        conditions.push(format!(
            "r.user_id IN (SELECT user_id FROM pf_users WHERE LOWER(username) = {name} UNION SELECT user_id FROM pf_users WHERE user_id = {id})"
        ));
    }
    // The keyset: after the page before, in the order's direction (written out: Oracle
    // compares no row values; the first half gives the index its range).
    let (day, direction) = match order {
        PertOrder::Newest => (None, "DESC"),
        PertOrder::DeadlineLatest => (Some(deadline), "DESC"),
        PertOrder::DeadlineSoonest => (Some(deadline), "ASC"),
        PertOrder::PeriodLatest => (Some(start), "DESC"),
    };
    let beyond = if direction == "DESC" { "<" } else { ">" };
    if let Some(after) = &f.after {
        match (day, after.day) {
            (Some(day), Some(at)) => {
                let (at, at_again, after_id) = (b.next(at), b.next(at), b.next(after.id.clone()));
                conditions
                    .push(format!("{day} {beyond}= {at} AND ({day} {beyond} {at_again} OR r.id {beyond} {after_id})"));
            }
            _ => conditions.push(format!("{id} {beyond} {}", b.next(after.id.clone()))),
        }
    }
    // Overdue: the few submissions the due index holds, their reports sorted (a walk
    // would pass every report still in its period first).
    if f.check == Some(PertCheck::Overdue) {
        conditions.push(format!(
            "{id} IN (SELECT s.report_id FROM pf_cpa_pert_submissions s \
             WHERE s.submission_status IN ('draft', 'pending') AND s.submission_deadline < {})",
            b.next(today)
        ));
    }
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let sort = match day {
        Some(day) => format!("{day} {direction}, r.id {direction}"),
        None => format!("{id} {direction}"),
    };
    let limit = limit_clause(dialect, &b.next(i64::from(limit) + 1));
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM {from} LEFT JOIN pf_users u ON u.user_id = r.user_id{filter} ORDER BY {sort} {limit}"
    );
    (sql, b.0)
}

/// A page of the reports list: up to `limit` rows and where the next page starts.
fn report_rows(
    c: &mut Conn,
    filter: &PertFilter,
    today: NaiveDate,
    limit: u32,
) -> AppResult<(Vec<ReportSummary>, Option<PertCursor>)> {
    let (statement, values) = reports_query(filter, today, limit, c.dialect());
    let mut rows = c.query_map(&statement, &values, summary)?;
    let next = (rows.len() > limit as usize).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|r| PertCursor::after(filter.order(), r))
    });
    Ok((rows, next.flatten()))
}

fn report_by_id(c: &mut Conn, report_id: &str) -> AppResult<Option<ReportSummary>> {
    let row = c.query_opt(
        sql!(
            "SELECT r.id, r.user_id, u.username, r.report_period_start, r.report_period_end,
             r.submission_deadline, r.route_type, r.status, r.employer_name, r.position_title, r.hours_worked, r.version
             FROM pf_cpa_pert_reports r LEFT JOIN pf_users u ON u.user_id = r.user_id WHERE r.id = :1"
        ),
        &args![report_id],
    )?;
    row.map(|r| summary(&r)).transpose()
}

fn experiences(c: &mut Conn, report: &ReportSummary) -> AppResult<Vec<ExperienceView>> {
    let mut out = c.query_map(
        sql!(
            "SELECT e.id, e.experience_title, e.sub_competency_id, k.name, e.proficiency_level,
             e.experience_start_date, e.experience_end_date, e.time_spent_hours, e.word_count, e.approval_status,
             e.version, e.previous_version_id,
             LENGTH(e.challenge), LENGTH(e.actions), LENGTH(e.results), LENGTH(e.lessons_learned)
             FROM pf_cpa_pert_experiences e LEFT JOIN pf_ref_cpa_competencies k ON k.competency_id = e.sub_competency_id
             WHERE e.report_id = :1 ORDER BY e.experience_start_date, e.id"
        ),
        &args![&report.id],
        |r| {
            let day = |i: usize| r.opt_date(i)?.ok_or_else(|| AppError::internal("an experience without dates"));
            Ok(ExperienceView {
                id: r.text(0)?,
                title: r.text(1)?,
                sub_competency_id: r.text(2)?,
                sub_competency: r.opt_text(3)?,
                proficiency: r.opt_int(4)?,
                start: day(5)?,
                end: day(6)?,
                time_spent_hours: r.opt_real(7)?,
                word_count: r.opt_int(8)?,
                approval_status: r.opt_text(9)?,
                version: r.opt_int(10)?,
                previous_version_id: r.opt_text(11)?,
                narrative_chars: (12..16)
                    .map(|i| Ok(r.opt_int(i)?.unwrap_or(0).max(0) as usize))
                    .collect::<AppResult<_>>()?,
                activities: Vec::new(),
                tracked_hours: 0.0,
                tracked_days: 0,
                tracked_days_outside: 0,
            })
        },
    )?;
    let activities = c.query_map(
        sql!(
            "SELECT b.experience_id, b.activity_type, b.start_date, b.end_date, b.hours_spent
             FROM pf_cpa_experience_breakdown b JOIN pf_cpa_pert_experiences e ON e.id = b.experience_id
             WHERE e.report_id = :1 ORDER BY b.start_date, b.id"
        ),
        &args![&report.id],
        |r| {
            let day = |i: usize| r.opt_date(i)?.ok_or_else(|| AppError::internal("an activity without dates"));
            Ok((
                r.text(0)?,
                Activity {
                    activity_type: r.opt_text(1)?,
                    start: day(2)?,
                    end: day(3)?,
                    hours: r.opt_real(4)?.unwrap_or(0.0),
                },
            ))
        },
    )?;
    for (experience, activity) in activities {
        if let Some(e) = out.iter_mut().find(|e| e.id == experience) {
            e.activities.push(activity);
        }
    }
    let tracked = c.query_map(
        sql!(
            "SELECT t.experience_id, SUM(t.hours_logged), COUNT(*),
             SUM(CASE WHEN t.activity_date < :1 OR t.activity_date > :2 THEN 1 ELSE 0 END)
             FROM pf_cpa_experience_time_tracking t JOIN pf_cpa_pert_experiences e ON e.id = t.experience_id
             WHERE e.report_id = :3 GROUP BY t.experience_id"
        ),
        &args![report.period_start, report.period_end, &report.id],
        |r| Ok((r.text(0)?, r.opt_real(1)?.unwrap_or(0.0), r.int(2)?, r.opt_int(3)?.unwrap_or(0))),
    )?;
    for (experience, hours, days, outside) in tracked {
        if let Some(e) = out.iter_mut().find(|e| e.id == experience) {
            (e.tracked_hours, e.tracked_days, e.tracked_days_outside) = (hours, days, outside);
        }
    }
    Ok(out)
}

fn milestones(c: &mut Conn, user_id: &str) -> AppResult<Vec<MilestoneView>> {
    c.query_map(
        sql!(
            "SELECT m.sub_competency_id, k.name, m.milestone_date, m.previous_level, m.achieved_level, m.hours_accumulated
             FROM pf_cpa_progress_milestones m LEFT JOIN pf_ref_cpa_competencies k ON k.competency_id = m.sub_competency_id
             WHERE m.user_id = :1 ORDER BY m.sub_competency_id, m.milestone_date, m.id"
        ),
        &args![user_id],
        |r| {
            Ok(MilestoneView {
                sub_competency_id: r.text(0)?,
                sub_competency: r.opt_text(1)?,
                date: r.opt_date(2)?.ok_or_else(|| AppError::internal("a milestone without its date"))?,
                previous_level: r.opt_int(3)?,
                achieved_level: r.int(4)?,
                hours: r.opt_real(5)?,
            })
        },
    )
}

fn submissions(c: &mut Conn, report_id: &str) -> AppResult<Vec<SubmissionView>> {
    let mut out = c.query_map(
        sql!(
            "SELECT s.id, s.submission_type, s.submission_status, s.submission_deadline, s.experience_count,
             s.total_word_count, COALESCE(u.username, s.reviewer_id), s.reviewer_comments, s.submitted_at
             FROM pf_cpa_pert_submissions s LEFT JOIN pf_users u ON u.user_id = s.reviewer_id
             WHERE s.report_id = :1 ORDER BY s.submitted_at, s.id"
        ),
        &args![report_id],
        |r| {
            Ok(SubmissionView {
                id: r.text(0)?,
                submission_type: r.opt_text(1)?,
                status: r.opt_text(2)?.unwrap_or_else(|| PertStatus::Pending.as_str().into()),
                deadline: r.opt_date(3)?,
                experience_count: r.opt_int(4)?,
                total_word_count: r.opt_int(5)?,
                reviewer: r.opt_text(6)?,
                comments: r.opt_text(7)?,
                submitted_at: r.opt_time(8)?,
                history: Vec::new(),
            })
        },
    )?;
    let history = c.query_map(
        sql!(
            "SELECT h.submission_id, h.action, h.action_date, COALESCE(u.username, h.action_by), h.previous_status,
             h.new_status, h.action_details
             FROM pf_cpa_submission_history h LEFT JOIN pf_users u ON u.user_id = h.action_by
             WHERE h.submission_id IN (SELECT id FROM pf_cpa_pert_submissions WHERE report_id = :1)
             ORDER BY h.action_date, h.id"
        ),
        &args![report_id],
        |r| {
            Ok((
                r.text(0)?,
                HistoryEntry {
                    action: r.opt_text(1)?.unwrap_or_default(),
                    at: r.opt_time(2)?,
                    by: r.opt_text(3)?,
                    previous_status: r.opt_text(4)?,
                    new_status: r.opt_text(5)?,
                    details: r.opt_text(6)?,
                },
            ))
        },
    )?;
    for (submission, entry) in history {
        if let Some(s) = out.iter_mut().find(|s| s.id == submission) {
            s.history.push(entry);
        }
    }
    Ok(out)
}

impl PertStore for Store {
    fn pert_report_rows(
        &self,
        filter: &PertFilter,
        today: NaiveDate,
        limit: u32,
    ) -> AppResult<(Vec<ReportSummary>, Option<PertCursor>)> {
        self.read(|c| report_rows(c, filter, today, limit))
    }

    fn pert_reports(&self, filter: &PertFilter, today: NaiveDate) -> AppResult<ReportPage> {
        self.read(|c| {
            let (rows, next) = report_rows(c, filter, today, PERT_PAGE)?;
            // Kept current by the triggers of migration 0020 and by the checks.
            let kept = c.query_map(sql!("SELECT kind, name, n FROM pf_cpa_counts"), &[], |r| {
                Ok((r.text(0)?, r.text(1)?, r.int(2)?))
            })?;
            let counted: Vec<(String, i64)> =
                kept.iter().filter(|(k, _, n)| k == "status" && *n > 0).map(|(_, s, n)| (s.clone(), *n)).collect();
            // Every status, in the state machine's order, then any word it does not know.
            let mut counts: Vec<(String, i64)> = PertStatus::ALL
                .iter()
                .map(|s| {
                    (s.as_str().to_string(), counted.iter().filter(|(k, _)| k == s.as_str()).map(|(_, n)| n).sum())
                })
                .collect();
            counts.extend(counted.into_iter().filter(|(k, _)| PertStatus::parse(k).is_err()));
            // Overdue submissions: their counts by status and deadline day, before today.
            let overdue = c.query_int(
                sql!(
                    "SELECT COALESCE(SUM(n), 0) FROM pf_cpa_due_counts
                     WHERE submission_status IN ('draft', 'pending') AND due < :1"
                ),
                &args![today],
            )?;
            let checks = PertCheck::ALL
                .iter()
                .map(|check| {
                    let n = match check {
                        PertCheck::Overdue => overdue,
                        _ => kept
                            .iter()
                            .find(|(k, name, _)| k == "check" && name == check.as_str())
                            .map_or(0, |(_, _, n)| *n),
                    };
                    (check.as_str().to_string(), n)
                })
                .collect();
            let waiting = c.query_int(sql!("SELECT COUNT(*) FROM pf_cpa_reports_dirty"), &[])?;
            Ok(ReportPage { rows, next: next.map(|c| c.encode()), counts, checks, waiting })
        })
    }

    fn pert_report(&self, report_id: &str) -> AppResult<Option<ReportDetail>> {
        self.read(|c| {
            c.snapshot(|c| {
                let Some(report) = report_by_id(c, report_id)? else { return Ok(None) };
                let findings = c.query_map(
                    sql!(
                        "SELECT check_name, detail FROM pf_cpa_report_checks WHERE report_id = :1 ORDER BY check_name"
                    ),
                    &args![report_id],
                    |r| Ok((r.text(0)?, r.opt_text(1)?.unwrap_or_default())),
                )?;
                Ok(Some(ReportDetail {
                    findings,
                    experiences: experiences(c, &report)?,
                    milestones: milestones(c, &report.user_id)?,
                    submissions: submissions(c, &report.id)?,
                    report,
                }))
            })
        })
    }

    fn reveal_pert_narrative(&self, experience_id: &str, audit: &AuditEntry) -> AppResult<Revealed> {
        self.write(|c| {
            let row = c
                .query_opt(
                    sql!(
                        "SELECT e.challenge, e.actions, e.results, e.lessons_learned, r.user_id
                         FROM pf_cpa_pert_experiences e JOIN pf_cpa_pert_reports r ON r.id = e.report_id WHERE e.id = :1"
                    ),
                    &args![experience_id],
                )?
                .ok_or_else(|| AppError::NotFound("That experience".into()))?;
            let fields = NARRATIVE
                .iter()
                .enumerate()
                .map(|(i, (_, label))| Ok((label.to_string(), row.opt_text(i)?)))
                .collect::<AppResult<_>>()?;
            let candidate = row.text(4)?;
            append::insert(
                c,
                &AuditEntry { entity_type: Some("user".into()), entity_id: Some(candidate), ..audit.clone() },
            )?;
            Ok(Revealed { row_id: experience_id.to_string(), fields })
        })
    }

    fn record_pert_review(
        &self,
        submission_id: &str,
        action: PertAction,
        comment: &str,
        audit: &AuditEntry,
    ) -> AppResult<ReviewOutcome> {
        if !PertAction::REVIEWS.contains(&action) {
            return Err(AppError::invalid("Record reviewed, accepted, rejected or revised."));
        }
        let comment = pathfinder::pert::review_comment(comment)?;
        let reviewer = audit.actor.clone().ok_or(AppError::Unauthenticated)?;
        let now = chrono::Utc::now();
        self.write_audited_with(audit, |c| {
            let row = c
                .query_opt(
                    sql!("SELECT report_id, user_id, submission_status FROM pf_cpa_pert_submissions WHERE id = :1"),
                    &args![submission_id],
                )?
                .ok_or_else(|| AppError::NotFound("That submission".into()))?;
            let (report_id, candidate) = (row.text(0)?, row.text(1)?);
            let from = row.opt_text(2)?.unwrap_or_else(|| PertStatus::Pending.as_str().into());
            if candidate == reviewer.0 {
                return Err(AppError::Forbidden);
            }
            let from_status = PertStatus::parse(&from)
                .map_err(|_| AppError::Conflict(format!("The submission's status {from:?} is not one the review knows.")))?;
            let to = action.from(Some(from_status)).ok_or_else(|| refused_transition(action, from_status))?;
            // Moves only from the status read: a reviewer who got there first wins.
            let moved = c.execute(
                sql!(
                    "UPDATE pf_cpa_pert_submissions SET submission_status = :1, reviewer_id = :2, reviewer_comments = :3
                     WHERE id = :4 AND submission_status = :5"
                ),
                &args![to.as_str(), &reviewer, comment.as_str(), submission_id, from.as_str()],
            )?;
            if moved != 1 {
                return Err(AppError::Conflict(
                    "Someone recorded a review of this submission a moment ago. Nothing was changed: reload to see it."
                        .into(),
                ));
            }
            c.execute(
                sql!("UPDATE pf_cpa_pert_reports SET status = :1 WHERE id = :2"),
                &args![to.as_str(), &report_id],
            )?;
            c.execute(
                sql!(
                    "INSERT INTO pf_cpa_submission_history (id, submission_id, report_id, user_id, action, action_date,
                     action_by, action_details, previous_status, new_status) VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10)"
                ),
                &args![
                    pathfinder::new_id(),
                    submission_id,
                    &report_id,
                    &candidate,
                    action.as_str(),
                    now,
                    &reviewer,
                    comment.as_str(),
                    from.as_str(),
                    to.as_str()
                ],
            )?;
            let said = format!(
                "submission {submission_id} of report {report_id} (candidate {candidate}): {} → {} ({}); {comment}",
                from,
                to.as_str(),
                action.as_str()
            );
            Ok((ReviewOutcome { submission_id: submission_id.into(), previous_status: from, new_status: to.as_str().into() }, said))
        })
    }

    fn check_pert_reports(&self, limit: u32, audit: &AuditEntry) -> AppResult<u32> {
        let marked = self.read(|c| {
            c.query_map(
                sql!("SELECT report_id, mark FROM pf_cpa_reports_dirty ORDER BY marked_at, report_id", limit ":1"),
                &args![i64::from(limit)],
                |r| Ok((r.text(0)?, r.text(1)?)),
            )
        })?;
        let now = chrono::Utc::now();
        let mut checked = 0;
        for batch in marked.chunks(CHECK_BATCH) {
            self.write_audited_with(audit, |c| {
                let mut found = 0;
                for (report_id, mark) in batch {
                    let had = c.query_map(
                        sql!("SELECT check_name FROM pf_cpa_report_checks WHERE report_id = :1"),
                        &args![report_id],
                        |r| r.text(0),
                    )?;
                    let now_found = findings(c, report_id)?;
                    // The kept counts move by what changed, in this transaction.
                    for check in PertCheck::ALL.iter().filter(|c| c.is_kept()) {
                        let was = had.iter().any(|h| h == check.as_str());
                        let is = now_found.iter().any(|(f, _)| f == check);
                        if was != is {
                            c.execute(
                                sql!("UPDATE pf_cpa_counts SET n = n + :1 WHERE kind = 'check' AND name = :2"),
                                &args![if is { 1i64 } else { -1 }, check.as_str()],
                            )?;
                        }
                    }
                    c.execute(sql!("DELETE FROM pf_cpa_report_checks WHERE report_id = :1"), &args![report_id])?;
                    for (check, detail) in now_found {
                        found += 1;
                        c.execute(
                            sql!(
                                "INSERT INTO pf_cpa_report_checks (report_id, check_name, detail, found_at)
                                 VALUES (:1, :2, :3, :4)"
                            ),
                            &args![report_id, check.as_str(), detail, now],
                        )?;
                    }
                    // Marked again since it was read: it waits for the next round.
                    c.execute(
                        sql!("DELETE FROM pf_cpa_reports_dirty WHERE report_id = :1 AND mark = :2"),
                        &args![report_id, mark],
                    )?;
                }
                Ok(((), format!("{} reports checked, {found} findings", batch.len())))
            })?;
            checked += batch.len() as u32;
        }
        Ok(checked)
    }
}

/// How many reports one transaction checks.
const CHECK_BATCH: usize = 500;

/// What the kept checks find in one report (nothing when it is gone).
fn findings(c: &mut Conn, report_id: &str) -> AppResult<Vec<(PertCheck, String)>> {
    let Some(r) = c.query_opt(
        sql!(
            "SELECT r.hours_worked,
             (SELECT SUM(t.hours_logged) FROM pf_cpa_experience_time_tracking t
              JOIN pf_cpa_pert_experiences e ON e.id = t.experience_id WHERE e.report_id = r.id),
             (SELECT COUNT(*) FROM pf_cpa_experience_time_tracking t
              JOIN pf_cpa_pert_experiences e ON e.id = t.experience_id
              WHERE e.report_id = r.id AND (t.activity_date < r.report_period_start OR t.activity_date > r.report_period_end)),
             (SELECT COUNT(*) FROM pf_cpa_pert_experiences e WHERE e.report_id = r.id
              AND (e.experience_start_date < r.report_period_start OR e.experience_end_date > r.report_period_end)),
             (SELECT COUNT(*) FROM pf_cpa_pert_experiences e WHERE e.report_id = r.id AND NOT EXISTS
              (SELECT 1 FROM pf_cpa_pert_experiences n WHERE n.report_id = e.report_id AND n.previous_version_id = e.id)),
             (SELECT SUM(e.word_count) FROM pf_cpa_pert_experiences e WHERE e.report_id = r.id AND NOT EXISTS
              (SELECT 1 FROM pf_cpa_pert_experiences n WHERE n.report_id = e.report_id AND n.previous_version_id = e.id))
             FROM pf_cpa_pert_reports r WHERE r.id = :1"
        ),
        &args![report_id],
    )?
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let (worked, tracked) = (r.opt_real(0)?, r.opt_real(1)?.unwrap_or(0.0));
    if let Some(worked) = worked.filter(|w| tracked > *w) {
        out.push((PertCheck::HoursOver, format!("{tracked} hours tracked, {worked} worked")));
    }
    let days_outside = r.opt_int(2)?.unwrap_or(0);
    if days_outside > 0 {
        out.push((PertCheck::TrackedOutside, format!("{days_outside} days logged outside the period")));
    }
    let outside = r.opt_int(3)?.unwrap_or(0);
    if outside > 0 {
        out.push((PertCheck::ExperienceOutside, format!("{outside} experiences outside the period")));
    }
    let (current, words) = (r.opt_int(4)?.unwrap_or(0), r.opt_int(5)?.unwrap_or(0));
    let submissions = c.query_map(
        sql!(
            "SELECT id, submission_type, experience_count, total_word_count, submitted_payload, submission_checksum
             FROM pf_cpa_pert_submissions WHERE report_id = :1 ORDER BY id"
        ),
        &args![report_id],
        |r| Ok((r.text(0)?, r.opt_text(1)?, r.opt_int(2)?, r.opt_int(3)?, r.opt_text(4)?, r.opt_text(5)?)),
    )?;
    let mut differ = Vec::new();
    let mut unsigned = Vec::new();
    for (id, kind, count, total, payload, checksum) in submissions {
        let count_off = count.is_some_and(|n| n != current);
        let words_off = total.is_some_and(|n| n != words);
        if kind.as_deref() == Some("final") && (count_off || words_off) {
            differ.push(format!(
                "{id}: {} experiences and {} words stated, {current} and {words} found",
                count.map_or("?".into(), |n| n.to_string()),
                total.map_or("?".into(), |n| n.to_string())
            ));
        }
        if let (Some(payload), Some(checksum)) = (payload, checksum) {
            if !payload_checksum(&payload).eq_ignore_ascii_case(checksum.trim()) {
                unsigned.push(id);
            }
        }
    }
    if !differ.is_empty() {
        out.push((PertCheck::CountsDiffer, differ.join("; ")));
    }
    if !unsigned.is_empty() {
        out.push((PertCheck::Checksum, format!("submission {}", unsigned.join(", "))));
    }
    // The column's width, cut at a character.
    Ok(out.into_iter().map(|(check, detail)| (check, pathfinder::storage::truncate(&detail, 500))).collect())
}
