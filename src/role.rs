//! Console roles: our extension to the seed, stored in `pf_console_roles`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users, flags, groups and per-user tables.
    Admin,
    /// Reads metrics, pool and storage figures.
    Sre,
    /// Searches and exports the audit log.
    Compliance,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Sre, Role::Compliance];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Sre => "sre",
            Role::Compliance => "compliance",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = crate::AppError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| crate::AppError::invalid(format!("Unknown role '{s}': use admin, sre or compliance.")))
    }
}
