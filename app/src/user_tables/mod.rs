//! Per-user tables (`pf_user_<username>_<table>`): a section of each user's page.

pub mod api;
mod section;

pub use section::UserTablesSection;

use crate::policy::{api, reads, Access, Capability, ADMIN};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "user_tables",
    rules: &[
        reads::<GetUserTables>(Access::Roles(ADMIN)),
        api::<ProvisionUserTables>(Access::Roles(ADMIN)),
        api::<DropUserTables>(Access::Roles(ADMIN)),
    ],
};
