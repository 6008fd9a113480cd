//! CPA PERT oversight for compliance reviewers and administrators: the reports
//! list (`/pert`, filters in the query string), a report's page (`/pert/:id`) with
//! its experiences, milestones and submissions, narratives revealed with a reason,
//! and a reviewer's decision recorded through the state machine. SREs get none.

pub mod api;
mod list;
mod report;

pub use list::PertReportsPage;
pub use report::PertReportPage;

use crate::policy::{api, endpoint, page, reads, unlisted, Access, Capability, Section};
use api::*;
use pathfinder::Role;

/// Who oversees CPA PERT: compliance reviewers, and administrators answering a
/// candidate or an employer.
pub const REVIEWERS: &[Role] = &[Role::Admin, Role::Compliance];

pub const CAPABILITY: Capability = Capability {
    name: "pert",
    rules: &[
        page("/pert", Access::Roles(REVIEWERS), Section::Compliance, "CPA PERT"),
        unlisted("/pert/:id", Access::Roles(REVIEWERS), "one report, reached from the list"),
        reads::<GetPertReports>(Access::Roles(REVIEWERS)),
        reads::<GetPertReport>(Access::Roles(REVIEWERS)),
        reads::<RevealPertNarrative>(Access::Roles(REVIEWERS)),
        api::<RecordPertReview>(Access::Roles(REVIEWERS)),
        // Its read row is written before the first byte.
        endpoint("/export/pert", Access::Roles(REVIEWERS)),
    ],
};
