//! Input rules shared by server and browser. The database would enforce some of them
//! (Oracle refuses an over-long VARCHAR2, SQLite does not), so the application
//! enforces all of them first: both backends then accept and refuse the same input.

use crate::AppError;

/// `pf_users.email` is `VARCHAR2(255)`.
pub const EMAIL_MAX_BYTES: usize = 255;
/// `pf_users.first_name` and `last_name` are `VARCHAR2(100)`.
pub const NAME_MAX_BYTES: usize = 100;

/// A plausible email address (one `@`, a dotted domain, no spaces), trimmed.
pub fn email(raw: &str) -> Result<String, AppError> {
    let e = raw.trim();
    let ok = e.len() <= EMAIL_MAX_BYTES
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(e.to_string())
    } else {
        Err(AppError::Invalid(format!("'{}' is not an email address.", raw.escape_default())))
    }
}

/// Optional free text: trimmed, empty means absent (Oracle stores '' as NULL, so
/// SQLite must too), at most `max` bytes, no control characters.
pub fn optional_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, AppError> {
    let Some(v) = raw.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.len() > max {
        return Err(AppError::Invalid(format!("The {field} must be at most {max} bytes long.")));
    }
    if v.chars().any(char::is_control) {
        return Err(AppError::Invalid(format!("The {field} must not contain control characters.")));
    }
    Ok(Some(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" a.b@example.com ").unwrap(), "a.b@example.com");
        for bad in [
            "",
            "a",
            "@example.com",
            "a@b",
            "a@.com",
            "a@b.",
            "a b@example.com",
            "a@b@c.com",
            &format!("{}@x.io", "a".repeat(251)),
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn optional_texts() {
        assert_eq!(optional_text("first name", Some("  "), 10).unwrap(), None);
        assert_eq!(optional_text("first name", Some(" Zoë "), 10).unwrap().as_deref(), Some("Zoë"));
        assert!(optional_text("first name", Some("a\u{0}b"), 10).is_err());
        assert!(optional_text("first name", Some(&"x".repeat(11)), 10).is_err());
    }
}
