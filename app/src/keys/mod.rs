//! Field encryption's keys: the inventory (every user's data key, the longest
//! without rotation first) with rotation runs, and on a user's page their key and
//! sensitive fields.

pub mod api;
mod page;
mod section;

pub use page::KeysPage;
pub use section::UserKeySection;

use crate::policy::{api, page, reads, Access, Capability, Section, ADMIN, KEY_READERS};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "keys",
    rules: &[
        page("/keys", Access::Roles(KEY_READERS), Section::Compliance, "Encryption keys"),
        reads::<GetKeyInventory>(Access::Roles(KEY_READERS)),
        api::<StartKeyRotation>(Access::Roles(ADMIN)),
        reads::<GetUserKey>(Access::Roles(ADMIN)),
        api::<RotateUserKey>(Access::Roles(ADMIN)),
        reads::<RevealSensitive>(Access::Roles(ADMIN)),
        api::<SetSensitive>(Access::Roles(ADMIN)),
    ],
};
