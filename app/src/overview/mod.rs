//! The overview: users by status, active sessions, audit events of the day, the
//! database; for every console role.

pub mod api;
mod page;

pub use page::OverviewPage;

use crate::policy::{api, page, Access, Capability, Section, ANY_ROLE};

pub const CAPABILITY: Capability = Capability {
    name: "overview",
    rules: &[
        page("/", Access::Roles(ANY_ROLE), Section::Top, "Overview"),
        api::<api::GetOverview>(Access::Roles(ANY_ROLE)),
    ],
};
