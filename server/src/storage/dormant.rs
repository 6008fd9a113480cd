//! Dormant users: the list walks `idx_mv_user_stats_activity` (last activity, oldest
//! first) or, for the never active, the statistics by user id; the count sums the
//! per-day counts recounted after each statistics refresh; the deactivation job
//! walks the same order in batches.
//!
//! The last-activity order has no tie-breaker in its index, so a page (or batch)
//! that ends on a time takes every other person last active at that same time too,
//! and the next one starts after it: nobody is skipped or seen twice.
//!
//! N instances: a job's lease (`pf_dormant_jobs.lease_owner/lease_until`) lets one
//! instance work on it at a time, and each batch moves the position only while
//! that instance still holds the lease; one whose instance went away is resumed
//! by the upkeep round.

use super::driver::{Conn, ReadRow};
use super::rows::end_sessions_of;
use super::store::Store;
use super::{audit::append, jobs};
use crate::{args, sql};
use chrono::{Duration, Utc};
use pathfinder::dormant::{cursor_of, cursor_time, DeactivationJob, Dormancy, DormantFilter, DormantPage, DormantUser};
use pathfinder::dto::Timestamp;
use pathfinder::storage::{user_status, AuditEntry, DormantStore, DORMANT_DEACTIVATE_DONE};
use pathfinder::{AppError, AppResult, UserId};

/// Users per transaction of the job.
const BATCH: u32 = 500;
/// Longer than a batch takes; renewed by each.
const LEASE: Duration = Duration::minutes(5);
/// Deactivation jobs the page lists.
const JOBS_LISTED: i64 = 5;

/// The people of a page or batch, and where the next starts.
struct Walk {
    users: Vec<DormantUser>,
    next: Option<String>,
}

fn dormant_user(r: &dyn super::driver::Row) -> AppResult<DormantUser> {
    Ok(DormantUser {
        user_id: r.text(0)?,
        username: r.text(1)?,
        status: r.opt_text(4)?.unwrap_or_else(|| "active".into()),
        last_activity: r.opt_time(2)?,
        total_events: r.opt_int(3)?.unwrap_or_default(),
    })
}

/// Up to `limit` people `dormancy` names after `after` (and, in the last-activity
/// order, every other person at the last one's time).
fn walk(c: &mut Conn, dormancy: Dormancy, after: Option<&str>, limit: u32) -> AppResult<Walk> {
    let limit = i64::from(limit);
    let Some(before) = dormancy.before() else {
        let users = match after {
            None => c.query_map(
                // SQLite: `+` keeps the planner on the id order (the activity index
                // would find them all and sort them); Oracle keeps no NULL in it.
                sql!(
                    sqlite: "SELECT s.user_id, s.username, s.last_activity, s.total_events, u.account_status
                        FROM pf_mv_user_stats s JOIN pf_users u ON u.user_id = s.user_id
                        WHERE +s.last_activity IS NULL ORDER BY s.user_id LIMIT :1",
                    oracle: "SELECT s.user_id, s.username, s.last_activity, s.total_events, u.account_status
                        FROM pf_mv_user_stats s JOIN pf_users u ON u.user_id = s.user_id
                        WHERE s.last_activity IS NULL ORDER BY s.user_id FETCH FIRST :1 ROWS ONLY"
                ),
                &args![limit],
                dormant_user,
            )?,
            Some(id) => c.query_map(
                sql!(
                    sqlite: "SELECT s.user_id, s.username, s.last_activity, s.total_events, u.account_status
                        FROM pf_mv_user_stats s JOIN pf_users u ON u.user_id = s.user_id
                        WHERE +s.last_activity IS NULL AND s.user_id > :1 ORDER BY s.user_id LIMIT :2",
                    oracle: "SELECT s.user_id, s.username, s.last_activity, s.total_events, u.account_status
                        FROM pf_mv_user_stats s JOIN pf_users u ON u.user_id = s.user_id
                        WHERE s.last_activity IS NULL AND s.user_id > :1 ORDER BY s.user_id FETCH FIRST :2 ROWS ONLY"
                ),
                &args![id, limit],
                dormant_user,
            )?,
        };
        let next = (users.len() as i64 == limit).then(|| users.last().map(|u| u.user_id.clone())).flatten();
        return Ok(Walk { users, next });
    };
    let from = after.map(cursor_time).transpose()?.unwrap_or_else(super::driver::earliest_time);
    let mut users = c.query_map(
        sql!(
            "SELECT s.user_id, s.username, s.last_activity, s.total_events, u.account_status
             FROM pf_mv_user_stats s JOIN pf_users u ON u.user_id = s.user_id
             WHERE s.last_activity < :1 AND s.last_activity > :2 ORDER BY s.last_activity",
            limit ":3"
        ),
        &args![before, from, limit],
        dormant_user,
    )?;
    if users.len() as i64 != limit {
        return Ok(Walk { users, next: None });
    }
    let Some(last) = users.last().and_then(|u| u.last_activity) else { return Ok(Walk { users, next: None }) };
    let ties = c.query_map(
        sql!(
            "SELECT s.user_id, s.username, s.last_activity, s.total_events, u.account_status
             FROM pf_mv_user_stats s JOIN pf_users u ON u.user_id = s.user_id
             WHERE s.last_activity = :1"
        ),
        &args![last],
        dormant_user,
    )?;
    for t in ties {
        if !users.iter().any(|u| u.user_id == t.user_id) {
            users.push(t);
        }
    }
    Ok(Walk { users, next: Some(cursor_of(&last)) })
}

/// How many people `dormancy` names, from the per-day counts.
fn dormant_count(c: &mut Conn, dormancy: Dormancy) -> AppResult<i64> {
    match dormancy {
        Dormancy::Never => {
            c.query_int(sql!("SELECT COALESCE(SUM(users), 0) FROM pf_user_stats_activity WHERE bucket = 'never'"), &[])
        }
        Dormancy::Since(day) => c.query_int(
            sql!("SELECT COALESCE(SUM(users), 0) FROM pf_user_stats_activity WHERE bucket < :1"),
            &args![day.format("%Y-%m-%d").to_string()],
        ),
    }
}

fn dormancy_text(d: Dormancy) -> String {
    match d {
        Dormancy::Never => "never".into(),
        Dormancy::Since(day) => day.format("%Y-%m-%d").to_string(),
    }
}

fn dormancy_of(text: &str) -> AppResult<Dormancy> {
    if text == "never" {
        return Ok(Dormancy::Never);
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Dormancy::Since).map_err(AppError::internal)
}

fn job_row(r: &dyn super::driver::Row, now: Timestamp) -> AppResult<DeactivationJob> {
    let lease_until = r.opt_time(9)?;
    let finished_at = r.opt_time(7)?;
    Ok(DeactivationJob {
        job_id: r.text(0)?,
        dormancy: dormancy_of(&r.text(1)?)?.describe(),
        requested_by: r.opt_text(2)?,
        started_at: r.time(3)?,
        expected: r.int(4)?,
        deactivated: r.int(5)?,
        skipped: r.int(6)?,
        running: finished_at.is_none() && lease_until.is_some_and(|t| t > now),
        stop_requested: r.flag(10)?,
        finished_at,
        outcome: r.opt_text(8)?,
    })
}

fn job(c: &mut Conn, job_id: &str) -> AppResult<Option<DeactivationJob>> {
    let now = Utc::now();
    let row = c.query_opt(
        sql!(
            "SELECT j.job_id, j.dormancy, u.username, j.started_at, j.expected, j.deactivated, j.skipped,
             j.finished_at, j.outcome, j.lease_until, j.stop_requested
             FROM pf_dormant_jobs j LEFT JOIN pf_users u ON u.user_id = j.requested_by WHERE j.job_id = :1"
        ),
        &args![job_id],
    )?;
    row.map(|r| job_row(&r, now)).transpose()
}

impl Store {
    /// One batch of the job, in one transaction: the users after its position,
    /// each deactivated unless active again since, a console account, or not
    /// active; their rows; the new position. Whether the job is over; `None` when
    /// the lease is lost.
    fn deactivation_batch(&self, job_id: &str, audit: &AuditEntry) -> AppResult<Option<bool>> {
        let now = Utc::now();
        self.write(|c| {
            let row = c.query_opt(
                sql!(
                    "SELECT dormancy, position_at, position_id, stop_requested FROM pf_dormant_jobs
                     WHERE job_id = :1 AND lease_owner = :2 AND lease_until > :3 AND finished_at IS NULL"
                ),
                &args![job_id, &self.instance, now],
            )?;
            let Some(row) = row else { return Ok(None) };
            let dormancy = dormancy_of(&row.text(0)?)?;
            if row.flag(3)? {
                finish(c, job_id, "stopped", now)?;
                return Ok(Some(true));
            }
            let after = match dormancy {
                Dormancy::Never => row.opt_text(2)?,
                Dormancy::Since(_) => row.opt_time(1)?.map(|t| cursor_of(&t)),
            };
            let batch = walk(c, dormancy, after.as_deref(), BATCH)?;
            let (mut changed, mut skipped) = (0i64, 0i64);
            let action = user_status("deactivated").ok_or_else(|| AppError::internal("no deactivated action"))?;
            for u in &batch.users {
                let id = UserId(u.user_id.clone());
                if deactivate(c, &id, dormancy, now)? {
                    end_sessions_of(c, &id, audit, "account deactivated (dormant)", now)?;
                    let row = AuditEntry {
                        action: action.name.into(),
                        response_status: action.status,
                        entity_type: Some("user".into()),
                        entity_id: Some(id.0.clone()),
                        detail: Some(format!("dormant: {} (job {job_id})", dormancy.describe())),
                        ..audit.clone()
                    };
                    append::insert(c, &row)?;
                    changed += 1;
                } else {
                    skipped += 1;
                }
            }
            let (at, id) = match (&batch.next, dormancy) {
                (Some(n), Dormancy::Since(_)) => (Some(cursor_time(n)?), None),
                (Some(n), Dormancy::Never) => (None, Some(n.clone())),
                (None, _) => (None, None),
            };
            c.execute(
                sql!(
                    "UPDATE pf_dormant_jobs SET position_at = :1, position_id = :2, deactivated = deactivated + :3,
                     skipped = skipped + :4, lease_until = :5 WHERE job_id = :6"
                ),
                &args![at, id, changed, skipped, now + LEASE, job_id],
            )?;
            let over = batch.next.is_none();
            if over {
                finish(c, job_id, "done", now)?;
            }
            Ok(Some(over))
        })
    }
}

/// Deactivates `user` unless they are active again since the statistics saw them
/// (an event since the dormancy's day, or any event for the never active), hold a
/// console role (those are the security review's), or are not active. Whether it did.
fn deactivate(c: &mut Conn, user: &UserId, dormancy: Dormancy, now: Timestamp) -> AppResult<bool> {
    let since = dormancy.before().unwrap_or_else(super::driver::earliest_time);
    let changed = c.execute(
        sql!(
            "UPDATE pf_users SET account_status = 'deactivated', updated_at = :1
             WHERE user_id = :2 AND COALESCE(account_status, 'active') = 'active'
             AND NOT EXISTS (SELECT 1 FROM pf_console_roles r WHERE r.user_id = :3)
             AND NOT EXISTS (SELECT 1 FROM pf_user_analytics a WHERE a.user_id = :4 AND a.event_timestamp >= :5)"
        ),
        &args![now, user, user, user, since],
    )?;
    Ok(changed == 1)
}

/// Ends the job (`done` or `stopped`), gives its lease back, and writes its outcome
/// row with the counts.
fn finish(c: &mut Conn, job_id: &str, outcome: &str, now: Timestamp) -> AppResult<()> {
    c.execute(
        sql!(
            "UPDATE pf_dormant_jobs SET finished_at = :1, outcome = :2, lease_owner = NULL, lease_until = NULL
             WHERE job_id = :3"
        ),
        &args![now, outcome, job_id],
    )?;
    let Some(j) = job(c, job_id)? else { return Ok(()) };
    let entry = AuditEntry {
        action: DORMANT_DEACTIVATE_DONE.name.into(),
        response_status: DORMANT_DEACTIVATE_DONE.status,
        entity_type: Some("dormant_job".into()),
        entity_id: Some(job_id.into()),
        detail: Some(format!("{outcome}: {} deactivated, {} left as they were", j.deactivated, j.skipped)),
        request_method: Some("JOB".into()),
        ..AuditEntry::default()
    };
    append::insert(c, &entry)
}

impl DormantStore for Store {
    fn dormant_users(&self, filter: &DormantFilter) -> AppResult<DormantPage> {
        let now = Utc::now();
        self.read(|c| {
            let walked = walk(c, filter.dormancy, filter.after.as_deref(), filter.limit)?;
            let jobs = c.query_map(
                sql!(
                    "SELECT j.job_id, j.dormancy, u.username, j.started_at, j.expected, j.deactivated, j.skipped,
                     j.finished_at, j.outcome, j.lease_until, j.stop_requested
                     FROM pf_dormant_jobs j LEFT JOIN pf_users u ON u.user_id = j.requested_by
                     ORDER BY j.started_at DESC, j.job_id DESC",
                    limit ":1"
                ),
                &args![JOBS_LISTED],
                |r| job_row(r, now),
            )?;
            Ok(DormantPage {
                dormancy: filter.dormancy,
                count: dormant_count(c, filter.dormancy)?,
                as_of: jobs::last_run(c, "user_stats")?,
                users: walked.users,
                next_cursor: walked.next,
                jobs,
            })
        })
    }

    fn start_deactivation(&self, dormancy: Dormancy, audit: &AuditEntry) -> AppResult<DeactivationJob> {
        let id = pathfinder::new_id();
        let now = Utc::now();
        self.write_audited_with(audit, |c| {
            let running = c.query_int(
                sql!("SELECT COUNT(*) FROM pf_dormant_jobs WHERE finished_at IS NULL AND stop_requested = 'N'"),
                &[],
            )?;
            if running > 0 {
                return Err(AppError::Conflict(
                    "A deactivation of dormant users is under way: stop it or let it finish first.".into(),
                ));
            }
            let expected = dormant_count(c, dormancy)?;
            c.execute(
                sql!(
                    "INSERT INTO pf_dormant_jobs (job_id, dormancy, requested_by, started_at, expected, lease_owner,
                     lease_until) VALUES (:1, :2, :3, :4, :5, :6, :7)"
                ),
                &args![&id, dormancy_text(dormancy), audit.actor.as_ref(), now, expected, &self.instance, now + LEASE],
            )?;
            let made = job(c, &id)?.ok_or_else(|| AppError::internal("the job just made is gone"))?;
            Ok((made, format!("job {id}: {}; {expected} users by the count", dormancy.describe())))
        })
    }

    fn run_deactivation(&self, job_id: &str, audit: &AuditEntry) -> AppResult<Option<DeactivationJob>> {
        let now = Utc::now();
        // Take the lease: free, run out, or already this instance's.
        let won = self.write(|c| {
            c.execute(
                sql!(
                    "UPDATE pf_dormant_jobs SET lease_owner = :1, lease_until = :2
                     WHERE job_id = :3 AND finished_at IS NULL
                     AND (lease_owner IS NULL OR lease_owner = :4 OR lease_until IS NULL OR lease_until <= :5)"
                ),
                &args![&self.instance, now + LEASE, job_id, &self.instance, now],
            )
        })?;
        if won == 0 {
            return Ok(None);
        }
        loop {
            match self.deactivation_batch(job_id, audit)? {
                None => return Ok(None),
                Some(true) => break,
                Some(false) => {}
            }
        }
        self.read(|c| job(c, job_id))
    }

    fn stop_deactivation(&self, job_id: &str, audit: &AuditEntry) -> AppResult<()> {
        let now = Utc::now();
        self.write_audited(audit, |c| {
            let asked = c.execute(
                sql!("UPDATE pf_dormant_jobs SET stop_requested = 'Y' WHERE job_id = :1 AND finished_at IS NULL"),
                &args![job_id],
            )?;
            if asked == 0 {
                return Err(AppError::NotFound("That deactivation (it may have finished)".into()));
            }
            // Nobody working on it: it stops now.
            let idle = c.execute(
                sql!(
                    "UPDATE pf_dormant_jobs SET lease_owner = :1, lease_until = :2 WHERE job_id = :3
                     AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= :4)"
                ),
                &args![&self.instance, now + LEASE, job_id, now],
            )?;
            if idle == 1 {
                finish(c, job_id, "stopped", now)?;
            }
            Ok(())
        })
    }

    fn orphaned_deactivations(&self) -> AppResult<Vec<String>> {
        self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT job_id FROM pf_dormant_jobs WHERE finished_at IS NULL
                     AND (lease_until IS NULL OR lease_until <= :1) ORDER BY started_at"
                ),
                &args![Utc::now()],
                |r| r.text(0),
            )
        })
    }

    fn count_dormancy(&self) -> AppResult<()> {
        self.write(|c| {
            c.execute(sql!("DELETE FROM pf_user_stats_activity"), &[])?;
            c.execute(
                sql!(
                    sqlite: "INSERT INTO pf_user_stats_activity (bucket, users)
                        SELECT COALESCE(substr(last_activity, 1, 10), 'never'), COUNT(*) FROM pf_mv_user_stats
                        GROUP BY COALESCE(substr(last_activity, 1, 10), 'never')",
                    oracle: "INSERT INTO pf_user_stats_activity (bucket, users)
                        SELECT COALESCE(TO_CHAR(last_activity, 'YYYY-MM-DD'), 'never'), COUNT(*) FROM pf_mv_user_stats
                        GROUP BY COALESCE(TO_CHAR(last_activity, 'YYYY-MM-DD'), 'never')"
                ),
                &[],
            )?;
            Ok(())
        })
    }
}
