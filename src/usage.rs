//! Storage use as the Storage page and `/metrics` show it: the latest sample of the
//! database's size (shared tables with their indexes, per-user table sets, the whole
//! against its limit), its growth, and when the limit is reached at that rate.
//!
//! Measuring is expensive at scale (SQLite's `dbstat` reads every page; Oracle's
//! segment views are large), so a background job samples it every few minutes into
//! `pf_storage_samples`, and everything here reads the latest sample.

use crate::dto::{JobRun, Timestamp};
use serde::{Deserialize, Serialize};

/// The operator's storage settings (`PF_STORAGE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoragePolicy {
    /// Use at or above this share of the limit is a warning…
    pub warning_percent: u8,
    /// …and at or above this one critical.
    pub critical_percent: u8,
    pub sample_every_minutes: u32,
    /// Samples older than this are deleted.
    pub history_days: u32,
    /// The limit when the operator sets one; else the backend's own (file system,
    /// tablespace quota).
    pub limit_bytes: Option<u64>,
}

impl Default for StoragePolicy {
    fn default() -> Self {
        StoragePolicy {
            warning_percent: 80,
            critical_percent: 90,
            sample_every_minutes: 15,
            history_days: 30,
            limit_bytes: None,
        }
    }
}

/// A shared table's size: its rows (with LOBs) and its indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSize {
    pub name: String,
    pub bytes: i64,
    pub index_bytes: i64,
}

impl ObjectSize {
    pub fn total(&self) -> i64 {
        self.bytes + self.index_bytes
    }
}

/// What one sampling measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Measured {
    /// Everything the database takes (SQLite: its file, its log and the set files;
    /// Oracle: the schema's segments).
    pub used: i64,
    pub limit: Option<i64>,
    /// SQLite's write-ahead log.
    pub wal: Option<i64>,
    pub tables: Vec<ObjectSize>,
    /// Every per-user set: (username, bytes).
    pub sets: Vec<(String, i64)>,
}

/// The embedded database's write-ahead log after a checkpoint: its frames, those a
/// reader kept from the database file (they stay until it ends), its size on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCheckpoint {
    pub frames: i64,
    pub behind: i64,
    pub bytes: u64,
}

/// The storage samples at one instant, largest first, as the page shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoragePage {
    pub backend: String,
    pub policy: StoragePolicy,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub sampled_at: Option<Timestamp>,
    pub used: i64,
    pub limit: Option<i64>,
    pub wal: Option<i64>,
    pub tables: Vec<ObjectSize>,
    pub sets_count: i64,
    pub sets_bytes: i64,
    /// The largest sets: (username, bytes).
    pub largest_sets: Vec<(String, i64)>,
    pub growth: Option<Growth>,
    pub last_sample: JobRun,
    pub last_statistics: JobRun,
}

impl StoragePage {
    /// `ok`, `warning` or `critical` against the policy's thresholds.
    pub fn level(&self) -> &'static str {
        level(self.used, self.limit, &self.policy)
    }
}

/// The storage use's level against the thresholds (`ok` without a known limit).
pub fn level(used: i64, limit: Option<i64>, policy: &StoragePolicy) -> &'static str {
    match limit.filter(|l| *l > 0) {
        Some(l) if used * 100 >= l * i64::from(policy.critical_percent) => "critical",
        Some(l) if used * 100 >= l * i64::from(policy.warning_percent) => "warning",
        _ => "ok",
    }
}

/// Growth over the recent samples, and when the limit is reached at that rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Growth {
    pub bytes_per_day: i64,
    /// Over how many days of samples.
    pub over_days: u32,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub full_at: Option<Timestamp>,
}

/// The least-squares growth of `points` (milliseconds, bytes), when they span at least
/// an hour; `full_at` when it grows and the limit is known.
pub fn growth(points: &[(i64, i64)], limit: Option<i64>) -> Option<Growth> {
    let (first, last) = (points.first()?, points.last()?);
    if last.0 - first.0 < 3_600_000 {
        return None;
    }
    let n = points.len() as f64;
    let mean_t = points.iter().map(|p| (p.0 - first.0) as f64).sum::<f64>() / n;
    let mean_b = points.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let (mut cov, mut var) = (0.0, 0.0);
    for p in points {
        let dt = (p.0 - first.0) as f64 - mean_t;
        cov += dt * (p.1 as f64 - mean_b);
        var += dt * dt;
    }
    let per_ms = if var > 0.0 { cov / var } else { 0.0 };
    let full_at = match limit {
        Some(l) if per_ms > 0.0 && l > last.1 => {
            let ms = ((l - last.1) as f64 / per_ms).min(1e15) as i64;
            chrono::DateTime::from_timestamp_millis(last.0.saturating_add(ms))
        }
        Some(l) if l <= last.1 => chrono::DateTime::from_timestamp_millis(last.0),
        _ => None,
    };
    Some(Growth {
        bytes_per_day: (per_ms * 86_400_000.0).round() as i64,
        over_days: ((last.0 - first.0) / 86_400_000).max(0) as u32,
        full_at,
    })
}

/// "1.5 GiB" (integer arithmetic: no float formatting in the browser's code).
pub fn bytes_text(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let sign = if bytes < 0 { "-" } else { "" };
    let b = bytes.unsigned_abs();
    let mut unit = 0;
    while unit + 1 < UNITS.len() && b >= 1024u64.pow(unit as u32 + 1) {
        unit += 1;
    }
    if unit == 0 {
        return format!("{sign}{b} B");
    }
    let tenths = b * 10 / 1024u64.pow(unit as u32);
    format!("{sign}{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// `used` as a share of `limit`: "42 %".
pub fn percent_text(used: i64, limit: i64) -> String {
    if limit <= 0 {
        return "-".into();
    }
    format!("{} %", used.saturating_mul(100) / limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_the_fitted_slope_and_full_when_it_meets_the_limit() {
        let day = 86_400_000;
        let points: Vec<(i64, i64)> = (0..=7).map(|d| (d * day, 1_000 + d * 100)).collect();
        let g = growth(&points, Some(2_700)).unwrap();
        assert_eq!(g.bytes_per_day, 100);
        assert_eq!(g.over_days, 7);
        // 1,000 bytes left at 100 a day: ten days after the last sample.
        assert_eq!(g.full_at.unwrap().timestamp_millis(), 17 * day);
        assert_eq!(growth(&points, None).unwrap().full_at, None);
        let shrinking: Vec<(i64, i64)> = (0..=7).map(|d| (d * day, 1_000 - d)).collect();
        assert_eq!(growth(&shrinking, Some(2_000)).unwrap().full_at, None, "no date when it does not grow");
        assert_eq!(growth(&points[..1], Some(2_000)), None, "one sample is no trend");
    }

    #[test]
    fn levels_and_texts() {
        let p = StoragePolicy::default();
        assert_eq!(level(79, Some(100), &p), "ok");
        assert_eq!(level(80, Some(100), &p), "warning");
        assert_eq!(level(90, Some(100), &p), "critical");
        assert_eq!(level(90, None, &p), "ok");
        assert_eq!(bytes_text(512), "512 B");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(bytes_text(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(percent_text(42, 100), "42 %");
    }
}
