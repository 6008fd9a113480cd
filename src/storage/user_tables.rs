//! Per-user table sets (`pf_user_<username>_<table>`).

use super::{Action, AuditEntry, TableRows};
use crate::dto::TableSetInfo;
use crate::{AppResult, UserId, Username};

pub const TABLES_PROVISION: Action = Action::new("user_tables.provision");
pub const TABLES_DROP: Action = Action::new("user_tables.drop");
/// Oracle's per-user career summary refreshed after a fill.
pub const CAREER_SUMMARY_REFRESH: Action = Action::new("user_tables.career_summary");
/// A user's table set and its counts read (their page's section), audited.
pub const USER_TABLES_READ: Action = Action::new("read.user.tables");

impl super::Returned for TableSetInfo {
    fn rows(&self) -> usize {
        1
    }
}

pub trait UserTableStore {
    /// Creates the per-user table set (idempotent; finishes a set a crash left half made).
    fn provision_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<TableSetInfo>;
    /// Drops a registered table set (and only a registered one).
    fn drop_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<()>;
    fn user_table_set(&self, username: &Username) -> AppResult<Option<TableSetInfo>>;
    /// The table set of the user `user_id` (none for a legacy name that breaks the
    /// username rule: it can have none).
    fn tables_of(&self, user_id: &UserId) -> AppResult<Option<TableSetInfo>>;
    /// [`UserTableStore::provision_user_tables`] for the user `user_id`.
    fn provision_tables_of(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<TableSetInfo>;
    /// Drops the set of the user `user_id`; `typed` must repeat their username.
    fn drop_tables_of(&self, user_id: &UserId, typed: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Inserts rows into tables of `username`'s set (and only those), with the audit row.
    fn fill_user_tables(&self, username: &Username, rows: &[TableRows], audit: &AuditEntry) -> AppResult<()>;
}
