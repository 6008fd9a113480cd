//! Samples this instance's connection pool every 10 s into the in-memory rings the
//! Pool page draws (`pathfinder::pool::PoolHistory`): connections by state, the
//! callers waiting, and the acquire and usage time percentiles of each interval,
//! from the differences of the `/metrics` histograms (nothing is timed twice).

use crate::metrics::pool_histograms;
use pathfinder::db::Db;
use pathfinder::pool::{Percentiles, PoolHistory, PoolSample, SAMPLE_SECONDS};
use std::sync::Arc;
use std::time::Duration;

/// Cumulative counts by bound minus an earlier snapshot of the same histogram.
fn since(now: &[(f64, u64)], before: &[(f64, u64)]) -> Vec<(f64, u64)> {
    now.iter().enumerate().map(|(i, &(bound, n))| (bound, n.saturating_sub(before.get(i).map_or(0, |b| b.1)))).collect()
}

/// Takes one sample, given the histograms of the sample before.
pub async fn sample(db: &Db, history: &PoolHistory, before: &mut (Vec<(f64, u64)>, Vec<(f64, u64)>)) {
    let (acquire, usage, timeouts) = pool_histograms();
    let stats = match db.call(|s| Ok(s.pool_stats())).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "sampling the pool failed");
            return;
        }
    };
    let s = PoolSample {
        at_ms: chrono::Utc::now().timestamp_millis(),
        open: stats.open,
        active: stats.in_use,
        idle: stats.idle,
        pending: stats.waiters,
        timeouts,
        acquire: Percentiles::of(&since(&acquire, &before.0)),
        usage: Percentiles::of(&since(&usage, &before.1)),
    };
    let acquired = acquire.last().map_or(0, |b| b.1);
    history.push(s, (Percentiles::of(&acquire), Percentiles::of(&usage), acquired));
    *before = (acquire, usage);
}

/// Runs until the runtime stops.
pub fn spawn(db: Db, history: Arc<PoolHistory>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut before = (Vec::new(), Vec::new());
        let mut every = tokio::time::interval(Duration::from_secs(SAMPLE_SECONDS));
        loop {
            every.tick().await;
            sample(&db, &history, &mut before).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_counts_only_what_it_observed() {
        let before = [(0.001, 10), (0.01, 10), (f64::INFINITY, 10)];
        let now = [(0.001, 10), (0.01, 30), (f64::INFINITY, 30)];
        let d = since(&now, &before);
        assert_eq!(d, [(0.001, 0), (0.01, 20), (f64::INFINITY, 20)]);
        let p = Percentiles::of(&d);
        assert!(p.p50 > 1_000 && p.p50 < 10_000, "{p:?}");
        assert_eq!(Percentiles::of(&since(&now, &now)), Percentiles::default());
    }
}
