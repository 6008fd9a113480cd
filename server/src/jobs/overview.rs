//! Keeps the overview's counts fresh: computes them at start, then every
//! [`EVERY`], and soon after a console change (at most once per [`MIN_GAP`]).

use pathfinder::db::Db;
use pathfinder::stats::OverviewCache;
use pathfinder::storage::KeyPolicy;
use pathfinder::AppResult;
use std::sync::Arc;
use std::time::Duration;

pub const EVERY: Duration = Duration::from_secs(15);
pub const MIN_GAP: Duration = Duration::from_secs(1);

/// Computes the overview once (keys overdue under `policy`) and publishes it (cache
/// and metrics).
pub async fn refresh(db: &Db, cache: &OverviewCache, policy: KeyPolicy) -> AppResult<()> {
    let started = std::time::Instant::now();
    let overview = db.call(move |s| s.overview(chrono::Utc::now(), policy.rotation_days)).await?;
    crate::metrics::publish_overview(&overview, started.elapsed());
    cache.store(overview);
    Ok(())
}

/// Runs until the runtime stops.
pub fn spawn(db: Db, cache: Arc<OverviewCache>, policy: KeyPolicy) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = cache.wait_for_change() => {}
            }
            if let Err(e) = refresh(&db, &cache, policy).await {
                tracing::warn!(error = %e, "refreshing the overview counts failed; keeping the last ones");
            }
            tokio::time::sleep(MIN_GAP).await;
        }
    })
}
