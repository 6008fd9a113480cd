//! Console accounts: who holds which console role, with their second factor, last
//! sign-in and lock; roles are granted on a user's page.

pub mod api;
mod page;

pub use page::{AccountsPage, RolesForm};

use crate::policy::{api, page, reads, Access, Capability, Section, ADMIN};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "accounts",
    rules: &[
        page("/accounts", Access::Roles(ADMIN), Section::People, "Console accounts"),
        reads::<GetConsoleAccounts>(Access::Roles(ADMIN)),
        api::<SetConsoleRoles>(Access::Roles(ADMIN)),
    ],
};
