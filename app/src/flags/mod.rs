//! Feature flags: the flags (filters, their overrides, an evaluator, history), the
//! groups that own overrides and members, the evaluation API's keys, and a user's
//! values on their page. Services evaluate through OFREP (`server/src/http/ofrep.rs`).

pub mod api;
mod detail;
mod forms;
mod groups;
mod list;
mod user;

pub use detail::FlagDetailPage;
pub use groups::{GroupPage, GroupSelect, GroupsPage};
pub use list::FlagsPage;
pub use user::UserFlags;

use crate::policy::{api, endpoint, page, reads, unlisted, Access, Capability, Section, ADMIN, FLAG_READERS};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "flags",
    rules: &[
        page("/flags", Access::Roles(FLAG_READERS), Section::Flags, "Flags"),
        unlisted("/flags/:id", Access::Roles(FLAG_READERS), "one flag's page, reached from the flags list"),
        page("/groups", Access::Roles(FLAG_READERS), Section::Flags, "Groups"),
        unlisted("/groups/:id", Access::Roles(FLAG_READERS), "one group's page, reached from the groups list"),
        api::<GetFlags>(Access::Roles(FLAG_READERS)),
        reads::<GetFlag>(Access::Roles(FLAG_READERS)),
        api::<SaveFlag>(Access::Roles(ADMIN)),
        api::<DeleteFlag>(Access::Roles(ADMIN)),
        api::<SetOverride>(Access::Roles(ADMIN)),
        api::<DeleteOverride>(Access::Roles(ADMIN)),
        reads::<EvaluateFlag>(Access::Roles(FLAG_READERS)),
        reads::<GetUserFlags>(Access::Roles(ADMIN)),
        reads::<GetUserOverrides>(Access::Roles(ADMIN)),
        api::<GetFlagGroups>(Access::Roles(FLAG_READERS)),
        reads::<GetFlagGroup>(Access::Roles(FLAG_READERS)),
        api::<SaveGroup>(Access::Roles(ADMIN)),
        api::<DeleteGroup>(Access::Roles(ADMIN)),
        api::<SetUserGroup>(Access::Roles(ADMIN)),
        api::<AddGroupMember>(Access::Roles(ADMIN)),
        api::<GetApiKeys>(Access::Roles(ADMIN)),
        api::<CreateApiKey>(Access::Roles(ADMIN)),
        api::<RevokeApiKey>(Access::Roles(ADMIN)),
        // The evaluation API for other services (server/src/http/ofrep.rs): an API key.
        endpoint("/ofrep/v1/evaluate/flags", Access::ApiKey),
        endpoint("/ofrep/v1/evaluate/flags/:key", Access::ApiKey),
    ],
};
