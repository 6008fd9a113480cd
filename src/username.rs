//! The canonical-username rule. Usernames become part of SQL identifiers
//! (`pf_user_<username>_<table>`), so they are checked here and never cleaned up:
//! input that breaks the rule is refused with a sentence that says why.

use crate::AppError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `pf_users.username` is `VARCHAR2(50)`.
pub const USERNAME_MAX_BYTES: usize = 50;
/// Oracle's identifier limit (12.2 and later, so Autonomous Database).
pub const IDENTIFIER_MAX_BYTES: usize = 128;
/// Prefix of every per-user object.
pub const USER_OBJECT_PREFIX: &str = "pf_user_";
/// The longest suffix a per-user object may have after `pf_user_<username>_`.
/// The schema templates are tested to stay within it.
pub const OBJECT_SUFFIX_MAX_BYTES: usize = IDENTIFIER_MAX_BYTES - USER_OBJECT_PREFIX.len() - 1 - USERNAME_MAX_BYTES;

/// A username that obeys the canonical rule: ASCII lower-case letters, digits and
/// underscores, starting with a letter, at most 50 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let problem = if raw.is_empty() {
            Some("must not be empty".to_string())
        } else if raw.len() > USERNAME_MAX_BYTES {
            Some(format!("must be at most {USERNAME_MAX_BYTES} characters"))
        } else if !raw.as_bytes()[0].is_ascii_lowercase() {
            Some("must start with a lower-case letter (a-z)".to_string())
        } else if let Some(c) = raw.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
            Some(format!("may contain only a-z, 0-9 and _ (found '{c}')"))
        } else {
            None
        };
        match problem {
            None => Ok(Username(raw.to_string())),
            Some(p) => Err(AppError::Invalid(format!("The username '{}' {p}.", raw.escape_default()))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `pf_user_<username>_<suffix>` fits Oracle's identifier limit.
    pub fn object_name_fits(&self, suffix: &str) -> bool {
        USER_OBJECT_PREFIX.len() + self.0.len() + 1 + suffix.len() <= IDENTIFIER_MAX_BYTES
    }
}

impl TryFrom<String> for Username {
    type Error = AppError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Username::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_names() {
        for ok in ["alice", "john_doe", "a", "x9", &"a".repeat(50)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else_without_cleaning() {
        for bad in ["", "Alice", "9lives", "_x", "a-b", "a b", "é", "a;drop", "a\"b", &"a".repeat(51)] {
            let err = Username::parse(bad).unwrap_err();
            assert!(matches!(err, AppError::Invalid(_)), "{bad}");
        }
    }

    #[test]
    fn longest_object_name_fits_oracle_identifiers() {
        let u = Username::parse(&"z".repeat(USERNAME_MAX_BYTES)).unwrap();
        assert_eq!(OBJECT_SUFFIX_MAX_BYTES, 69);
        let longest = format!("{USER_OBJECT_PREFIX}{u}_{}", "s".repeat(OBJECT_SUFFIX_MAX_BYTES));
        assert_eq!(longest.len(), IDENTIFIER_MAX_BYTES);
    }
}
