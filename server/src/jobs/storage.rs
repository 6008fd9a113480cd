//! Samples the storage and gathers the optimizer's statistics when they are due, and
//! publishes the latest sample's gauges. Every console instance runs this; the
//! database's lease (`pf_console_jobs`) decides which one samples or gathers each
//! round, and every instance publishes the same latest sample.

use pathfinder::db::Db;
use pathfinder::request::RequestMeta;
use pathfinder::storage::RefreshWhen;
use pathfinder::usage::StoragePolicy;
use std::time::Duration;

/// The audit actions of the two jobs, whoever asks for them.
pub const SAMPLE_ACTION: &str = "storage.sample";
pub const STATISTICS_ACTION: &str = "database.statistics";

/// How often an instance asks whether a run is due (a read, and a write only when one
/// is) and republishes the gauges.
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Publishes the latest sample and the last chain verification to `/metrics`.
pub async fn publish(db: &Db, policy: StoragePolicy) {
    match db.call(move |s| Ok((s.storage_page(&policy)?, s.last_chain_verify()?))).await {
        Ok((page, verify)) => crate::metrics::publish_storage(&page, verify.as_ref()),
        Err(e) => tracing::warn!(error = %e, "reading the latest storage sample failed"),
    }
}

/// Runs until the runtime stops; the first check is at start.
pub fn spawn(db: Db, policy: StoragePolicy, statistics_every: Duration) -> tokio::task::JoinHandle<()> {
    let sample_every = Duration::from_secs(u64::from(policy.sample_every_minutes) * 60);
    tokio::spawn(async move {
        loop {
            let audit = RequestMeta::job("storage-sample").audit(None, SAMPLE_ACTION, ("storage", None), 200);
            match db.call(move |s| s.sample_storage(RefreshWhen::Due(sample_every), &policy, &audit)).await {
                Ok(Some(run)) => tracing::info!(duration_ms = run.duration_ms, "sampled the storage"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "sampling the storage failed; next check in a minute"),
            }
            let audit = RequestMeta::job("db-statistics").audit(None, STATISTICS_ACTION, ("statistics", None), 200);
            match db.call(move |s| s.gather_statistics(RefreshWhen::Due(statistics_every), &audit)).await {
                Ok(Some(run)) => tracing::info!(duration_ms = run.duration_ms, "gathered the optimizer statistics"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "gathering the statistics failed; next check in a minute"),
            }
            publish(&db, policy).await;
            tokio::time::sleep(CHECK_EVERY).await;
        }
    })
}
