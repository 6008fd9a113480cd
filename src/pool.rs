//! The connection pool as the Pool page shows it: samples the server takes of its
//! own pool every few seconds, kept in memory (the page works without Prometheus),
//! and the database's own view of its connections or files.
//!
//! The samples are this instance's: each console instance has its own pool, so its
//! page shows its own (with several instances, Prometheus sums them).

use serde::{Deserialize, Serialize};

/// Acquire or usage time percentiles, in whole microseconds (integers keep float
/// parsing and formatting out of the browser's code).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
}

impl Percentiles {
    /// Of a histogram as [`quantile`] takes it (zero when nothing was observed).
    pub fn of(buckets: &[(f64, u64)]) -> Percentiles {
        let us = |q| quantile(buckets, q).map_or(0, |s| (s * 1e6).round() as u64);
        Percentiles { p50: us(0.5), p95: us(0.95), p99: us(0.99) }
    }

    /// "p50 / p95 / p99 ms" with two decimals.
    pub fn as_ms(&self) -> String {
        let ms = |us: u64| format!("{}.{:02}", us / 1000, us % 1000 / 10);
        format!("{} / {} / {} ms", ms(self.p50), ms(self.p95), ms(self.p99))
    }
}

/// The pool at one instant, with the acquire and usage times since the sample
/// before (for a coarse sample: the most over its span).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolSample {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub open: u32,
    pub active: u32,
    pub idle: u32,
    pub pending: u32,
    /// Acquire timeouts since the process started.
    pub timeouts: u64,
    pub acquire: Percentiles,
    pub usage: Percentiles,
}

/// What the Pool page shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolPage {
    pub backend: String,
    pub max: u32,
    pub min: u32,
    /// The newest sample, if the sampler has run.
    pub now: Option<PoolSample>,
    /// Since the process started.
    pub acquire: Percentiles,
    pub usage: Percentiles,
    pub acquired: u64,
    /// How many samples the last hour's chart has.
    pub samples: usize,
    pub database: DatabaseView,
}

/// The database's own view: label and value rows, and a sentence when it cannot
/// give one (an Oracle account without the catalog role).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatabaseView {
    pub rows: Vec<(String, String)>,
    pub note: Option<String>,
}

/// The `q` quantile (0..1) of a histogram given as cumulative counts per upper
/// bound (ascending; the last bound may be infinite), interpolated linearly inside
/// its bucket as Prometheus' `histogram_quantile` does. None without observations.
pub fn quantile(buckets: &[(f64, u64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let (mut lower, mut below) = (0.0, 0u64);
    for &(upper, count) in buckets {
        if count as f64 >= rank {
            if upper.is_infinite() {
                return Some(lower);
            }
            let inside = (count - below) as f64;
            let into = if inside > 0.0 { (rank - below as f64) / inside } else { 1.0 };
            return Some(lower + (upper - lower) * into);
        }
        (lower, below) = (upper, count);
    }
    Some(lower)
}

#[cfg(feature = "server")]
pub use history::{PoolHistory, COARSE_EVERY, RECENT, SAMPLE_SECONDS};

#[cfg(feature = "server")]
mod history {
    use super::{Percentiles, PoolSample};
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// Seconds between samples; the recent ring holds an hour of them.
    pub const SAMPLE_SECONDS: u64 = 10;
    pub const RECENT: usize = 360;
    /// Recent samples per coarse one (5 minutes); the coarse ring holds 24 hours.
    pub const COARSE_EVERY: usize = 30;
    const COARSE: usize = 288;

    /// Two bounded rings: the last hour at 10 s and the last day at 5 min.
    #[derive(Default)]
    pub struct PoolHistory {
        rings: Mutex<Rings>,
    }

    #[derive(Default)]
    struct Rings {
        recent: VecDeque<PoolSample>,
        coarse: VecDeque<PoolSample>,
        /// Recent samples not yet folded into a coarse one.
        pending: Vec<PoolSample>,
        since_start: (Percentiles, Percentiles, u64),
    }

    fn most(a: Percentiles, b: Percentiles) -> Percentiles {
        Percentiles { p50: a.p50.max(b.p50), p95: a.p95.max(b.p95), p99: a.p99.max(b.p99) }
    }

    impl PoolHistory {
        /// Adds a sample, with the acquire and usage percentiles and the number of
        /// acquisitions since the process started.
        pub fn push(&self, sample: PoolSample, since_start: (Percentiles, Percentiles, u64)) {
            let Ok(mut r) = self.rings.lock() else { return };
            r.since_start = since_start;
            if r.recent.len() == RECENT {
                r.recent.pop_front();
            }
            r.recent.push_back(sample);
            r.pending.push(sample);
            if r.pending.len() == COARSE_EVERY {
                // The coarse sample keeps the worst of its span: a spike stays visible.
                let span = std::mem::take(&mut r.pending);
                let folded = span.iter().fold(sample, |acc, s| PoolSample {
                    at_ms: acc.at_ms,
                    open: acc.open.max(s.open),
                    active: acc.active.max(s.active),
                    idle: acc.idle.max(s.idle),
                    pending: acc.pending.max(s.pending),
                    timeouts: acc.timeouts.max(s.timeouts),
                    acquire: most(acc.acquire, s.acquire),
                    usage: most(acc.usage, s.usage),
                });
                if r.coarse.len() == COARSE {
                    r.coarse.pop_front();
                }
                r.coarse.push_back(folded);
            }
        }

        /// The last hour's samples (`coarse`: the last day's), oldest first.
        pub fn samples(&self, coarse: bool) -> Vec<PoolSample> {
            match self.rings.lock() {
                Ok(r) if coarse => r.coarse.iter().copied().collect(),
                Ok(r) => r.recent.iter().copied().collect(),
                Err(_) => Vec::new(),
            }
        }

        pub fn since_start(&self) -> (Percentiles, Percentiles, u64) {
            self.rings.lock().map(|r| r.since_start).unwrap_or_default()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_rings_are_bounded_and_a_coarse_sample_keeps_the_worst_of_its_span() {
            let h = PoolHistory::default();
            for i in 0..(RECENT + 2 * COARSE_EVERY) {
                let spike = i == RECENT + 5;
                let s = PoolSample {
                    at_ms: i as i64,
                    active: if spike { 9 } else { 1 },
                    acquire: Percentiles { p50: 100, p95: if spike { 40_000 } else { 200 }, p99: 300 },
                    ..Default::default()
                };
                h.push(s, Default::default());
            }
            let recent = h.samples(false);
            assert_eq!(recent.len(), RECENT);
            assert_eq!(recent[0].at_ms, 2 * COARSE_EVERY as i64, "the oldest went first");
            let coarse = h.samples(true);
            assert_eq!(coarse.len(), (RECENT + 2 * COARSE_EVERY) / COARSE_EVERY);
            let spiked = coarse.iter().filter(|s| s.active == 9 && s.acquire.p95 == 40_000).count();
            assert_eq!(spiked, 1, "{coarse:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{quantile, Percentiles};

    #[test]
    fn percentiles_read_in_milliseconds() {
        assert_eq!(Percentiles { p50: 45, p95: 1_250, p99: 30_000 }.as_ms(), "0.04 / 1.25 / 30.00 ms");
    }

    #[test]
    fn quantiles_interpolate_inside_a_bucket_like_prometheus() {
        // 100 observations: 50 up to 1 ms, 40 between 1 and 5, 10 between 5 and 10.
        let b = [(0.001, 50), (0.005, 90), (0.01, 100), (f64::INFINITY, 100)];
        assert_eq!(quantile(&b, 0.5), Some(0.001));
        let p95 = quantile(&b, 0.95).unwrap();
        assert!((p95 - 0.0075).abs() < 1e-9, "{p95}");
        assert!((quantile(&b, 0.25).unwrap() - 0.0005).abs() < 1e-9);
        assert_eq!(quantile(&[(0.001, 0), (f64::INFINITY, 0)], 0.5), None);
        // Everything above the last finite bound: its bound, as Prometheus says.
        assert_eq!(quantile(&[(0.001, 0), (f64::INFINITY, 3)], 0.5), Some(0.001));
    }
}
