//! Access reviews: campaigns over the console accounts' roles, decided line by
//! line (a revocation takes the role away and ends the account's sessions in the
//! same transaction), closed when all is decided or at the deadline.

use super::{Action, AuditEntry, Returned};
use crate::access_reviews::{Campaign, CampaignView, Decided, Decision, NewCampaign};
use crate::dto::Timestamp;
use crate::AppResult;

/// A campaign started (its lines taken from the roles as they stand).
pub const ACCESS_REVIEW_START: Action = Action::new("access_review.start");
/// A line decided: the role kept, or revoked (the role removed, sessions ended).
pub const ACCESS_REVIEW_KEEP: Action = Action::new("access_review.keep");
pub const ACCESS_REVIEW_REVOKE: Action = Action::new("access_review.revoke");
/// A campaign closed: every line decided, or its deadline passed (the detail counts
/// the lines left open).
pub const ACCESS_REVIEW_CLOSE: Action = Action::new("access_review.close");
/// Reviewers reminded of a deadline two days away.
pub const ACCESS_REVIEW_REMIND: Action = Action::new("access_review.remind");
/// The campaigns list, a campaign's page and its signed report (they name console
/// accounts).
pub const ACCESS_REVIEWS_READ: Action = Action::new("read.access_reviews");
pub const ACCESS_REVIEW_READ: Action = Action::new("read.access_review");
pub const ACCESS_REVIEW_REPORT: Action = Action::new("read.access_review.report");

/// A decision's audit action.
pub fn decision_action(decision: Decision) -> Action {
    match decision {
        Decision::Keep => ACCESS_REVIEW_KEEP,
        Decision::Revoke => ACCESS_REVIEW_REVOKE,
    }
}

impl Returned for CampaignView {
    fn rows(&self) -> usize {
        self.lines.len()
    }
}

/// Access review campaigns.
pub trait AccessReviewStore {
    /// Starts a campaign: one line per account and role in its scope as they stand,
    /// each with its grant (time and granter, as the audited role change recorded
    /// them), last sign-in, second factor and the open findings naming the account.
    /// Refused when the scope holds nobody.
    fn start_access_review(&self, new: &NewCampaign, audit: &AuditEntry) -> AppResult<Campaign>;
    /// The campaigns, newest first.
    fn access_reviews(&self, limit: u32) -> AppResult<Vec<Campaign>>;
    /// A campaign and its lines (by account, then role); `None` when unknown.
    fn access_review(&self, review_id: &str) -> AppResult<Option<CampaignView>>;
    /// Decides a line as the audit row's actor ([`crate::access_reviews::may_decide`]
    /// under the campaign's lock; compare-and-set on the line). Revoking removes the
    /// role and ends the account's sessions, keeps an active administrator, and
    /// takes admin away only when the reviewer `confirmed_lately`. The last decision
    /// closes the campaign. One transaction, audited (the row names the account).
    fn decide_access_line(
        &self,
        line_id: &str,
        decision: Decision,
        comment: &str,
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<Decided>;
    /// Closes the open campaigns whose deadline is before `now`, each with its audit
    /// row counting the lines left open; returns them.
    fn close_overdue_access_reviews(&self, now: Timestamp, audit: &AuditEntry) -> AppResult<Vec<Campaign>>;
    /// Claims the open campaigns whose deadline is within two days of `now` and
    /// whose reviewers were not reminded yet (each once, whichever instance claims
    /// it); audited.
    fn access_reviews_to_remind(&self, now: Timestamp, audit: &AuditEntry) -> AppResult<Vec<Campaign>>;
}
