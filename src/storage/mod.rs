//! The storage interface, sliced by capability. Each backend in `server/src/storage/`
//! implements every trait, one file per trait; [`Storage`] bundles them.
//!
//! Methods are blocking (both drivers are): async callers go through the server's
//! one `spawn_blocking` helper. Every method that changes state takes the
//! [`AuditEntry`] that describes the change and writes it in the same transaction:
//! if the audit row cannot be written, the change is rolled back.
//!
//! One file per capability, named as the capability is in every layer
//! (`server/src/storage/<capability>.rs`, `app/src/<capability>/`,
//! `server/tests/conformance/<capability>.rs`): its trait and the types it takes and
//! returns.

mod access_reviews;
mod accounts;
mod analytics;
mod audit;
mod backups;
mod bulk;
mod career;
mod dormant;
mod flags;
mod invitations;
mod jobs;
mod keys;
mod mfa;
mod operations;
mod pert;
mod reference;
mod retention;
mod schema;
mod security;
mod sessions;
mod stats;
mod subject_access;
mod user_tables;
mod users;

pub use access_reviews::*;
pub use accounts::*;
pub use analytics::*;
pub use audit::*;
pub use backups::*;
pub use bulk::*;
pub use career::*;
pub use dormant::*;
pub use flags::*;
pub use invitations::*;
pub use jobs::*;
pub use keys::*;
pub use mfa::*;
pub use operations::*;
pub use pert::*;
pub use reference::*;
pub use retention::*;
pub use schema::*;
pub use security::*;
pub use sessions::*;
pub use stats::*;
pub use subject_access::*;
pub use user_tables::*;
pub use users::*;

use crate::dto::{Overview, Timestamp};
use crate::AppResult;

/// Connection pool figures for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
    /// The connections the pool keeps open even when idle.
    pub min: u32,
    pub waiters: u32,
}

/// Everything a backend offers, plus what the console asks of the backend itself.
pub trait Storage:
    UserStore
    + AccountStore
    + SessionStore
    + AuditStore
    + SchemaStore
    + StatsStore
    + UserTableStore
    + CareerStore
    + PertStore
    + ReferenceStore
    + SubjectAccessStore
    + BulkStore
    + KeyStore
    + MfaStore
    + InvitationStore
    + FlagStore
    + OperationsStore
    + BackupStore
    + RetentionStore
    + AnalyticsStore
    + SecurityStore
    + DormantStore
    + AccessReviewStore
    + Send
    + Sync
{
    /// `sqlite` or `oracle`.
    fn backend_name(&self) -> &'static str;
    fn ping(&self) -> AppResult<()>;
    fn pool_stats(&self) -> PoolStats;
    /// The database's own view of its connections or files (the Pool page).
    fn database_view(&self) -> AppResult<crate::pool::DatabaseView>;
    /// This process's storage operations by name, and its slowest recent calls.
    fn operations(&self) -> crate::queries::QueriesPage;
    /// The database's version, clock and applied migrations (the Diagnostics page).
    fn database_facts(&self) -> AppResult<crate::diagnostics::DatabaseFacts>;

    /// The overview's counts, `rotation_days` being the key policy's.
    fn overview(&self, now: Timestamp, rotation_days: u32) -> AppResult<Overview> {
        Ok(Overview {
            users_by_status: self.users_by_status()?,
            active_sessions: self.count_active_sessions(now)?,
            audit_events_24h: self.count_audit_since(now - chrono::Duration::hours(24))?,
            schema_version: self.schema_version()?,
            backend: self.backend_name().to_string(),
            stats_refresh: self.last_stats_refresh()?,
            keys: self.key_counts(rotation_days)?,
            as_of: now,
        })
    }
}
