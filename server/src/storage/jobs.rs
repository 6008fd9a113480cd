//! `pf_console_jobs`: the record and the lease of each of the console's own jobs.
//!
//! Every console instance may start a job; the database decides which one runs it:
//! an instance takes the job's lease with one conditional UPDATE (only one can win
//! it, on either backend), renews it while it works, and records when it finished,
//! how long it took and how it ended. An instance that dies mid-run only holds the
//! job until its lease runs out.

use super::audit;
use super::driver::{Conn, ReadRow, Row};
use super::migrations::{failure_audit, intent_audit};
use super::store::Store;
use crate::{args, sql};
use chrono::Utc;
use pathfinder::dto::{JobRun, Timestamp};
use pathfinder::storage::{AuditEntry, RefreshWhen};
use pathfinder::{AppError, AppResult};
use std::time::Instant;

fn job_run(r: &dyn Row) -> AppResult<JobRun> {
    Ok(JobRun {
        finished_at: r.opt_time(0)?,
        duration_ms: r.opt_int(1)?,
        status: r.opt_text(2)?,
        stopped_at: r.opt_time(3)?,
    })
}

/// The job's last finished run.
pub fn last_run(c: &mut Conn, job: &str) -> AppResult<JobRun> {
    let row = c.query_opt(
        sql!(
            "SELECT last_finished_at, last_duration_ms, last_status, stopped_at FROM pf_console_jobs
             WHERE job_name = :1"
        ),
        &args![job],
    )?;
    Ok(match row {
        Some(r) => job_run(&r)?,
        None => JobRun::default(),
    })
}

/// When the run under way started, if one holds the lease now.
pub fn running_since(c: &mut Conn, job: &str) -> AppResult<Option<Timestamp>> {
    let row = c.query_opt(
        sql!("SELECT last_started_at FROM pf_console_jobs WHERE job_name = :1 AND lease_until > :2"),
        &args![job, Utc::now()],
    )?;
    Ok(row.map(|r| r.opt_time(0)).transpose()?.flatten())
}

/// Whether a run that last ended as `run` says is due again, `due_before` being the
/// time before which its last end must lie. A run stopped midway is due at once.
pub fn due(run: &JobRun, due_before: Timestamp) -> bool {
    run.stopped_at.is_some() || run.finished_at.is_none_or(|t| t < due_before)
}

/// Takes the job's lease until `until`, unless another instance holds it or, with
/// `due_before`, the job last finished at or after it (see [`due`]). Whether this
/// instance won it. A run asked for now gives no `due_before`: when the last run
/// ended does not matter to it (and a clock stepped back would make that end seem
/// to come after now).
pub fn claim(c: &mut Conn, job: &str, owner: &str, until: Timestamp, due_before: Option<Timestamp>) -> AppResult<bool> {
    let now = Utc::now();
    let won = match due_before {
        Some(due_before) => c.execute(
            sql!(
                "UPDATE pf_console_jobs SET lease_owner = :1, lease_until = :2, last_started_at = :3
                 WHERE job_name = :4 AND (lease_until IS NULL OR lease_until < :5)
                   AND (last_finished_at IS NULL OR last_finished_at < :6 OR stopped_at IS NOT NULL)"
            ),
            &args![owner, until, now, job, now, due_before],
        )?,
        None => c.execute(
            sql!(
                "UPDATE pf_console_jobs SET lease_owner = :1, lease_until = :2, last_started_at = :3
                 WHERE job_name = :4 AND (lease_until IS NULL OR lease_until < :5)"
            ),
            &args![owner, until, now, job, now],
        )?,
    };
    Ok(won == 1)
}

/// Extends the lease this instance holds; false when it lost it (it ran out and
/// another instance took the job).
pub fn renew(c: &mut Conn, job: &str, owner: &str, until: Timestamp) -> AppResult<bool> {
    let n = c.execute(
        sql!("UPDATE pf_console_jobs SET lease_until = :1 WHERE job_name = :2 AND lease_owner = :3"),
        &args![until, job, owner],
    )?;
    Ok(n == 1)
}

/// Records the run's end and gives the lease back; false when this instance no longer
/// held it (it ran out and another instance took the job: the record is that run's).
pub fn finish(c: &mut Conn, job: &str, owner: &str, millis: i64, error: Option<&AppError>) -> AppResult<bool> {
    let n = c.execute(
        sql!(
            "UPDATE pf_console_jobs SET last_finished_at = :1, last_duration_ms = :2, last_status = :3,
             last_error = :4, stopped_at = NULL, lease_owner = NULL, lease_until = NULL
             WHERE job_name = :5 AND lease_owner = :6"
        ),
        &args![
            Utc::now(),
            millis,
            if error.is_some() { "failed" } else { "ok" },
            error.map(|e| pathfinder::storage::truncate(&e.to_string(), 500)),
            job,
            owner
        ],
    )?;
    Ok(n == 1)
}

/// Records that the run under way was stopped midway and gives the lease back at
/// once, so the next run (on any instance) need not wait for it to run out; the last
/// finished run's record stays as it was. False, as for [`finish`], when the lease was
/// lost.
pub fn stopped(c: &mut Conn, job: &str, owner: &str) -> AppResult<bool> {
    let n = c.execute(
        sql!(
            "UPDATE pf_console_jobs SET stopped_at = :1, lease_owner = NULL, lease_until = NULL
             WHERE job_name = :2 AND lease_owner = :3"
        ),
        &args![Utc::now(), job, owner],
    )?;
    Ok(n == 1)
}

/// Logs a run that ended after its lease had gone to another instance (`held`, as
/// [`finish`] and [`stopped`] say, false): another instance may have run the job
/// meanwhile.
pub fn warn_unless_held(job: &str, held: bool) {
    if !held {
        tracing::warn!(job, "a job's run ended after its lease had gone to another instance");
    }
}

/// A run's outcome row as written: as it is while the run still `held` the job's
/// lease. A run that lost it before it ended is recorded too (what it did happened),
/// and its row says that another instance may have run the job meanwhile (the job's
/// record is left to that run).
fn outcome_row(job: &str, row: AuditEntry, held: bool) -> AuditEntry {
    warn_unless_held(job, held);
    if held {
        return row;
    }
    let said = "Its lease had run out before it ended: another instance may have run the job meanwhile.";
    AuditEntry { detail: Some(row.detail.map_or_else(|| said.to_string(), |d| format!("{d} {said}"))), ..row }
}

impl Store {
    /// Runs `work` as the job `job` when `when` allows, audited: a scheduled run that
    /// is not due returns `None` without writing anything; when another instance holds
    /// the lease, a scheduled run returns `None` and a run asked for now the conflict
    /// `busy`. Otherwise the lease and the intent row, the work, then its outcome
    /// (`work`'s note or its failure) with the audit row; the run as recorded.
    pub(super) fn run_console_job(
        &self,
        job: &str,
        lease: chrono::Duration,
        when: RefreshWhen,
        busy: &str,
        audit_entry: &AuditEntry,
        work: impl FnOnce() -> AppResult<Option<String>>,
    ) -> AppResult<Option<JobRun>> {
        if !self.begin_job_when(job, lease, when, busy, audit_entry)? {
            return Ok(None);
        }
        let started = Instant::now();
        let done = work();
        let millis = started.elapsed().as_millis() as i64;
        let recorded = self.end_job(job, audit_entry, millis, done.as_ref().cloned());
        done?;
        recorded?;
        self.read(|c| last_run(c, job)).map(Some)
    }

    /// Begins the job (see [`Store::begin_job`]) when `when` allows: false, with
    /// nothing written, for a scheduled run that is not due or whose lease another
    /// instance holds; the conflict `busy` for a run asked for now whose lease is held.
    pub(super) fn begin_job_when(
        &self,
        job: &str,
        lease: chrono::Duration,
        when: RefreshWhen,
        busy: &str,
        audit_entry: &AuditEntry,
    ) -> AppResult<bool> {
        let now = Utc::now();
        let due_before = match when {
            RefreshWhen::Now => None,
            RefreshWhen::Due(every) => Some(now - chrono::Duration::from_std(every).map_err(AppError::internal)?),
        };
        if let Some(before) = due_before {
            if !due(&self.read(|c| last_run(c, job))?, before) {
                return Ok(false); // not due: no write at all
            }
        }
        match (self.begin_job(job, now + lease, due_before, audit_entry)?, when) {
            (false, RefreshWhen::Now) => Err(AppError::Conflict(busy.into())),
            (began, _) => Ok(began),
        }
    }

    /// Takes the job's lease (see [`claim`]) and writes the run's intent row
    /// (`<action>.begin`) in the same transaction; whether this instance won the job.
    pub(super) fn begin_job(
        &self,
        job: &str,
        until: Timestamp,
        due_before: Option<Timestamp>,
        audit_entry: &AuditEntry,
    ) -> AppResult<bool> {
        self.write(|c| {
            let won = claim(c, job, &self.instance, until, due_before)?;
            if won {
                audit::append::insert(c, &intent_audit(audit_entry))?;
            }
            Ok(won)
        })
    }

    /// Records the run begun with [`Store::begin_job`] as stopped midway (see
    /// [`stopped`]), with its outcome row: `note` says how far it went.
    pub(super) fn stop_job(&self, job: &str, audit_entry: &AuditEntry, millis: i64, note: String) -> AppResult<()> {
        let row = AuditEntry { execution_time_ms: millis as u64, detail: Some(note), ..audit_entry.clone() };
        self.write(move |c| {
            let held = stopped(c, job, &self.instance)?;
            audit::append::insert(c, &outcome_row(job, row, held))
        })
    }

    /// Records the end of the run begun with [`Store::begin_job`], gives the lease back
    /// and writes the run's outcome row (its duration, a `note` on a run that went
    /// through, or its failure), in one transaction.
    pub(super) fn end_job(
        &self,
        job: &str,
        audit_entry: &AuditEntry,
        millis: i64,
        outcome: Result<Option<String>, &AppError>,
    ) -> AppResult<()> {
        let error = outcome.as_ref().err().copied();
        let row = match outcome {
            Ok(note) => AuditEntry { execution_time_ms: millis as u64, detail: note, ..audit_entry.clone() },
            Err(e) => failure_audit(audit_entry, e),
        };
        self.write(move |c| {
            let held = finish(c, job, &self.instance, millis, error)?;
            audit::append::insert(c, &outcome_row(job, row, held))
        })
    }
}
