//! Removes feature-flag overrides once they expire, one audit row each
//! (`flag.override.expired`, with what the override was). Evaluation already ignores
//! an override from the instant it expires; this job only tidies up and records it.
//! Every instance runs it: each removal is conditional, so a row goes once.

use pathfinder::db::Db;
use pathfinder::request::RequestMeta;
use pathfinder::storage::OVERRIDE_EXPIRED;
use std::time::Duration;

const BATCH: u32 = 500;

/// Removes what has expired, a batch per transaction, until none is left.
pub async fn sweep(db: &Db) -> u64 {
    let mut removed = 0;
    loop {
        let audit = RequestMeta::job("flag-expiry").audit(None, OVERRIDE_EXPIRED, ("feature_flag", None));
        match db.call(move |s| s.expire_overrides(chrono::Utc::now(), BATCH, &audit)).await {
            Ok(n) => {
                removed += n;
                if n < u64::from(BATCH) {
                    return removed;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "removing expired flag overrides failed; next try at the next period");
                return removed;
            }
        }
    }
}

/// Runs until the runtime stops.
pub fn spawn(db: Db, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let n = sweep(&db).await;
            if n > 0 {
                tracing::info!(removed = n, "removed expired flag overrides");
            }
            tokio::time::sleep(every).await;
        }
    })
}
