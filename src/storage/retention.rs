//! Retention policies and runs.

use super::{Action, AuditEntry, RefreshWhen};
use crate::dto::Timestamp;
use crate::AppResult;

pub const RETENTION_RUN: Action = Action::new("retention.run");
pub const RETENTION_POLICY_CREATE: Action = Action::new("retention.policy.create");
pub const RETENTION_POLICY_UPDATE: Action = Action::new("retention.policy.update");
pub const RETENTION_POLICY_DELETE: Action = Action::new("retention.policy.delete");

/// What a retention run is asked to do.
pub struct RetentionRequest<'a> {
    /// Count what would go, changing nothing.
    pub dry_run: bool,
    pub when: RefreshWhen,
    /// The run's clock: each policy's cutoff is this minus its days (a resumed run
    /// keeps its own).
    pub now: Timestamp,
    /// Signs the audit chain's cut; without it the audit log keeps its events.
    pub audit_key: Option<&'a [u8]>,
}

/// Retention policies and runs (see `server/src/storage/retention.rs`).
pub trait RetentionStore {
    /// The policies and the last real run.
    fn retention_page(&self) -> AppResult<crate::retention::RetentionPage>;
    /// Adds a policy (`id` none) or changes one, validated and audited with before and after.
    fn save_retention_policy(
        &self,
        id: Option<&str>,
        edit: &crate::retention::PolicyEdit,
        audit: &AuditEntry,
    ) -> AppResult<crate::retention::RetentionPolicy>;
    fn delete_retention_policy(&self, id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Runs every policy, or dry counts what a run would do. A real run takes the
    /// `retention` lease (`None` when a scheduled run is not due or another instance
    /// runs; a run asked for now gets a conflict), resumes a run that stopped midway,
    /// and writes `.begin` and its summary as audit rows. `progress` is called after
    /// each step; when it returns false the run stops where it is, as a crash would
    /// leave it (the next run resumes it once the lease has run out).
    fn run_retention(
        &self,
        req: &RetentionRequest,
        audit: &AuditEntry,
        progress: &mut dyn FnMut(&crate::retention::RetentionSummary) -> bool,
    ) -> AppResult<Option<crate::retention::RetentionSummary>>;
}
