//! The security review: a run gathers the facts, applies the checks
//! ([`crate::security::review`]) and keeps the findings, opening those first seen
//! and closing those no longer seen, each change audited with the run.

use super::{Action, AuditEntry, RefreshWhen};
use crate::security::{InstanceFacts, ReviewOutcome, SecurityPolicy, SecurityView};
use crate::AppResult;

impl super::Returned for SecurityView {
    fn rows(&self) -> usize {
        self.open.len() + self.closed.len()
    }
}

/// A run of the review (its `.begin` row, and its outcome with the counts).
pub const SECURITY_REVIEW: Action = Action::new("security.review");
/// A finding first seen by a run.
pub const SECURITY_FINDING_OPEN: Action = Action::new("security.finding.open");
/// A finding a run no longer sees: fixed.
pub const SECURITY_FINDING_CLOSE: Action = Action::new("security.finding.close");
/// The Security page (it names console accounts).
pub const SECURITY_READ: Action = Action::new("read.security");

/// The security review and its findings.
pub trait SecurityStore {
    /// Records what the serving instance `instance` runs with (its configuration
    /// checks, and the periods the upkeep checks expect); instances report hourly
    /// and those silent for three hours are left out of the review. Forgets
    /// instances silent for a week. Bookkeeping, like a job's lease: not audited.
    fn report_instance(&self, instance: &str, facts: &InstanceFacts) -> AppResult<()>;
    /// Runs the review as the console's job `security_review` (one instance at a
    /// time; `Due` runs only when the last run is older than its period)
    /// and keeps its findings: one transaction opens, refreshes and closes them,
    /// with an audit row for each opened and closed one. `audit` is the run's row
    /// (`.begin` before, the outcome after). `None` when not due or another instance
    /// is running it.
    fn security_review(
        &self,
        when: RefreshWhen,
        policy: &SecurityPolicy,
        audit: &AuditEntry,
    ) -> AppResult<Option<ReviewOutcome>>;
    /// The Security page.
    fn security_view(&self, limit: u32) -> AppResult<SecurityView>;
    /// Open findings by severity (high, medium, low): the gauge.
    fn open_findings(&self) -> AppResult<[u64; 3]>;
}
