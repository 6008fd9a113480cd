//! `pf_audit_jobs`: the Audit page's background work (verify the chain, count a
//! filter exactly). The instance that starts a job runs it; its progress and result
//! live in the database, so every instance answers the page that follows it. A
//! lease renewed with each progress step tells a running job from one whose
//! instance went away.

use super::super::driver::{Conn, ReadRow, Row};
use super::super::store::Store;
use crate::{args, sql};
use chrono::{TimeDelta, Utc};
use pathfinder::audit::{AuditFilter, AuditJob, AuditJobKind};
use pathfinder::storage::AuditEntry;
use pathfinder::witness::ChainTrust;
use pathfinder::{new_id, AppError, AppResult};

/// How long a job counts as running after its last sign of life.
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// The lease of `pf_console_jobs` that lets one verification run at a time across
/// instances (the scheduled one and those started from the Audit page alike);
/// renewed with each step, so an instance that died frees it within this time.
const VERIFY_JOB: &str = "audit_verify";
/// A count is one query: no sign of life until it ends.
const COUNT_LEASE: TimeDelta = TimeDelta::minutes(30);

fn job(r: &dyn Row) -> AppResult<AuditJob> {
    let finished_at = r.opt_time(5)?;
    Ok(AuditJob {
        id: r.text(0)?,
        kind: r.text(1)?,
        started_at: r.time(2)?,
        done: r.int(3)?,
        total: r.opt_int(4)?,
        running: finished_at.is_none() && r.opt_time(8)?.is_some_and(|t| t > Utc::now()),
        finished_at,
        outcome: r.opt_text(6)?,
        result: r.opt_text(7)?,
    })
}

impl Store {
    /// Records a new job and its audit row (who asked for what) in one transaction.
    /// A verification asked for while another runs (on any instance) is that one:
    /// its id comes back, and nothing new starts.
    pub(super) fn start_job(&self, kind: AuditJobKind, filter_text: &str, audit: &AuditEntry) -> AppResult<String> {
        let id = new_id();
        let lease = if kind == AuditJobKind::Count { COUNT_LEASE } else { LEASE };
        self.write_audited(audit, |c| {
            if kind == AuditJobKind::Verify {
                let running = c.query_opt(
                    sql!("SELECT id FROM pf_audit_jobs WHERE kind = 'verify' AND finished_at IS NULL
                            AND lease_until > :1 ORDER BY started_at DESC", limit "1"),
                    &args![Utc::now()],
                )?;
                if let Some(r) = running {
                    return r.text(0);
                }
            }
            c.execute(
                sql!(
                    "INSERT INTO pf_audit_jobs (id, kind, requested_by, filter_text, started_at, lease_until)
                     VALUES (:1, :2, :3, :4, :5, :6)"
                ),
                &args![
                    id.as_str(),
                    kind.as_str(),
                    audit.actor.as_ref().map(|a| a.as_str()),
                    pathfinder::storage::truncate(filter_text, 4000),
                    Utc::now(),
                    Utc::now() + lease
                ],
            )?;
            Ok(id)
        })
    }

    /// Runs the job begun with [`Store::start_job`] to its end and records how it ended,
    /// with its outcome's audit row.
    pub(super) fn run_job(
        &self,
        id: &str,
        kind: AuditJobKind,
        filter: &AuditFilter,
        trust: &ChainTrust,
        audit: &AuditEntry,
    ) -> AppResult<()> {
        if kind != AuditJobKind::Verify {
            return self.run_claimed(id, kind, filter, trust, audit);
        }
        // One verification at a time across instances: each holds connections and
        // reads the whole log. When another runs, `start_job` handed out its id, and
        // its own instance runs it.
        self.holding_verify_lease(None, || self.run_claimed(id, kind, filter, trust, audit)).map(|_| ())
    }

    /// Runs `run` holding the verification lease of `pf_console_jobs` (free, and its
    /// last run finished before `due_before`, if given), and records how it ended;
    /// `None` when another instance holds it. `run` renews it as it goes.
    fn holding_verify_lease<T>(
        &self,
        due_before: Option<chrono::DateTime<Utc>>,
        run: impl FnOnce() -> AppResult<T>,
    ) -> AppResult<Option<T>> {
        let until = Utc::now() + LEASE;
        if !self.write(|c| super::super::jobs::claim(c, VERIFY_JOB, &self.instance, until, due_before))? {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let out = run();
        let millis = started.elapsed().as_millis() as i64;
        let held =
            self.write(|c| super::super::jobs::finish(c, VERIFY_JOB, &self.instance, millis, out.as_ref().err()))?;
        super::super::jobs::warn_unless_held(VERIFY_JOB, held);
        out.map(Some)
    }

    /// [`Store::run_job`] once a verification holds the lease.
    fn run_claimed(
        &self,
        id: &str,
        kind: AuditJobKind,
        filter: &AuditFilter,
        trust: &ChainTrust,
        audit: &AuditEntry,
    ) -> AppResult<()> {
        let started = std::time::Instant::now();
        // A verification that found the chain whole records how far it got.
        let outcome = match kind {
            AuditJobKind::Verify => self.verify_chain_with_progress(id, trust).map(|r| match r.problem {
                Some(_) => ("broken", r.summary(), None),
                None => ("ok", r.summary(), Some(r.last_seq)),
            }),
            AuditJobKind::Count => {
                let mut c = self.conn(super::super::driver::Work::Maintenance, false)?;
                super::search::count_exact(&mut c, filter).map(|n| ("ok", format!("Exactly {n} events match."), None))
            }
        };
        let (state, said, verified) = match &outcome {
            Ok((state, said, verified)) => (*state, said.clone(), *verified),
            Err(e) => ("failed", format!("The job failed: {e}"), None),
        };
        let row = AuditEntry {
            execution_time_ms: started.elapsed().as_millis() as u64,
            detail: Some(said.clone()),
            response_status: if state == "failed" { 500 } else { 200 },
            ..audit.clone()
        };
        self.write_audited(&row, |c| {
            c.execute(
                sql!(
                    "UPDATE pf_audit_jobs SET finished_at = :1, outcome = :2, result = :3, verified_seq = :4,
                     lease_until = NULL WHERE id = :5"
                ),
                &args![Utc::now(), state, pathfinder::storage::truncate(&said, 4000), verified, id],
            )
        })?;
        outcome.map(|_| ())
    }

    fn verify_chain_with_progress(&self, id: &str, trust: &ChainTrust) -> AppResult<pathfinder::audit::ChainReport> {
        let seen = trust.seen()?;
        let mut c = self.conn(super::super::driver::Work::Maintenance, false)?;
        let mut progress = |done: u64, total: u64| {
            let step = self.write(|w| {
                super::super::jobs::renew(w, VERIFY_JOB, &self.instance, Utc::now() + LEASE)?;
                progress(w, id, done, total)
            });
            if let Err(e) = &step {
                tracing::warn!(error = %e, "could not record a verification's progress");
            }
            true
        };
        super::chain::verify(&mut c, trust.key(), seen.as_ref(), &mut progress)
    }

    /// See [`pathfinder::storage::AuditStore::scheduled_chain_verify`]. The lease of
    /// `pf_console_jobs` (`audit_verify`) lets one instance run it; a verification
    /// someone ran from the Audit page counts as the latest.
    pub(super) fn verify_when_due(
        &self,
        every: std::time::Duration,
        trust: &ChainTrust,
        audit: &AuditEntry,
    ) -> AppResult<Option<AuditJob>> {
        let now = Utc::now();
        let due_before = now - chrono::Duration::from_std(every).map_err(AppError::internal)?;
        if self.last_verify()?.and_then(|j| j.finished_at).is_some_and(|t| t >= due_before) {
            return Ok(None);
        }
        let begin = AuditEntry { action: format!("{}.begin", audit.action), ..audit.clone() };
        let run = self.holding_verify_lease(Some(due_before), || {
            let id = self.start_job(AuditJobKind::Verify, "the whole chain (scheduled)", &begin)?;
            self.run_claimed(&id, AuditJobKind::Verify, &AuditFilter::default(), trust, audit).map(|()| id)
        })?;
        run.map(|id| self.job(&id)).transpose()
    }

    /// The last chain verification that finished, whoever asked for it.
    pub(super) fn last_verify(&self) -> AppResult<Option<AuditJob>> {
        self.read(|c| {
            let rows = c.query_map(
                sql!("SELECT id, kind, started_at, done_units, total_units, finished_at, outcome, result,
                        lease_until FROM pf_audit_jobs WHERE kind = 'verify' AND finished_at IS NOT NULL
                        ORDER BY started_at DESC", limit "1"),
                &[],
                job,
            )?;
            Ok(rows.into_iter().next())
        })
    }

    pub(super) fn job(&self, id: &str) -> AppResult<AuditJob> {
        self.read(|c| {
            let rows = c.query_map(
                sql!(
                    "SELECT id, kind, started_at, done_units, total_units, finished_at, outcome, result, lease_until
                     FROM pf_audit_jobs WHERE id = :1"
                ),
                &args![id],
                job,
            )?;
            rows.into_iter().next().ok_or_else(|| AppError::NotFound("The job".into()))
        })
    }
}

/// A sign of life: how far the job got, and its lease renewed.
fn progress(c: &mut Conn, id: &str, done: u64, total: u64) -> AppResult<u64> {
    c.execute(
        sql!("UPDATE pf_audit_jobs SET done_units = :1, total_units = :2, lease_until = :3 WHERE id = :4"),
        &args![done as i64, total as i64, Utc::now() + LEASE, id],
    )
}
