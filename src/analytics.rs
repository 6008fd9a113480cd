//! Analytics for administrators: what the product's events (`pf_user_analytics`)
//! say across people — active users, events by type, sessions, top pages and
//! referrers by day (UTC) — read from the summaries the analytics job keeps, never
//! from the events.

use crate::dto::Timestamp;
use crate::{AppError, AppResult};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// The ranges offered, in days back from today (today included).
pub const RANGES: [u32; 3] = [7, 30, 90];

/// The longest custom range, in days.
pub const RANGE_DAYS_MAX: i64 = 366;

/// The windows of the active-user counts: daily, weekly, monthly.
pub const WINDOWS: [u32; 3] = [1, 7, 30];

/// How many pages and referrers a view lists.
pub const TOP: usize = 10;

/// The range as the query string has it: `range=7d|30d|90d`, or `from` and `to`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalyticsParams {
    pub range: String,
    pub from: String,
    pub to: String,
}

impl AnalyticsParams {
    /// The first and last day of the range (inclusive). A custom range wins over a
    /// named one; neither is 30 days.
    pub fn days(&self, today: NaiveDate) -> AppResult<(NaiveDate, NaiveDate)> {
        let date = |s: &str, what: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| AppError::invalid(format!("The {what} date is not a date (YYYY-MM-DD).")))
        };
        match (self.from.trim(), self.to.trim()) {
            ("", "") => {}
            (from, to) => {
                let from = date(from, "from")?;
                let to = if to.is_empty() { today } else { date(to, "to")? };
                if from > to {
                    return Err(AppError::invalid("The range starts after it ends."));
                }
                if (to - from).num_days() >= RANGE_DAYS_MAX {
                    return Err(AppError::invalid(format!("A range is at most {RANGE_DAYS_MAX} days.")));
                }
                return Ok((from, to));
            }
        }
        let days = match self.range.trim().trim_end_matches('d') {
            "" => 30,
            n => n
                .parse::<u32>()
                .ok()
                .filter(|n| RANGES.contains(n))
                .ok_or_else(|| AppError::invalid("The range is 7d, 30d or 90d, or a from and to date."))?,
        };
        Ok((today - Duration::days(i64::from(days) - 1), today))
    }
}

/// The charts of the page, each one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalyticsChart {
    /// Daily, weekly and monthly active users.
    Active,
    /// Events per type per day.
    Events,
    /// Sessions per day.
    Sessions,
    /// The most viewed pages and the referring hosts over the range.
    Pages,
    Referrers,
}

impl AnalyticsChart {
    pub const ALL: [AnalyticsChart; 5] = [
        AnalyticsChart::Active,
        AnalyticsChart::Events,
        AnalyticsChart::Sessions,
        AnalyticsChart::Pages,
        AnalyticsChart::Referrers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnalyticsChart::Active => "active",
            AnalyticsChart::Events => "events",
            AnalyticsChart::Sessions => "sessions",
            AnalyticsChart::Pages => "pages",
            AnalyticsChart::Referrers => "referrers",
        }
    }

    /// A chart by name; none is the active users.
    pub fn parse(s: &str) -> AppResult<AnalyticsChart> {
        if s.is_empty() {
            return Ok(AnalyticsChart::Active);
        }
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| AppError::invalid("The chart is active, events, sessions, pages or referrers."))
    }

    pub fn title(self) -> &'static str {
        match self {
            AnalyticsChart::Active => "Active users",
            AnalyticsChart::Events => "Events per type per day",
            AnalyticsChart::Sessions => "Sessions per day",
            AnalyticsChart::Pages => "Top pages",
            AnalyticsChart::Referrers => "Top referrers",
        }
    }
}

/// One day of the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsDay {
    pub day: NaiveDate,
    /// People active that day, in the 7 days and in the 30 days up to it.
    pub daily_active: i64,
    pub weekly_active: i64,
    pub monthly_active: i64,
    /// Sessions that began that day.
    pub sessions: i64,
    /// Events of each of the view's `event_types`, in that order.
    pub events: Vec<i64>,
}

/// A range's analytics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The event types seen in the range, most events first.
    pub event_types: Vec<String>,
    pub days: Vec<AnalyticsDay>,
    /// The most viewed pages (a URL's path) and referring hosts, with their events.
    pub top_pages: Vec<(String, i64)>,
    pub top_referrers: Vec<(String, i64)>,
    /// The summaries count the events up to this one's time (none counted yet).
    pub counted_until: Option<Timestamp>,
    pub events_counted: i64,
}

/// A page's path from its URL (`https://host/jobs?x=1#y` is `/jobs`), or a
/// referrer's host (`https://www.example.com/search` is `www.example.com`), at most
/// 500 bytes; `None` for an empty one.
pub fn page_path(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let path = if url.contains("://") || !path.starts_with('/') { format!("/{path}") } else { path.to_string() };
    Some(bounded(&path))
}

pub fn referrer_host(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://").map_or(url.trim(), |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("").to_lowercase();
    (!host.is_empty()).then(|| bounded(&host))
}

fn bounded(s: &str) -> String {
    let mut end = s.len().min(500);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_named_or_custom_and_bounded() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let p = |range: &str, from: &str, to: &str| {
            AnalyticsParams { range: range.into(), from: from.into(), to: to.into() }.days(today)
        };
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(p("", "", "").unwrap(), (day("2026-11-07"), today), "30 days, today included");
        assert_eq!(p("7d", "", "").unwrap(), (day("2026-11-30"), today));
        assert_eq!(p("90d", "", "").unwrap().0, day("2026-09-08"));
        assert_eq!(p("30d", "2026-01-01", "2026-01-31").unwrap(), (day("2026-01-01"), day("2026-01-31")));
        assert_eq!(p("", "2026-12-01", "").unwrap(), (day("2026-12-01"), today));
        assert!(p("12d", "", "").is_err());
        assert!(p("", "2026-02-01", "2026-01-01").is_err());
        assert!(p("", "2025-01-01", "2026-12-01").is_err(), "longer than a year");
        assert!(p("", "2026-13-01", "").is_err());
    }

    #[test]
    fn pages_are_paths_and_referrers_hosts() {
        assert_eq!(page_path("https://app.pathfinder.example/jobs?q=1#top").as_deref(), Some("/jobs"));
        assert_eq!(page_path("https://app.pathfinder.example").as_deref(), Some("/"));
        assert_eq!(page_path("/skills/add").as_deref(), Some("/skills/add"));
        assert_eq!(referrer_host("https://WWW.Google.com/search?q=x").as_deref(), Some("www.google.com"));
        assert_eq!(referrer_host("").as_deref(), None);
        assert_eq!(page_path(" ").as_deref(), None);
        assert_eq!(page_path(&format!("/{}", "é".repeat(400))).map(|p| p.len()), Some(499));
    }
}
