//! Users: the list (search, filters, keyset pages, export, bulk changes) and one
//! user's page, whose sections come from the capabilities that own them (sessions,
//! keys, tables, flags, audit).

pub mod api;
mod detail;
mod list;

pub use detail::UserDetailPage;
pub use list::UsersPage;

use crate::policy::{api, endpoint, page, reads, unlisted, Access, Capability, Section, ADMIN};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "users",
    rules: &[
        page("/users", Access::Roles(ADMIN), Section::People, "Users"),
        unlisted(
            "/users/:id",
            Access::Roles(ADMIN),
            "one user's page, reached from the users list and every link to a user",
        ),
        reads::<ListUsers>(Access::Roles(ADMIN)),
        reads::<GetUserDetail>(Access::Roles(ADMIN)),
        api::<SetUserStatus>(Access::Roles(ADMIN)),
        api::<CreateUser>(Access::Roles(ADMIN)),
        api::<BulkPreview>(Access::Roles(ADMIN)),
        api::<BulkApply>(Access::Roles(ADMIN)),
        api::<UpdateProfile>(Access::Roles(ADMIN)),
        api::<SetPreferences>(Access::Roles(ADMIN)),
        api::<UnlinkSso>(Access::Roles(ADMIN)),
        api::<SetPrimarySso>(Access::Roles(ADMIN)),
        api::<DeleteUser>(Access::Roles(ADMIN)),
        // Streamed by the server (server/src/http/export.rs).
        endpoint("/export/users", Access::Roles(ADMIN)),
    ],
};
