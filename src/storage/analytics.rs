//! Analytics for administrators: a range's active users, events, sessions, pages
//! and referrers from the daily summaries, and the job that keeps them, counting
//! the product's events from where it last stopped.

use super::{Action, AuditEntry};
use crate::analytics::AnalyticsView;
use crate::dto::{Timestamp, UserEvents};
use crate::AppResult;
use chrono::NaiveDate;

/// A batch of events counted into the summaries (the row says how many, up to when).
pub const ANALYTICS_SUMMARIZE: Action = Action::new("analytics.summarize");

/// The summaries of `pf_user_analytics`.
pub trait AnalyticsStore {
    /// The days `from` to `to` (inclusive, UTC) as the summaries have them.
    fn analytics(&self, from: NaiveDate, to: NaiveDate) -> AppResult<AnalyticsView>;
    /// Counts up to `limit` events after the last one counted, of those before
    /// `until` (events still being written are left for the next round), in
    /// batches: each one transaction with the summaries, the new position and its
    /// audit row. Two instances cannot count a batch twice: the position moves only
    /// from where the batch began (the other's batch is written nowhere, and it
    /// stops, leaving the rest to the one counting). Returns the events counted.
    fn summarize_analytics(&self, until: Timestamp, limit: u32, audit: &AuditEntry) -> AppResult<u64>;
    /// One person's events per day from `from` to `to` (inclusive) and their last
    /// ten (the user's page, whose read row covers it).
    fn user_events(&self, user_id: &crate::UserId, from: NaiveDate, to: NaiveDate) -> AppResult<UserEvents>;
}

/// How many of a person's last events their page lists.
pub const USER_LAST_EVENTS: u32 = 10;
