//! The audit log as compliance reviewers search it: the filter (parsed and checked
//! here, so the page, the server and the CLI refuse the same values with the same
//! sentences), the events read back, facets, and the chain's verification report.

use crate::dto::Timestamp;
use crate::filter::encode_component;
use crate::AppError;
use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

pub const PAGE_SIZES: [u32; 3] = [50, 100, 200];
/// Facets name the actors of at most this many of the newest matching events (and
/// count them, when the kept counts cannot): reading more cost more than the 20 ms
/// a month's facets may take at ten million events (BENCHMARKS.md).
pub const ACTOR_SAMPLE: u32 = 2_000;
/// Counts up to here are exact on the request path; past it the page says "more than".
pub const COUNT_CAP: i64 = 10_000;

/// The filter as the URL carries it: every field a string, empty when unset, so a
/// search can be bookmarked and a plain GET form (before hydration) sends it whole.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditParams {
    /// `1h`, `24h`, `7d`, `30d`, `90d`, `365d`, `all`, or `custom` (then `from`/`to`).
    pub range: String,
    /// UTC, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`.
    pub from: String,
    pub to: String,
    /// A username or a user id.
    pub actor: String,
    /// Exact, or a prefix when it ends with `.` or `*` (`user.status.`).
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// `2xx`, `3xx`, `4xx`, `5xx`, `errors` (400 and up) or an exact status.
    pub status: String,
    pub method: String,
    pub path: String,
    /// A whole address is exact; anything shorter is a prefix (`10.1.`, `2001:db8:`).
    pub ip: String,
    /// Text contained in the error message (case-insensitive for ASCII letters).
    pub text: String,
    /// `newest` (the default) or `oldest`.
    pub order: String,
    pub size: String,
    /// Keyset cursors: the page after one, or the page before one.
    pub after: String,
    pub before: String,
    /// A user's timeline: events by them or about them.
    pub involving: String,
}

impl AuditParams {
    /// The query string of these parameters (set ones only), for links.
    pub fn query_string(&self) -> String {
        let pairs = [
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("actor", &self.actor),
            ("action", &self.action),
            ("entity_type", &self.entity_type),
            ("entity_id", &self.entity_id),
            ("status", &self.status),
            ("method", &self.method),
            ("path", &self.path),
            ("ip", &self.ip),
            ("text", &self.text),
            ("order", &self.order),
            ("size", &self.size),
            ("after", &self.after),
            ("before", &self.before),
            ("involving", &self.involving),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The Audit page's link to this search on its first page with `key` set to
    /// `value` (a facet that narrows it, or a cursor: `after`, `before`).
    pub fn link_with(&self, key: &str, value: &str) -> String {
        let mut p = self.first_page();
        let field = match key {
            "actor" => &mut p.actor,
            "action" => &mut p.action,
            "status" => &mut p.status,
            "after" => &mut p.after,
            "before" => &mut p.before,
            _ => return format!("/audit?{}", p.query_string()),
        };
        *field = value.to_string();
        format!("/audit?{}", p.query_string())
    }

    /// The same search on its first page.
    pub fn first_page(&self) -> AuditParams {
        AuditParams { after: String::new(), before: String::new(), ..self.clone() }
    }

    /// What is searched, for the audit row of a search or an export (no cursor).
    pub fn describe(&self) -> String {
        let q = self.first_page().query_string();
        if q.is_empty() {
            "everything".into()
        } else {
            q
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextMatch {
    Exact(String),
    Prefix(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusMatch {
    /// 2 for 2xx, ...
    Class(u8),
    /// 400 and up.
    Errors,
    Exact(u16),
}

impl StatusMatch {
    /// The inclusive range of statuses it matches.
    pub fn bounds(self) -> (i64, i64) {
        match self {
            StatusMatch::Class(c) => (i64::from(c) * 100, i64::from(c) * 100 + 99),
            StatusMatch::Errors => (400, 999),
            StatusMatch::Exact(s) => (i64::from(s), i64::from(s)),
        }
    }
}

/// A position in the results: the last (or first) event of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCursor {
    pub created_at: Timestamp,
    pub id: String,
}

impl AuditCursor {
    /// `<microseconds since 1970>.<id>`: opaque to users, safe in a URL.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at.timestamp_micros(), self.id)
    }

    pub fn decode(s: &str) -> Result<Self, AppError> {
        let bad = || AppError::invalid("The page cursor is not valid; start again from the first page.");
        let (micros, id) = s.split_once('.').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let created_at = Utc.timestamp_micros(micros).single().ok_or_else(bad)?;
        if id.is_empty() || id.len() > 36 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(bad());
        }
        Ok(AuditCursor { created_at, id: id.to_string() })
    }
}

/// Which way a page goes from its cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PageFrom {
    #[default]
    First,
    After(AuditCursor),
    Before(AuditCursor),
}

/// A checked filter: what storage runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditFilter {
    pub from: Option<Timestamp>,
    /// Exclusive.
    pub to: Option<Timestamp>,
    /// As typed: storage resolves a username to its id (an unknown one is an error).
    pub actor: Option<String>,
    pub action: Option<TextMatch>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub status: Option<StatusMatch>,
    pub method: Option<String>,
    pub path_prefix: Option<String>,
    pub ip: Option<TextMatch>,
    pub text: Option<String>,
    /// A user's timeline: by them or about them (a user id).
    pub involving: Option<String>,
    pub oldest_first: bool,
    pub page_size: u32,
    pub page: PageFrom,
}

/// The longest value each field takes (the column's width, or a bound of ours for
/// free text): longer is refused with a sentence, never run.
const MAX_TEXT: usize = 200;

fn field(value: &str, name: &str, max: usize) -> Result<Option<String>, AppError> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(AppError::invalid(format!("The {name} must be at most {max} characters.")));
    }
    if v.chars().any(char::is_control) {
        return Err(AppError::invalid(format!("The {name} may not hold control characters.")));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// A UTC time from `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]` (a space for the `T` too).
fn parse_time(value: &str, name: &str) -> Result<Option<Timestamp>, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let bad = || {
        AppError::invalid(format!(
            "The {name} time '{}' is not a UTC date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM) between 1970 and 9999.",
            v.chars().take(40).collect::<String>()
        ))
    };
    let v = v.replace(' ', "T");
    let t = NaiveDateTime::parse_from_str(&v, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(&v, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDate::parse_from_str(&v, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default()))
        .map_err(|_| bad())?;
    if !(1970..=9999).contains(&chrono::Datelike::year(&t)) {
        return Err(bad());
    }
    Ok(Some(t.and_utc()))
}

impl AuditFilter {
    /// The newest `n` events about one entity (a flag's history on its page).
    pub fn newest_about(entity_id: &str, n: u32, now: Timestamp) -> Result<AuditFilter, AppError> {
        let all = AuditFilter::from_params(&AuditParams::default(), now)?;
        Ok(AuditFilter { entity_id: Some(entity_id.to_string()), page_size: n, ..all })
    }

    /// Checks every parameter; `now` resolves the relative ranges.
    pub fn from_params(p: &AuditParams, now: Timestamp) -> Result<AuditFilter, AppError> {
        let (from, to) = match p.range.trim() {
            "" | "all" => (None, None),
            "custom" => (parse_time(&p.from, "from")?, parse_time(&p.to, "to")?),
            preset => (Some(now - preset_length(preset)?), None),
        };
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err(AppError::invalid("The time range ends before it starts."));
            }
        }
        let action = field(&p.action, "action", 50)?.map(|a| match a.strip_suffix('*') {
            Some(prefix) => TextMatch::Prefix(prefix.to_string()),
            None if a.ends_with('.') => TextMatch::Prefix(a),
            None => TextMatch::Exact(a),
        });
        let status = match p.status.trim() {
            "" => None,
            "errors" => Some(StatusMatch::Errors),
            s if s.len() == 3 && s.ends_with("xx") && (b'1'..=b'5').contains(&s.as_bytes()[0]) => {
                Some(StatusMatch::Class(s.as_bytes()[0] - b'0'))
            }
            s => match s.parse::<u16>() {
                Ok(n) if (100..=599).contains(&n) => Some(StatusMatch::Exact(n)),
                _ => {
                    return Err(AppError::invalid(
                        "The outcome must be 2xx, 3xx, 4xx, 5xx, errors, or a status from 100 to 599.",
                    ))
                }
            },
        };
        let method = field(&p.method, "method", 10)?.map(|m| m.to_ascii_uppercase());
        if method.as_deref().is_some_and(|m| !m.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(AppError::invalid("The method is letters only (GET, POST, CLI, ...)."));
        }
        let ip = field(&p.ip, "address", 45)?.map(|ip| match ip.strip_suffix('*') {
            Some(prefix) => TextMatch::Prefix(prefix.to_string()),
            None if ip.parse::<std::net::IpAddr>().is_ok() => TextMatch::Exact(ip),
            None => TextMatch::Prefix(ip),
        });
        let oldest_first = match p.order.trim() {
            "" | "newest" => false,
            "oldest" => true,
            _ => return Err(AppError::invalid("The order is newest or oldest.")),
        };
        let page_size = match p.size.trim() {
            "" => PAGE_SIZES[0],
            s => match s.parse::<u32>() {
                Ok(n) if PAGE_SIZES.contains(&n) => n,
                _ => return Err(AppError::invalid("The page size is 50, 100 or 200.")),
            },
        };
        let page = match (p.after.trim(), p.before.trim()) {
            ("", "") => PageFrom::First,
            (a, "") => PageFrom::After(AuditCursor::decode(a)?),
            ("", b) => PageFrom::Before(AuditCursor::decode(b)?),
            _ => return Err(AppError::invalid("A page comes after a cursor or before one, not both.")),
        };
        Ok(AuditFilter {
            from,
            to,
            actor: field(&p.actor, "actor", 100)?,
            action,
            entity_type: field(&p.entity_type, "entity type", 50)?,
            entity_id: field(&p.entity_id, "entity id", 36)?,
            status,
            method,
            path_prefix: field(&p.path, "path prefix", 500)?,
            ip,
            text: field(&p.text, "message text", MAX_TEXT)?,
            involving: field(&p.involving, "timeline's user", 36)?,
            oldest_first,
            page_size,
            page,
        })
    }

    /// The LIKE pattern of the message text (lower case, wildcards escaped by `\`).
    pub fn text_pattern(&self) -> Option<String> {
        self.text.as_ref().map(|t| format!("%{}%", crate::filter::escape_like(&t.to_lowercase())))
    }

    /// Whether only time, action and outcome narrow it: the kept hourly counts
    /// answer such a filter's count and facets without reading events.
    pub fn counted_by_hour(&self) -> bool {
        self.actor.is_none()
            && self.entity_type.is_none()
            && self.entity_id.is_none()
            && self.method.is_none()
            && self.path_prefix.is_none()
            && self.ip.is_none()
            && self.text.is_none()
            && self.involving.is_none()
            && !matches!(self.status, Some(StatusMatch::Exact(_)))
    }
}

fn preset_length(preset: &str) -> Result<Duration, AppError> {
    Ok(match preset {
        "1h" => Duration::hours(1),
        "24h" => Duration::hours(24),
        "7d" => Duration::days(7),
        "30d" => Duration::days(30),
        "90d" => Duration::days(90),
        "365d" => Duration::days(365),
        _ => return Err(AppError::invalid("The range is 1h, 24h, 7d, 30d, 90d, 365d, all or custom.")),
    })
}

/// One row of `pf_audit_log` as read back, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    pub user_id: Option<String>,
    /// The actor's username, where the search joined it.
    pub username: Option<String>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_method: Option<String>,
    pub request_path: Option<String>,
    pub response_status: Option<i64>,
    pub execution_time_ms: Option<i64>,
    /// What the change did (before and after), or why it failed: the seed's
    /// `error_message` column.
    pub detail: Option<String>,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub created_at: Timestamp,
    /// Its place in the hash chain, and its hash (NULL when written by another tool).
    pub chain_seq: Option<i64>,
    pub chain_hash: Option<String>,
}

impl AuditRow {
    pub fn cursor(&self) -> AuditCursor {
        AuditCursor { created_at: self.created_at, id: self.id.clone() }
    }

    /// Who acted when no user did: the console itself (a background job, by its
    /// name), a command run on the server, or nobody known (a request before
    /// sign-in, a row another tool wrote).
    pub fn unnamed_actor(&self) -> String {
        let what = self.request_path.as_deref().unwrap_or_default();
        match self.request_method.as_deref() {
            Some("JOB") => format!("the system ({what})"),
            Some("CLI") => format!("the command line ({what})"),
            _ => "anonymous".into(),
        }
    }
}

/// One page of a search, with the cursors of the pages around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AuditPage {
    pub events: Vec<AuditRow>,
    /// Set when there are events after this page (in the page's order).
    pub next: Option<String>,
    /// Set when there are events before this page.
    pub previous: Option<String>,
}

/// A count: exact, or known only to exceed a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Count {
    Exact(i64),
    MoreThan(i64),
}

/// The facets of a filter: how many events match, by action, outcome and actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AuditFacets {
    pub total: Option<Count>,
    pub actions: Vec<(String, i64)>,
    /// `2xx` … `5xx`, and `none` for events without a status.
    pub outcomes: Vec<(String, i64)>,
    /// Usernames (or ids of users since deleted, or `anonymous`) with their events.
    pub actors: Vec<(String, i64)>,
    /// Set when the actors come from only the newest events of the filter.
    pub actors_among_newest: Option<u32>,
    /// Whether the counts came from the kept hourly counts (else from the events).
    pub from_kept_counts: bool,
}

/// Events over time for a filter, by outcome: what the Audit page's chart draws.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditHistogram {
    /// Each bucket's start, with its events by status class: [2xx and others, 4xx, 5xx].
    pub buckets: Vec<(Timestamp, [i64; 3])>,
    /// `hour` or `day`.
    pub bucket: String,
    /// Set when only the newest this many events of the filter were counted.
    pub among_newest: Option<u32>,
}

/// What a walk of the hash chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ChainReport {
    /// Events whose hash was checked.
    pub checked: u64,
    /// The last sequence number walked.
    pub last_seq: i64,
    /// Signed checkpoints checked (their MAC and the hash they vouch for).
    pub checkpoints: u64,
    /// Whether checkpoints could be checked (the audit key was given).
    pub checkpoints_checked: bool,
    /// Events written outside the chain (by another tool; `migrate` chains them).
    pub unchained: u64,
    /// Where the walk began: the sequence of the last event retention removed (its
    /// signed cut), 0 when the chain is whole from its first event.
    #[serde(default)]
    pub starts_after: i64,
    /// Events still in the table at or below that cut (written out of time order,
    /// kept until they are due): no link reaches them, so nothing verifies them.
    #[serde(default)]
    pub below_cut: u64,
    /// What the outside witness (`crate::witness`) said, in a sentence; `None`
    /// when no witness was given.
    #[serde(default)]
    pub witness: Option<String>,
    /// The first break, if any.
    pub problem: Option<ChainBreak>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreakKind {
    /// The event's content no longer matches its hash.
    Edited,
    /// Sequence numbers are missing.
    Deleted,
    /// An event sits at another place in the chain than where it was written.
    Reordered,
    /// The newest events were removed: a signed checkpoint vouches for more.
    Truncated,
    /// A checkpoint's signature does not verify (forged or altered).
    Checkpoint,
    /// The chain is broken in a way none of the above explains (hashes rewritten).
    Broken,
}

impl BreakKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakKind::Edited => "edited",
            BreakKind::Deleted => "deleted",
            BreakKind::Reordered => "reordered",
            BreakKind::Truncated => "truncated",
            BreakKind::Checkpoint => "checkpoint",
            BreakKind::Broken => "broken",
        }
    }
}

/// Background work started on the Audit page, as any console instance reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditJob {
    pub id: String,
    /// `verify` or `count`.
    pub kind: String,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub started_at: Timestamp,
    pub done: i64,
    pub total: Option<i64>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub finished_at: Option<Timestamp>,
    /// `ok`, `broken` (the chain) or `failed`.
    pub outcome: Option<String>,
    /// What it found, in a sentence.
    pub result: Option<String>,
    /// Whether an instance holds its lease (unfinished and not running: it stopped).
    pub running: bool,
}

/// What a background job of the Audit page does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditJobKind {
    Verify,
    Count,
}

impl AuditJobKind {
    pub fn parse(s: &str) -> Result<AuditJobKind, AppError> {
        match s {
            "verify" => Ok(AuditJobKind::Verify),
            "count" => Ok(AuditJobKind::Count),
            _ => Err(AppError::invalid("A job is verify or count.")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuditJobKind::Verify => "verify",
            AuditJobKind::Count => "count",
        }
    }
}

impl ChainReport {
    /// The report in a sentence or two, for people.
    pub fn summary(&self) -> String {
        let mut s = match &self.problem {
            None if self.starts_after > 0 => format!(
                "The chain is intact: {} events checked, from the retention cut after sequence {} to sequence {}",
                self.checked, self.starts_after, self.last_seq
            ),
            None => format!("The chain is intact: {} events checked, to sequence {}", self.checked, self.last_seq),
            Some(p) => format!("BROKEN at sequence {} ({}): {}", p.seq, p.kind.as_str(), p.detail),
        };
        if self.problem.is_none() {
            s.push_str(&if self.checkpoints_checked {
                format!(", {} signed checkpoints verified.", self.checkpoints)
            } else {
                ", checkpoints not checked (no audit key).".to_string()
            });
        }
        if self.unchained > 0 {
            s.push_str(&format!(" {} events are outside the chain (written by another tool).", self.unchained));
        }
        if self.below_cut > 0 {
            s.push_str(&format!(
                " {} events stand below the retention cut, outside verification (written out of time order; \
                 retention removes them when they are due).",
                self.below_cut
            ));
        }
        match &self.witness {
            Some(w) => s.push_str(&format!(" {w}")),
            None => s.push_str(
                " No outside witness was given: a cut of the newest events together with their checkpoints \
                 would not show.",
            ),
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The first sequence number that is wrong.
    pub seq: i64,
    pub kind: BreakKind,
    /// A sentence for people.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(f: impl FnOnce(&mut AuditParams)) -> AuditParams {
        let mut p = AuditParams::default();
        f(&mut p);
        p
    }

    #[test]
    fn hostile_values_are_refused_with_a_sentence() {
        let now = Utc::now();
        let refused = [
            params(|p| p.size = "-1".into()),
            params(|p| p.size = "75".into()),
            params(|p| p.text = "x".repeat(100_000)),
            params(|p| p.path = "/".repeat(501)),
            params(|p| {
                p.range = "custom".into();
                p.from = "0000-01-01".into()
            }),
            params(|p| {
                p.range = "custom".into();
                p.to = "99999-01-01".into()
            }),
            params(|p| {
                p.range = "custom".into();
                p.from = "2026-02-01".into();
                p.to = "2026-01-01".into()
            }),
            params(|p| p.status = "6xx".into()),
            params(|p| p.status = "' OR 1=1--".into()),
            params(|p| p.method = "' OR 1=1--".into()),
            params(|p| p.order = "sideways".into()),
            params(|p| p.range = "forever".into()),
            params(|p| p.after = "nope".into()),
            params(|p| p.actor = "a\u{0}b".into()),
        ];
        for p in refused {
            assert!(matches!(AuditFilter::from_params(&p, now), Err(AppError::Invalid(_))), "{p:?}");
        }
    }

    #[test]
    fn values_are_read_as_documented() {
        let now = Utc::now();
        let f = AuditFilter::from_params(
            &params(|p| {
                p.action = "user.status.".into();
                p.status = "4xx".into();
                p.ip = "10.1.".into();
                p.text = "100%_".into();
                p.range = "7d".into();
                p.size = "200".into();
            }),
            now,
        )
        .unwrap();
        assert_eq!(f.action, Some(TextMatch::Prefix("user.status.".into())));
        assert_eq!(f.status, Some(StatusMatch::Class(4)));
        assert_eq!(f.ip, Some(TextMatch::Prefix("10.1.".into())));
        assert_eq!(f.text_pattern().as_deref(), Some("%100\\%\\_%"));
        assert_eq!(f.from, Some(now - Duration::days(7)));
        assert_eq!(f.page_size, 200);
        assert!(!f.counted_by_hour(), "an address and a text need the events");
        let counted = params(|p| {
            p.action = "user.status.".into();
            p.status = "errors".into();
            p.range = "90d".into();
        });
        let f = AuditFilter::from_params(&counted, now).unwrap();
        assert!(f.counted_by_hour());
        let f = AuditFilter::from_params(&params(|p| p.ip = "10.1.2.3".into()), now).unwrap();
        assert_eq!(f.ip, Some(TextMatch::Exact("10.1.2.3".into())));
        assert!(!f.counted_by_hour());
    }

    #[test]
    fn cursors_round_trip() {
        let c = AuditCursor { created_at: Utc.timestamp_micros(1_700_000_000_123_456).unwrap(), id: crate::new_id() };
        assert_eq!(AuditCursor::decode(&c.encode()).unwrap(), c);
        assert!(AuditCursor::decode("12.a'b").is_err());
    }

    #[test]
    fn a_link_sets_one_field_of_the_first_page() {
        let p = params(|p| {
            p.action = "user.".into();
            p.after = "1.x".into();
        });
        assert_eq!(p.link_with("action", "user.status.set"), "/audit?action=user.status.set");
        assert_eq!(p.link_with("before", "2.y"), "/audit?action=user.&before=2.y");
    }

    #[test]
    fn the_query_string_round_trips_through_the_url() {
        let p = params(|p| {
            p.action = "user.status.".into();
            p.text = "a b&c".into();
        });
        assert_eq!(p.query_string(), "action=user.status.&text=a%20b%26c");
    }
}
