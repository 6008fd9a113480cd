//! Backups of the embedded database (administrators and SREs): taken on a schedule
//! or by `backup create`, verified, listed here; on Oracle the platform takes them.

pub mod api;
mod page;

pub use page::BackupsPage;

use crate::policy::{api, page, Access, Capability, Section, OPERATORS};

pub const CAPABILITY: Capability = Capability {
    name: "backups",
    rules: &[
        page("/backups", Access::Roles(OPERATORS), Section::Operations, "Backups"),
        api::<api::GetBackups>(Access::Roles(OPERATORS)),
    ],
};
