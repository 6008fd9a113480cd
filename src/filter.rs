//! The users list filter: search text, status, sort, and a keyset cursor.
//! Parsing and validation live here so server and browser agree on them.

use crate::AppError;
use serde::{Deserialize, Serialize};

/// `deleted` is a soft delete: the row stays (audit, retention) but the account is gone.
pub const ACCOUNT_STATUSES: [&str; 5] = ["active", "pending", "suspended", "deactivated", "deleted"];
pub const PAGE_SIZE_DEFAULT: u32 = 25;
pub const PAGE_SIZE_MAX: u32 = 200;
pub const SEARCH_MAX_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserSort {
    #[default]
    Username,
    Email,
    CreatedAt,
}

impl UserSort {
    pub fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "" | "username" => Ok(UserSort::Username),
            "email" => Ok(UserSort::Email),
            "created_at" => Ok(UserSort::CreatedAt),
            _ => Err(AppError::invalid(format!("Unknown sort '{s}': use username, email or created_at."))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UserSort::Username => "username",
            UserSort::Email => "email",
            UserSort::CreatedAt => "created_at",
        }
    }
}

/// How the search text must match: anywhere in a field, or at its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    #[default]
    Contains,
    Prefix,
}

impl SearchMode {
    pub fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "" | "contains" => Ok(SearchMode::Contains),
            "prefix" => Ok(SearchMode::Prefix),
            _ => Err(AppError::invalid(format!("Unknown match '{s}': use contains or prefix."))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Contains => "contains",
            SearchMode::Prefix => "prefix",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserFilter {
    /// Case-insensitive text to find in username, email, first or last name.
    pub q: Option<String>,
    pub mode: SearchMode,
    pub status: Option<String>,
    pub sort: UserSort,
    pub descending: bool,
    /// Opaque cursor from the previous page.
    pub after: Option<String>,
    pub limit: u32,
}

impl UserFilter {
    /// Builds a filter from the raw strings of a query string, refusing bad values.
    pub fn from_query(q: &str, mode: &str, status: &str, sort: &str, dir: &str, after: &str) -> Result<Self, AppError> {
        let q = q.trim();
        if q.chars().count() > SEARCH_MAX_CHARS {
            return Err(AppError::invalid(format!("Search text must be at most {SEARCH_MAX_CHARS} characters.")));
        }
        let status = match status {
            "" => None,
            s if ACCOUNT_STATUSES.contains(&s) => Some(s.to_string()),
            s => {
                return Err(AppError::invalid(format!(
                    "Unknown status '{s}': use one of {}.",
                    ACCOUNT_STATUSES.join(", ")
                )))
            }
        };
        let descending = match dir {
            "" | "asc" => false,
            "desc" => true,
            d => return Err(AppError::invalid(format!("Unknown direction '{d}': use asc or desc."))),
        };
        let filter = UserFilter {
            q: (!q.is_empty()).then(|| q.to_string()),
            mode: SearchMode::parse(mode)?,
            status,
            sort: UserSort::parse(sort)?,
            descending,
            after: (!after.is_empty()).then(|| after.to_string()),
            limit: PAGE_SIZE_DEFAULT,
        };
        filter.cursor()?;
        Ok(filter)
    }

    /// The decoded `after` cursor, refused unless it was made for this sort order.
    pub fn cursor(&self) -> Result<Option<Cursor>, AppError> {
        let Some(raw) = &self.after else { return Ok(None) };
        let c = Cursor::decode(raw)?;
        if c.sort != self.sort || c.descending != self.descending {
            return Err(AppError::invalid(
                "The page cursor belongs to another sort order; start again from the first page.",
            ));
        }
        Ok(Some(c))
    }

    /// The filter in words, for the audit row of a search: what was asked, and
    /// which page (a search read page by page is one row a page).
    pub fn describe(&self) -> String {
        let mut said = match &self.q {
            Some(q) => format!("{} {q:?}", self.mode.as_str()),
            None => "everyone".to_string(),
        };
        if let Some(status) = &self.status {
            said.push_str(&format!(", status {status}"));
        }
        said.push_str(&format!(", by {}{}", self.sort.as_str(), if self.descending { " descending" } else { "" }));
        if self.after.is_some() {
            said.push_str(", a later page");
        }
        said
    }

    pub fn page_size(&self) -> u32 {
        match self.limit {
            0 => PAGE_SIZE_DEFAULT,
            n => n.min(PAGE_SIZE_MAX),
        }
    }

    /// The lower-cased search text with LIKE wildcards escaped by `\`, wrapped in
    /// `%` as the mode asks.
    pub fn like_pattern(&self) -> Option<String> {
        self.q.as_ref().map(|q| {
            let lead = if self.mode == SearchMode::Contains { "%" } else { "" };
            format!("{lead}{}%", escape_like(&q.to_lowercase()))
        })
    }
}

/// `s` with LIKE's wildcards and the escape character escaped by `\`.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Percent-encodes everything but unreserved characters (RFC 3986): a query value.
pub fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The shortest search text a trigram index can look up.
pub const TRIGRAM_MIN_CHARS: usize = 3;

/// Text as hexadecimal (a cursor's part: opaque, safe in a URL).
pub fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The text [`hex_of`] made, or `None` for anything else.
pub fn text_of_hex(hex: &str) -> Option<String> {
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// The message of a cursor that is not one of ours.
pub fn bad_cursor() -> AppError {
    AppError::invalid("The page cursor is not valid; start again from the first page.")
}

/// Keyset position: the sort order it was made for, and the sort key and id of the
/// last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort: UserSort,
    pub descending: bool,
    pub key: String,
    pub id: String,
}

/// What a `created_at` sort key looks like (UTC, optional fraction of a second).
const CURSOR_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

impl Cursor {
    /// `<sort>-<a|d>.<id>.<hex of key>`: opaque to users, safe in a URL.
    pub fn encode(&self) -> String {
        let dir = if self.descending { 'd' } else { 'a' };
        format!("{}-{dir}.{}.{}", self.sort.as_str(), self.id, hex_of(&self.key))
    }

    pub fn decode(s: &str) -> Result<Self, AppError> {
        let bad = bad_cursor;
        let mut parts = s.splitn(3, '.');
        let (order, id, hex) =
            (parts.next().unwrap_or(""), parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        let (sort, dir) = order.rsplit_once('-').ok_or_else(bad)?;
        let sort = UserSort::parse(sort).map_err(|_| bad())?;
        let descending = match dir {
            "a" => false,
            "d" => true,
            _ => return Err(bad()),
        };
        if id.len() != 26 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        let key = text_of_hex(hex).ok_or_else(bad)?;
        if sort == UserSort::CreatedAt && chrono::NaiveDateTime::parse_from_str(&key, CURSOR_TIME_FORMAT).is_err() {
            return Err(bad());
        }
        Ok(Cursor { sort, descending, key, id: id.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_anything_else() {
        let c = Cursor { sort: UserSort::Email, descending: true, key: "Ünïcode 100%".into(), id: crate::new_id() };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let id = crate::new_id();
        for bad in [
            "nope".to_string(),
            format!("email-d.{id}.zz"),
            format!("email-d.{id}.aé0"),
            format!("email-x.{id}.61"),
            format!("password-a.{id}.61"),
            format!("created_at-a.{id}.61"),
            format!("email-a.{}.61", &id[..20]),
        ] {
            assert!(matches!(Cursor::decode(&bad), Err(AppError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn a_cursor_only_serves_its_own_sort_order() {
        let c = Cursor { sort: UserSort::Username, descending: false, key: "bob".into(), id: crate::new_id() };
        assert!(UserFilter::from_query("", "", "", "username", "asc", &c.encode()).is_ok());
        assert!(UserFilter::from_query("", "", "", "created_at", "asc", &c.encode()).is_err());
        assert!(UserFilter::from_query("", "", "", "username", "desc", &c.encode()).is_err());
    }

    #[test]
    fn bad_query_values_are_refused() {
        assert!(UserFilter::from_query("", "", "weird", "", "", "").is_err());
        assert!(UserFilter::from_query("", "", "", "password_hash", "", "").is_err());
        assert!(UserFilter::from_query("", "", "", "", "sideways", "").is_err());
        assert!(UserFilter::from_query("", "fuzzy", "", "", "", "").is_err());
        let f = UserFilter::from_query(" Ali_ce ", "", "active", "email", "desc", "").unwrap();
        assert_eq!(f.like_pattern().as_deref(), Some("%ali\\_ce%"));
        assert!(f.descending);
        let f = UserFilter::from_query("Ali", "prefix", "", "", "", "").unwrap();
        assert_eq!(f.like_pattern().as_deref(), Some("ali%"));
    }
}
