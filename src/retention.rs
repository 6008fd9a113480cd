//! Data retention (`pf_data_retention_policies`): which tables keep rows how long,
//! whether old rows go to an archive table first, and what a retention run did or,
//! dry, would do.

use crate::dto::Timestamp;
use serde::{Deserialize, Serialize};

/// The shared tables a policy may name, each with the column its age is read from.
pub const SHARED_TABLES: [(&str, &str); 3] = [
    ("pf_user_analytics", "event_timestamp"),
    // Expired sessions only: a row's age counts from when it expired.
    ("pf_user_sessions", "expires_at"),
    ("pf_audit_log", "created_at"),
];

/// The per-user tables a policy may name (`pf_user_<username>_<table>`), the column
/// their age is read from, and whether they have an archive table.
pub const USER_TABLES: [(&str, &str, bool); 2] = [
    // An experience's age counts from its end; current ones are never due.
    ("experiences", "end_date", true),
    ("chat_messages", "created_at", false),
];

/// The longest a policy may keep rows (100 years).
pub const MAX_DAYS: i64 = 36_500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    pub id: String,
    pub table_pattern: String,
    pub retention_days: i64,
    pub archive_enabled: bool,
    pub delete_enabled: bool,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_run: Option<Timestamp>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub created_at: Option<Timestamp>,
}

/// A policy as an administrator writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEdit {
    /// A table name, with `*` for any run of characters: `pf_user_*_experiences`.
    pub table_pattern: String,
    pub retention_days: i64,
    pub archive_enabled: bool,
    pub delete_enabled: bool,
}

impl PolicyEdit {
    /// A policy from the page's form: the days as typed (a whole number).
    pub fn from_form(
        table_pattern: String,
        retention_days: &str,
        archive_enabled: bool,
        delete_enabled: bool,
    ) -> Result<PolicyEdit, crate::AppError> {
        let retention_days = retention_days
            .trim()
            .parse::<i64>()
            .map_err(|_| crate::AppError::invalid("Days is a whole number of days."))?;
        Ok(PolicyEdit { table_pattern, retention_days, archive_enabled, delete_enabled })
    }
}

/// What a run did (or, dry, would do) to one table, or to one kind of per-user
/// table across every set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TableOutcome {
    pub policy_id: String,
    /// The shared table, or `pf_user_*_<table>` for the sets.
    pub table: String,
    /// Rows older than this were due.
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub cutoff: Option<Timestamp>,
    pub archived: u64,
    pub deleted: u64,
    /// Sets visited (per-user tables), partitions dropped (Oracle analytics), newer
    /// events kept below the audit chain's cut (written out of time order).
    pub units: u64,
    /// Why less was done than the policy says (a kept unverified audit tail, a
    /// missing audit key), in a sentence.
    pub note: Option<String>,
    /// Whether this table is done (a resumed run starts at the first that is not).
    pub done: bool,
    /// Where the run got to in this table: the last set's username.
    pub after: Option<String>,
}

/// A run's result, and while it runs its resumable position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RetentionSummary {
    pub dry_run: bool,
    /// The run's clock: each policy's cutoff is this minus its days.
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub as_of: Option<Timestamp>,
    pub tables: Vec<TableOutcome>,
    /// Whether it ran to its end (a resumed run says so in its audit row).
    pub finished: bool,
    pub resumed: bool,
}

impl RetentionSummary {
    pub fn archived(&self) -> u64 {
        self.tables.iter().map(|t| t.archived).sum()
    }
    pub fn deleted(&self) -> u64 {
        self.tables.iter().map(|t| t.deleted).sum()
    }

    /// One line per table, for the audit row and the CLI.
    pub fn text(&self) -> String {
        let verb = if self.dry_run { "would archive" } else { "archived" };
        let gone = if self.dry_run { "would delete" } else { "deleted" };
        let mut lines = vec![format!(
            "Retention{}{}: {verb} {} rows, {gone} {}.",
            if self.dry_run { " (dry run)" } else { "" },
            if self.resumed { ", resumed" } else { "" },
            self.archived(),
            self.deleted()
        )];
        for t in &self.tables {
            let mut line = format!("{}: {verb} {}, {gone} {}", t.table, t.archived, t.deleted);
            if let Some(note) = &t.note {
                line.push_str(&format!(" ({note})"));
            }
            lines.push(line);
        }
        lines.join("\n")
    }
}

/// The Retention page: the policies and the last real run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RetentionPage {
    pub policies: Vec<RetentionPolicy>,
    pub last_run: Option<RetentionRun>,
}

/// A real run as `pf_retention_runs` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRun {
    pub run_id: String,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub started_at: Timestamp,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub finished_at: Option<Timestamp>,
    /// `ok` or `failed`; none while it runs or after it stopped midway.
    pub outcome: Option<String>,
    pub summary: RetentionSummary,
}
