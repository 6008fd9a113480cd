//! Operations: storage samples and the optimizer's statistics.

use super::{Action, AuditEntry, RefreshWhen};
use crate::dto::{JobRun, Timestamp};
use crate::AppResult;

pub const STORAGE_SAMPLE: Action = Action::new("storage.sample");
pub const DB_STATISTICS: Action = Action::new("database.statistics");

/// Storage use (sampled in the background; see [`crate::usage`]) and the optimizer's
/// statistics. Both are jobs every console instance runs; the database's lease in
/// `pf_console_jobs` decides which instance does each round.
pub trait OperationsStore {
    /// Measures the database's storage and records the sample (audited), deleting
    /// samples older than the policy keeps. `None` when not due or another instance
    /// is sampling.
    fn sample_storage(
        &self,
        when: RefreshWhen,
        policy: &crate::usage::StoragePolicy,
        audit: &AuditEntry,
    ) -> AppResult<Option<JobRun>>;
    /// The latest sample, the growth over the last week of samples and the jobs' last runs.
    fn storage_page(&self, policy: &crate::usage::StoragePolicy) -> AppResult<crate::usage::StoragePage>;
    /// `used`, `limit` and the named tables' totals since `since`: (name, [(ms, bytes)]).
    fn storage_history(&self, since: Timestamp, tables: &[String]) -> AppResult<Vec<(String, Vec<(i64, i64)>)>>;
    /// The storage chart's lines: [`OperationsStore::storage_history`] of the days
    /// the policy keeps, for the `largest` tables of the latest sample.
    fn storage_series(
        &self,
        policy: &crate::usage::StoragePolicy,
        largest: usize,
    ) -> AppResult<Vec<(String, Vec<(i64, i64)>)>>;
    /// Gathers the optimizer's statistics where they are stale (SQLite `PRAGMA
    /// optimize`, Oracle `DBMS_STATS.GATHER_SCHEMA_STATS` with `GATHER AUTO`), audited.
    fn gather_statistics(&self, when: RefreshWhen, audit: &AuditEntry) -> AppResult<Option<JobRun>>;
    fn last_statistics(&self) -> AppResult<JobRun>;
    /// The Pool page: this instance's pool (from `history`, the samples it keeps)
    /// and the database's own view.
    fn pool_page(&self, history: &crate::pool::PoolHistory) -> AppResult<crate::pool::PoolPage>;
    /// The Diagnostics page: this instance and its database (versions, clocks,
    /// migrations, pool), `settings` as given, and the jobs' last runs.
    fn diagnostics(&self, settings: &[crate::diagnostics::Setting]) -> AppResult<crate::diagnostics::Diagnostics>;
    fn last_storage_sample(&self) -> AppResult<JobRun>;
    /// Checkpoints the embedded database's write-ahead log, emptying it when no
    /// reader holds it. Every instance does, each upkeep round: it moves pages
    /// between two files and changes no data (as SQLite's own checkpoints), so it is
    /// not audited. `None` on Oracle, which has no such log.
    fn checkpoint_log(&self) -> AppResult<Option<crate::usage::LogCheckpoint>>;
}
