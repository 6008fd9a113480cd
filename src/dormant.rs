//! Dormant users: people with no activity since a day, or none ever, as the user
//! statistics (`pf_mv_user_stats`) saw them at their last refresh; their count, and
//! the job that deactivates them in batches.

use crate::dto::{JobRun, Timestamp};
use crate::{AppError, AppResult};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Dormant by default: no activity for this many days.
pub const DEFAULT_DAYS: i64 = 365;

/// A page of the list.
pub const PAGE_SIZE: u32 = 50;

/// The list as the query string asks for it: `since=YYYY-MM-DD` (no activity since
/// then; a year back by default), or `never=1` (no activity ever); `after` pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DormantParams {
    pub since: String,
    pub never: String,
    pub after: String,
}

/// Which people: never active, or last active before a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dormancy {
    Never,
    Since(NaiveDate),
}

impl Dormancy {
    /// The first moment they have not been active since (UTC midnight).
    pub fn before(&self) -> Option<Timestamp> {
        match self {
            Dormancy::Never => None,
            Dormancy::Since(d) => Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())),
        }
    }

    /// "no activity since 2025-12-06", "no activity ever".
    pub fn describe(&self) -> String {
        match self {
            Dormancy::Never => "no activity ever".into(),
            Dormancy::Since(d) => format!("no activity since {d}"),
        }
    }
}

/// The list's filter, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DormantFilter {
    pub dormancy: Dormancy,
    /// Where the previous page ended: a time (the list is in last-activity order)
    /// or, for the never active, a user id.
    pub after: Option<String>,
    pub limit: u32,
}

impl DormantParams {
    pub fn filter(&self, today: NaiveDate) -> AppResult<DormantFilter> {
        let dormancy = if !self.never.trim().is_empty() {
            Dormancy::Never
        } else if self.since.trim().is_empty() {
            Dormancy::Since(today - chrono::Duration::days(DEFAULT_DAYS))
        } else {
            let d = NaiveDate::parse_from_str(self.since.trim(), "%Y-%m-%d")
                .map_err(|_| AppError::invalid("The day is not a date (YYYY-MM-DD)."))?;
            if d > today {
                return Err(AppError::invalid("The day is in the future: nobody can be inactive since then."));
            }
            Dormancy::Since(d)
        };
        let after = Some(self.after.trim()).filter(|a| !a.is_empty()).map(str::to_string);
        if let (Dormancy::Since(_), Some(a)) = (&dormancy, &after) {
            cursor_time(a)?;
        }
        Ok(DormantFilter { dormancy, after, limit: PAGE_SIZE })
    }

    /// The query string of this list's page after `cursor`.
    pub fn page_after(&self, cursor: &str) -> String {
        let mut q = vec![];
        if !self.never.trim().is_empty() {
            q.push("never=1".to_string());
        } else if !self.since.trim().is_empty() {
            q.push(format!("since={}", self.since.trim()));
        }
        q.push(format!("after={}", crate::filter::encode_component(cursor)));
        q.join("&")
    }
}

/// A cursor of the last-activity order: the time in microseconds since the epoch.
pub fn cursor_of(t: &Timestamp) -> String {
    t.timestamp_micros().to_string()
}

pub fn cursor_time(cursor: &str) -> AppResult<Timestamp> {
    cursor
        .parse::<i64>()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_micros)
        .ok_or_else(|| AppError::invalid("That page link is broken (a bad cursor): start from the first page."))
}

/// One dormant person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DormantUser {
    pub user_id: String,
    pub username: String,
    pub status: String,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_activity: Option<Timestamp>,
    pub total_events: i64,
}

/// A page of the list, with how many there are in all, as of the statistics' refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DormantPage {
    pub dormancy: Dormancy,
    pub count: i64,
    /// The statistics' last refresh: the list and the count are as of then.
    pub as_of: JobRun,
    pub users: Vec<DormantUser>,
    pub next_cursor: Option<String>,
    /// The deactivation jobs, newest first.
    pub jobs: Vec<DeactivationJob>,
}

/// A run of "deactivate everyone this dormant": a job that works in batches (each
/// user with their audit row), resumes where it stopped, and can be stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeactivationJob {
    pub job_id: String,
    pub dormancy: String,
    pub requested_by: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub started_at: Timestamp,
    /// The users the count said when it was asked for (the preview).
    pub expected: i64,
    pub deactivated: i64,
    /// Users left as they were: active again since the statistics saw them, a
    /// console account, or already not active.
    pub skipped: i64,
    /// An instance is working on it.
    pub running: bool,
    pub stop_requested: bool,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub finished_at: Option<Timestamp>,
    /// `done` or `stopped`.
    pub outcome: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_defaults_to_a_year_and_refuses_bad_days_and_cursors() {
        let today = NaiveDate::from_ymd_opt(2031, 6, 1).unwrap();
        let f = DormantParams::default().filter(today).unwrap();
        assert_eq!(f.dormancy, Dormancy::Since(NaiveDate::from_ymd_opt(2030, 6, 1).unwrap()));
        let never = DormantParams { never: "1".into(), after: "01ABC".into(), ..Default::default() };
        assert_eq!(never.filter(today).unwrap().dormancy, Dormancy::Never);
        for bad in [
            DormantParams { since: "2031-13-01".into(), ..Default::default() },
            DormantParams { since: "2031-06-02".into(), ..Default::default() },
            DormantParams { after: "x".into(), ..Default::default() },
        ] {
            assert!(matches!(bad.filter(today), Err(AppError::Invalid(_))), "{bad:?}");
        }
        let t = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(cursor_time(&cursor_of(&t)).unwrap(), t);
        let p = DormantParams { since: "2030-01-01".into(), ..Default::default() };
        assert_eq!(p.page_after("123"), "since=2030-01-01&after=123");
    }
}
