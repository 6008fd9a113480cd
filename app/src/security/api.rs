//! The Security page's server functions.

use leptos::prelude::*;
use pathfinder::security::{ReviewOutcome, SecurityView};
use pathfinder::AppError;

/// The last run, the open findings and the latest closed ones. They name console
/// accounts: the read is audited.
#[server(prefix = "/api", endpoint = "security")]
pub async fn get_security() -> Result<SecurityView, AppError> {
    use pathfinder::security::PAGE_FINDINGS;
    use pathfinder::storage::SECURITY_READ;
    crate::server::serve::<GetSecurity, _>(async |c| {
        c.read(SECURITY_READ, ("security_findings", None), "", |s| s.security_view(PAGE_FINDINGS)).await
    })
    .await
}

/// Runs the review now (Conflict while another instance runs it); audited.
#[server(prefix = "/api", endpoint = "run_security_review")]
pub async fn run_security_review() -> Result<ReviewOutcome, AppError> {
    use pathfinder::storage::{RefreshWhen, SECURITY_REVIEW};
    crate::server::serve::<RunSecurityReview, _>(async |c| {
        let audit = c.audit(SECURITY_REVIEW, ("security", None));
        let policy = crate::server::context::<pathfinder::security::SecurityPolicy>()?;
        let ran = c.db.call(move |s| s.security_review(RefreshWhen::Now, &policy, &audit)).await?;
        let outcome =
            ran.ok_or_else(|| AppError::Conflict("Another console instance is running the security review.".into()))?;
        // Administrators hear of new high findings; the run stands if the mail fails.
        let outbox = crate::server::context::<pathfinder::mail::Outbox>()?;
        if let Err(e) = outbox.tell_admins_of(&c.db, &outcome).await {
            tracing::warn!(error = %e, "telling administrators of new high findings failed");
        }
        Ok(outcome)
    })
    .await
}
