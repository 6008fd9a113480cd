//! Dormant users (administrators): people with no activity since a day, or ever,
//! from the user statistics, with their count; and deactivating them all, as a job
//! that works in batches, resumes where it stopped, and can be stopped.

pub mod api;
mod page;

pub use page::DormantPage;

use crate::policy::{api, page, reads, Access, Capability, Section, ADMIN};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "dormant",
    rules: &[
        page("/dormant", Access::Roles(ADMIN), Section::People, "Dormant users"),
        reads::<GetDormant>(Access::Roles(ADMIN)),
        api::<DeactivateDormant>(Access::Roles(ADMIN)),
        api::<StopDeactivation>(Access::Roles(ADMIN)),
    ],
};
