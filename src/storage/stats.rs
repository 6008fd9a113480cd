//! The user statistics (`pf_mv_user_stats`).

use super::{Action, AuditEntry, RefreshWhen};
use crate::dto::{JobRun, UserActivity};
use crate::{AppResult, UserId};

pub const STATS_REFRESH: Action = Action::new("user_stats.refresh");

/// The user statistics (`pf_mv_user_stats`, a materialized view on Oracle and a table
/// the same operation rebuilds on SQLite).
pub trait StatsStore {
    /// Rebuilds the statistics, audited, and records the run. `None` when it was not
    /// due or another instance holds the refresh.
    fn refresh_user_stats(&self, when: RefreshWhen, audit: &AuditEntry) -> AppResult<Option<JobRun>>;
    /// The last refresh (any instance's).
    fn last_stats_refresh(&self) -> AppResult<JobRun>;
    /// The user's row of the statistics, if the last refresh saw them.
    fn user_activity(&self, user_id: &UserId) -> AppResult<Option<UserActivity>>;
}
