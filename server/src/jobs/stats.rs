//! Refreshes the user statistics (`pf_mv_user_stats`) on a schedule. Every console
//! instance runs this job; the database decides which one refreshes each round (see
//! `storage/stats.rs`), so N instances refresh once per period, not N times.

use pathfinder::db::Db;
use pathfinder::request::RequestMeta;
use pathfinder::stats::OverviewCache;
use pathfinder::storage::RefreshWhen;
use pathfinder::storage::STATS_REFRESH;
use std::sync::Arc;
use std::time::Duration;

/// How often an instance asks whether a refresh is due (a read, and a write only
/// when one is).
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Runs until the runtime stops; the first check is at start.
pub fn spawn(db: Db, overview: Arc<OverviewCache>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let audit = RequestMeta::job("stats-refresh").audit(None, STATS_REFRESH, ("statistics", None));
            match db.call(move |s| s.refresh_user_stats(RefreshWhen::Due(every), &audit)).await {
                Ok(Some(run)) => {
                    tracing::info!(duration_ms = run.duration_ms, "refreshed the user statistics");
                    overview.changed();
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "refreshing the user statistics failed; next check in a minute"),
            }
            tokio::time::sleep(CHECK_EVERY.min(every)).await;
        }
    })
}
