//! The database's upkeep: a storage sample, the optimizer's statistics, a
//! verification of the audit chain, a retention run, the CPA PERT checks, the
//! analytics summaries, (embedded database) a backup, the access reviews' deadlines
//! and reminders and the security review, each
//! when it is due; then the latest sample, verification and findings published as
//! gauges. Every console instance runs this; the
//! database's leases (`pf_console_jobs`) decide which one does each round, and every
//! instance publishes the same latest results.

use pathfinder::db::Db;
use pathfinder::request::RequestMeta;
use pathfinder::storage::{RefreshWhen, RetentionRequest};
use pathfinder::storage::{
    ACCESS_REVIEW_CLOSE, ACCESS_REVIEW_REMIND, ANALYTICS_SUMMARIZE, AUDIT_VERIFY, BACKUP_CREATE, DB_STATISTICS,
    DORMANT_DEACTIVATE, PERT_CHECKS_REFRESH, RETENTION_RUN, SECURITY_REVIEW, STORAGE_SAMPLE,
};
use pathfinder::usage::StoragePolicy;
use std::sync::Arc;
use std::time::Duration;

/// How often an instance asks whether a run is due (reads, and writes only when one
/// is) and republishes the gauges.
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// The most CPA PERT reports a round checks again (about a second's work): a burst
/// of the product's writes is worked through over a few rounds. Any instance may
/// do it: checking a report twice writes the same findings.
const PERT_CHECKS_PER_ROUND: u32 = 5_000;

/// The most analytics events a round counts (a few seconds' work); a backlog, such
/// as a generated history, is worked through over the rounds. Any instance may do
/// it: a batch is counted once, by whoever moves the position first.
const ANALYTICS_PER_ROUND: u32 = 200_000;

/// Events younger than this are left for the next round: the product may still be
/// writing events of that time.
const ANALYTICS_LAG: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

#[derive(Clone)]
pub struct Upkeep {
    pub storage: StoragePolicy,
    pub statistics_every: Duration,
    pub verify_every: Duration,
    pub retention_every: Duration,
    /// The embedded database's backups (none on Oracle, or when turned off).
    pub backups: Option<pathfinder::backup::BackupSchedule>,
    /// Signs retention's cuts and checks the chain's signed checkpoints.
    pub audit_key: Arc<[u8]>,
    /// Holds the newest checkpoint seen, for the scheduled verification.
    pub witness: Option<pathfinder::witness::Witness>,
    /// The security review's thresholds and period.
    pub security: pathfinder::security::SecurityPolicy,
    /// This instance's name and configuration, reported hourly for the review.
    pub instance: Option<(String, pathfinder::security::InstanceFacts)>,
    /// Tells administrators of the review's new high findings.
    pub outbox: Option<pathfinder::mail::Outbox>,
}

/// Publishes the latest sample, the last chain verification and the newest backups
/// to `/metrics`.
pub async fn publish(db: &Db, upkeep: &Upkeep) {
    let policy = upkeep.storage;
    let read = move |s: &dyn pathfinder::storage::Storage| {
        Ok((s.storage_page(&policy)?, s.last_chain_verify()?, s.backups(20)?, s.open_findings()?))
    };
    match db.call(move |s| read(s)).await {
        Ok((page, verify, backups, findings)) => {
            crate::metrics::publish_upkeep(&page, verify.as_ref(), upkeep.verify_every, &backups);
            crate::metrics::publish_security(findings);
        }
        Err(e) => tracing::warn!(error = %e, "reading the latest storage sample failed"),
    }
}

/// One round: each job if due, then the gauges.
pub async fn round(db: &Db, upkeep: &Upkeep) {
    if db.stopping() {
        return;
    }
    checkpoint_log(db).await;
    let (policy, sample_every) =
        (upkeep.storage, Duration::from_secs(u64::from(upkeep.storage.sample_every_minutes) * 60));
    let audit = RequestMeta::job("storage-sample").audit(None, STORAGE_SAMPLE, ("storage", None));
    match db.call(move |s| s.sample_storage(RefreshWhen::Due(sample_every), &policy, &audit)).await {
        Ok(Some(run)) => tracing::info!(duration_ms = run.duration_ms, "sampled the storage"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "sampling the storage failed; next check in a minute"),
    }
    let every = upkeep.statistics_every;
    let audit = RequestMeta::job("db-statistics").audit(None, DB_STATISTICS, ("statistics", None));
    match db.call(move |s| s.gather_statistics(RefreshWhen::Due(every), &audit)).await {
        Ok(Some(run)) => tracing::info!(duration_ms = run.duration_ms, "gathered the optimizer statistics"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "gathering the statistics failed; next check in a minute"),
    }
    let every = upkeep.verify_every;
    let trust =
        pathfinder::witness::ChainTrust { key: Some(upkeep.audit_key.clone()), witness: upkeep.witness.clone() };
    let mut audit = RequestMeta::job("audit-verify").audit(None, AUDIT_VERIFY, ("audit_log", None));
    audit.detail = Some("the whole chain (scheduled)".into());
    match db.call(move |s| s.scheduled_chain_verify(every, &trust, &audit)).await {
        Ok(Some(job)) => tracing::info!(outcome = ?job.outcome, "verified the audit chain"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "verifying the audit chain failed; next check in a minute"),
    }
    // A shutdown stops a retention run or a backup at its next safe point (`Db::go_on`).
    let (every, key, go_on) = (upkeep.retention_every, upkeep.audit_key.clone(), db.go_on());
    let audit = RequestMeta::job("retention").audit(None, RETENTION_RUN, ("retention", None));
    let run = move |s: &dyn pathfinder::storage::Storage| {
        let req = RetentionRequest {
            dry_run: false,
            when: RefreshWhen::Due(every),
            now: chrono::Utc::now(),
            audit_key: Some(&key),
        };
        s.run_retention(&req, &audit, &mut |_| go_on())
    };
    match db.call(move |s| run(s)).await {
        Ok(Some(summary)) => {
            tracing::info!(archived = summary.archived(), deleted = summary.deleted(), "ran the retention policies")
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "the retention run failed; it resumes when next due"),
    }
    if db.stopping() {
        return; // shutting down: the rest waits for the next round, on this or another instance
    }
    // Reports the product (or a review) changed since their needs-attention checks.
    let audit = RequestMeta::job("pert-checks").audit(None, PERT_CHECKS_REFRESH, ("pert_report", None));
    match db.call(move |s| s.check_pert_reports(PERT_CHECKS_PER_ROUND, &audit)).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(reports = n, "checked changed CPA PERT reports"),
        Err(e) => tracing::warn!(error = %e, "checking CPA PERT reports failed; next check in a minute"),
    }
    let audit = RequestMeta::job("analytics").audit(None, ANALYTICS_SUMMARIZE, ("analytics", None));
    let until = chrono::Utc::now() - ANALYTICS_LAG;
    match db.call(move |s| s.summarize_analytics(until, ANALYTICS_PER_ROUND, &audit)).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(events = n, "counted analytics events into the summaries"),
        Err(e) => tracing::warn!(error = %e, "counting analytics events failed; next round in a minute"),
    }
    if let Some(schedule) = upkeep.backups.clone() {
        let (key, go_on) = (upkeep.audit_key.clone(), db.go_on());
        let audit = RequestMeta::job("backup").audit(None, BACKUP_CREATE, ("backup", None));
        match db.call(move |s| s.scheduled_backup(&schedule, Some(&key), &audit, &go_on)).await {
            Ok(Some(b)) => tracing::info!(kind = b.kind, location = b.location, "took a scheduled backup"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "the scheduled backup failed; next check in a minute"),
        }
    }
    // Deactivations of dormant users whose instance went away, from where they stopped.
    let orphans = db.call(|s| s.orphaned_deactivations()).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "looking for stopped deactivations failed; next check in a minute");
        vec![]
    });
    for job in orphans {
        let audit =
            RequestMeta::job("dormant-deactivation").audit(None, DORMANT_DEACTIVATE, ("dormant_job", Some(&job)));
        db.detach("dormant deactivation", move |s| s.run_deactivation(&job, &audit).map(|_| ()));
    }
    access_reviews(db, upkeep).await;
    // Last: it looks at what the jobs above did.
    let policy = upkeep.security;
    let audit = RequestMeta::job("security-review").audit(None, SECURITY_REVIEW, ("security", None));
    match db.call(move |s| s.security_review(RefreshWhen::Due(policy.every()), &policy, &audit)).await {
        Ok(Some(outcome)) => {
            tracing::info!(outcome = outcome.note(), "ran the security review");
            if let Some(outbox) = &upkeep.outbox {
                match outbox.tell_admins_of(db, &outcome).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(administrators = n, "told of new high findings"),
                    Err(e) => tracing::warn!(error = %e, "telling administrators of new high findings failed"),
                }
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "the security review failed; next check in a minute"),
    }
    publish(db, upkeep).await;
}

/// Checkpoints the embedded database's write-ahead log (each instance, each round:
/// SQLite's own checkpoints never shrink it) and publishes what is left.
async fn checkpoint_log(db: &Db) {
    match db.call(|s| s.checkpoint_log()).await {
        Ok(Some(log)) => {
            if log.behind > 0 {
                tracing::info!(
                    frames = log.frames,
                    behind = log.behind,
                    bytes = log.bytes,
                    "a reader holds the write-ahead log"
                );
            }
            crate::metrics::publish_log(log);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "checkpointing the write-ahead log failed; next try in a minute"),
    }
}

/// Closes the access reviews past their deadline, and reminds the reviewers of
/// those due within two days. Any instance may: each close and each reminder is
/// claimed by one compare-and-set, so reviewers hear once.
async fn access_reviews(db: &Db, upkeep: &Upkeep) {
    let now = chrono::Utc::now();
    let audit = RequestMeta::job("access-reviews").audit(None, ACCESS_REVIEW_CLOSE, ("access_review", None));
    match db.call(move |s| s.close_overdue_access_reviews(now, &audit)).await {
        Ok(closed) => {
            for c in closed {
                tracing::info!(campaign = %c.name, left_open = c.undecided(), "closed an access review at its deadline");
            }
        }
        Err(e) => tracing::warn!(error = %e, "closing access reviews past their deadline failed"),
    }
    let audit = RequestMeta::job("access-reviews").audit(None, ACCESS_REVIEW_REMIND, ("access_review", None));
    let due = match db.call(move |s| s.access_reviews_to_remind(now, &audit)).await {
        Ok(due) => due,
        Err(e) => return tracing::warn!(error = %e, "looking for access reviews to remind of failed"),
    };
    let Some(outbox) = &upkeep.outbox else { return };
    for c in due {
        if let Err(e) = outbox.tell_reviewers_of(db, &c, false).await {
            tracing::warn!(error = %e, campaign = %c.name, "reminding reviewers of an access review failed");
        }
    }
}

/// Reports this instance's configuration for the security review.
pub async fn report_instance(db: &Db, upkeep: &Upkeep) {
    let Some((name, facts)) = upkeep.instance.clone() else { return };
    if let Err(e) = db.call(move |s| s.report_instance(&name, &facts)).await {
        tracing::warn!(error = %e, "reporting this instance's configuration failed; next try in an hour");
    }
}

/// Runs until the runtime stops; the first round is at start.
pub fn spawn(db: Db, upkeep: Upkeep) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reported: Option<std::time::Instant> = None;
        loop {
            if reported.is_none_or(|at| at.elapsed() >= pathfinder::security::INSTANCE_REPORT_EVERY) {
                report_instance(&db, &upkeep).await;
                reported = Some(std::time::Instant::now());
            }
            round(&db, &upkeep).await;
            tokio::time::sleep(CHECK_EVERY).await;
        }
    })
}
