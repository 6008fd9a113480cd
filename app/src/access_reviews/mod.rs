//! Access reviews (compliance reviewers start them; administrators and compliance
//! reviewers decide): campaigns that certify each console account's roles, line by
//! line, closed when all is decided or at the deadline, and the closed campaign's
//! report signed for an outside auditor.

pub mod api;
mod campaign;
mod list;

pub use campaign::AccessReviewPage;
pub use list::AccessReviewsPage;

use crate::policy::{api, endpoint, page, reads, unlisted, Access, Capability, Section, AUDIT_READERS};
use api::*;
use pathfinder::Role;

/// Who starts a campaign: the compliance reviewers who answer for it (an
/// administrator certifying the roles administrators granted would mark their own
/// work).
pub const STARTERS: &[Role] = &[Role::Compliance];

pub const CAPABILITY: Capability = Capability {
    name: "access_reviews",
    rules: &[
        page("/access-reviews", Access::Roles(AUDIT_READERS), Section::Compliance, "Access reviews"),
        unlisted("/access-reviews/:id", Access::Roles(AUDIT_READERS), "one campaign, reached from the list"),
        reads::<GetAccessReviews>(Access::Roles(AUDIT_READERS)),
        reads::<GetAccessReview>(Access::Roles(AUDIT_READERS)),
        api::<StartAccessReview>(Access::Roles(STARTERS)),
        api::<DecideAccessLine>(Access::Roles(AUDIT_READERS)),
        // Read rows are written before the bytes leave; the key names nobody.
        endpoint("/export/access-review/:id/report.csv", Access::Roles(AUDIT_READERS)),
        endpoint("/export/access-review/:id/report.csv.sig", Access::Roles(AUDIT_READERS)),
        endpoint("/export/access-review-key.pem", Access::Roles(AUDIT_READERS)),
    ],
};
