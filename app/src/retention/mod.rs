//! Retention (administrators): the policies of `pf_data_retention_policies`, a dry
//! run, a run now, and the last run with what it did per table.

pub mod api;
mod page;

pub use page::RetentionPage;

use crate::policy::{api, page, Access, Capability, Section, ADMIN};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "retention",
    rules: &[
        page("/retention", Access::Roles(ADMIN), Section::Compliance, "Retention"),
        api::<GetRetention>(Access::Roles(ADMIN)),
        api::<SaveRetentionPolicy>(Access::Roles(ADMIN)),
        api::<DeleteRetentionPolicy>(Access::Roles(ADMIN)),
        api::<RunRetentionNow>(Access::Roles(ADMIN)),
    ],
};
