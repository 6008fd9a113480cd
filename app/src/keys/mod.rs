//! Field encryption's keys: the inventory (every user's data key, the longest
//! without rotation first) with rotation runs, and on a user's page their key and
//! sensitive fields.

pub mod api;
mod page;
mod section;

pub use page::KeysPage;
pub use section::UserKeySection;

use crate::policy::{api, page, Access, Capability, Section, ADMIN, KEY_READERS};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "keys",
    rules: &[
        page("/keys", Access::Roles(KEY_READERS), Section::Compliance, "Encryption keys"),
        api::<GetKeyInventory>(Access::Roles(KEY_READERS)),
        api::<StartKeyRotation>(Access::Roles(ADMIN)),
        api::<GetUserKey>(Access::Roles(ADMIN)),
        api::<RotateUserKey>(Access::Roles(ADMIN)),
        api::<RevealSensitive>(Access::Roles(ADMIN)),
        api::<SetSensitive>(Access::Roles(ADMIN)),
    ],
};
