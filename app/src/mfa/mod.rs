//! Two-factor sign-in: the signed-in user's account page, where they set it up (and
//! which is all they see until they do, when their role requires it), and an
//! administrator's reset from a user's page.

pub mod api;
mod page;

pub use page::AccountPage;

use crate::policy::{api, unlisted, Access, Capability, ADMIN};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "mfa",
    rules: &[
        unlisted("/account", Access::Account, "reached from the signed-in user's name in the top bar"),
        api::<GetMfaState>(Access::Account),
        api::<StartMfaSetup>(Access::Account),
        api::<ConfirmMfaSetup>(Access::Account),
        api::<ResetMfa>(Access::Roles(ADMIN)),
    ],
};
