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
/// SQLite must too), at most `max` bytes, nothing hidden (see [`shown_text`]).
pub fn optional_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, AppError> {
    let Some(v) = raw.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    shown_text(field, v, max).map(Some)
}

/// Free text that others read (in the console, in OFREP's `metadata`, in logs):
/// trimmed, at most `max` bytes, and nothing that hides or rewrites what is shown:
/// no control characters (NUL, ESC, BEL, CR, LF...) and no bidirectional
/// overrides (U+202E and its kind), which reorder text on screen.
pub fn shown_text(field: &str, raw: &str, max: usize) -> Result<String, AppError> {
    let v = raw.trim();
    if v.len() > max {
        return Err(AppError::Invalid(format!("The {field} must be at most {max} bytes long.")));
    }
    if v.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(AppError::Invalid(format!(
            "The {field} must not contain control characters or text-direction marks."
        )));
    }
    Ok(v.to_string())
}

/// The marks that change the direction text is drawn in (Unicode's Bidi_Control).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shown_to_others_hides_nothing() {
        assert_eq!(shown_text("reason", "  a fine reason ", 100).unwrap(), "a fine reason");
        for bad in ["nul\0", "esc\u{1b}[31m", "bell\u{7}", "two\r\nlines", "evil\u{202E}txt.exe", "mark\u{2066}"] {
            assert!(shown_text("reason", bad, 100).is_err(), "{bad:?}");
            assert!(optional_text("reason", Some(bad), 100).is_err(), "{bad:?}");
        }
        assert!(shown_text("reason", &"x".repeat(101), 100).is_err());
    }

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
