//! Analytics for administrators (SREs read): active users, events by type,
//! sessions, top pages and referrers over 7, 30 or 90 days or a range, each a
//! chart drawn by the server with its numbers under it, from the summaries the
//! analytics job keeps.

pub mod api;
mod page;

pub use page::AnalyticsPage;

use crate::policy::{api, endpoint, page, Access, Capability, Section, OPERATORS};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "analytics",
    rules: &[
        page("/analytics", Access::Roles(OPERATORS), Section::Top, "Analytics"),
        api::<GetAnalytics>(Access::Roles(OPERATORS)),
        endpoint("/charts/analytics.svg", Access::Roles(OPERATORS)),
    ],
};
