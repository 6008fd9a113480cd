//! Identifiers. The seed's 26-character keys are ULIDs made by the application
//! (the seed's `DEFAULT SYS_GUID()` yields 32 characters and does not fit).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A new 26-character, time-ordered id.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

macro_rules! id_type {
    ($name:ident) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new() -> Self {
                Self(new_id())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(UserId);
id_type!(SessionId);
