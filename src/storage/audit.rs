//! The audit log (`pf_audit_log`): the row a change writes, and the searches,
//! exports, chain and jobs over it.

use super::BatchStep;
use crate::audit::{AuditFacets, AuditFilter, AuditHistogram, AuditJob, AuditJobKind, AuditPage, ChainReport};
use crate::dto::Timestamp;
use crate::{AppResult, UserId};

/// An audited event: its name, and the status its row records whether the console,
/// the CLI or a job writes it. Each capability names its own in
/// `src/storage/<capability>.rs`, so an action is spelt once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub name: &'static str,
    pub status: u16,
}

impl Action {
    /// An action whose row records 200 (it was done).
    pub const fn new(name: &'static str) -> Action {
        Action { name, status: 200 }
    }

    /// An action whose row records another status (a sign-in's redirect, a refusal).
    pub const fn with_status(name: &'static str, status: u16) -> Action {
        Action { name, status }
    }

    /// The name of the row that records the intent of work that cannot share its
    /// outcome's transaction (`<action>.begin`).
    pub fn begin(self) -> String {
        format!("{}.begin", self.name)
    }
}

/// Every action the audit log's own reading writes.
pub const AUDIT_SEARCH: Action = Action::new("audit.search");
pub const AUDIT_EVENT_VIEW: Action = Action::new("audit.event.view");
pub const AUDIT_VERIFY: Action = Action::new("audit.verify");
pub const AUDIT_COUNT: Action = Action::new("audit.count");
pub const AUDIT_EXPORT: Action = Action::new("audit.export");
pub const AUDIT_EXPORT_DONE: Action = Action::new("audit.export.done");
/// The counts of a search's events by action, outcome and actor.
pub const AUDIT_FACETS: Action = Action::new("audit.facets");

impl Returned for AuditFacets {
    fn rows(&self) -> usize {
        self.actors.len()
    }
}

impl Returned for crate::audit::AuditPage {
    fn rows(&self) -> usize {
        self.events.len()
    }
}

impl Returned for AuditRow {
    fn rows(&self) -> usize {
        1
    }
}

/// One row of `pf_audit_log`, as the caller describes the event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEntry {
    pub actor: Option<UserId>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_method: Option<String>,
    pub request_path: Option<String>,
    pub response_status: u16,
    pub execution_time_ms: u64,
    /// What the change did (counts, before and after as JSON), or why it failed:
    /// stored in the seed's `error_message` column.
    pub detail: Option<String>,
}

impl AuditEntry {
    /// The entry cut to the widths of `pf_audit_log`'s columns (Oracle refuses longer
    /// values, SQLite would keep them): both backends store the same thing.
    pub fn clamped(&self) -> AuditEntry {
        let cut = |s: &Option<String>, max: usize| s.as_deref().map(|v| truncate(v, max));
        AuditEntry {
            actor: self.actor.clone(),
            action: truncate(&self.action, 50),
            entity_type: cut(&self.entity_type, 50),
            entity_id: cut(&self.entity_id, 36),
            ip_address: cut(&self.ip_address, 45),
            user_agent: cut(&self.user_agent, 500),
            request_method: cut(&self.request_method, 10),
            request_path: cut(&self.request_path, 500),
            response_status: self.response_status.min(999),
            execution_time_ms: self.execution_time_ms.min(9_999_999_999),
            detail: self.detail.clone(),
        }
    }

    /// An entry for `action` on `entity_type` `entity_id`, with the action's status.
    pub fn new(action: Action, entity_type: &str, entity_id: impl Into<String>) -> Self {
        AuditEntry {
            action: action.name.to_string(),
            entity_type: Some(entity_type.to_string()),
            entity_id: Some(entity_id.into()),
            response_status: action.status,
            ..Default::default()
        }
    }

    /// The entry with its detail (what the change did).
    pub fn with_detail(self, detail: impl Into<String>) -> Self {
        AuditEntry { detail: Some(detail.into()), ..self }
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// `pf_audit_log`: every row joins a hash chain and the kept hourly and daily counts
/// in the transaction that writes it (see `server/src/storage/audit/`).
pub trait AuditStore {
    /// Writes an audit row on its own: for events that change nothing else (a refused request).
    fn append_audit(&self, audit: &AuditEntry) -> AppResult<()>;
    /// Writes the row of a read of personal data, committed with other readers' rows
    /// of this instance under one step of the chain; returns once it is committed.
    /// Call it through [`audited_read`], which answers nothing when it fails.
    fn record_read(&self, read: &AuditEntry) -> AppResult<()> {
        self.record_reads(std::slice::from_ref(read))
    }
    /// Writes the rows of one request's reads (`request::ReadLedger`) in this
    /// instance's next batch, together; returns once they are committed.
    fn record_reads(&self, reads: &[AuditEntry]) -> AppResult<()>;
    fn count_audit_since(&self, since: Timestamp) -> AppResult<i64>;
    fn recent_audit(&self, limit: u32) -> AppResult<Vec<AuditRow>>;
    /// One event with its actor's username.
    fn audit_event(&self, id: &str) -> AppResult<Option<AuditRow>>;
    /// One page of the events `filter` matches.
    fn search_audit(&self, filter: &AuditFilter) -> AppResult<AuditPage>;
    /// How many events `filter` matches, by action, outcome and actor.
    fn audit_facets(&self, filter: &AuditFilter) -> AppResult<AuditFacets>;
    /// Events of `filter` over time by outcome (the Audit page's chart).
    fn audit_histogram(&self, filter: &AuditFilter) -> AppResult<AuditHistogram>;
    /// Exactly how many events `filter` matches, however many (reads them all:
    /// background work, never the page's request).
    fn count_audit(&self, filter: &AuditFilter) -> AppResult<i64>;
    /// Every event `filter` matches, in its order, handed to `each` until it returns
    /// false; how many it took.
    fn export_audit(&self, filter: &AuditFilter, each: &mut dyn FnMut(&AuditRow) -> bool) -> AppResult<u64>;
    /// Chains up to `limit` events written outside the chain (before migration 0014,
    /// or by another tool), oldest first after `after`; one transaction.
    fn chain_pending(&self, after: Option<&str>, limit: u32) -> AppResult<BatchStep>;
    /// Signs the chain's head with `key` (HMAC-SHA256) unless a checkpoint already
    /// covers it; the sequence number signed.
    fn sign_checkpoint(&self, key: &[u8], now: Timestamp) -> AppResult<Option<i64>>;
    /// The newest signed checkpoint, whoever signed it (for the outside witness).
    fn newest_checkpoint(&self) -> AppResult<Option<crate::witness::WitnessMark>>;
    /// Walks the chain from its start and reports the first break. Without the
    /// trust's key checkpoints are not checked; with its witness, a chain cut or
    /// rewritten past the newest checkpoint the witness saw is reported.
    /// `progress(checked, total)` after each batch; the walk stops when it returns false.
    fn verify_audit_chain(
        &self,
        trust: &crate::witness::ChainTrust,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> AppResult<ChainReport>;
    /// Records a background job of the Audit page (with `audit`, who asked for what);
    /// its id.
    fn start_audit_job(&self, kind: AuditJobKind, filter_text: &str, audit: &AuditEntry) -> AppResult<String>;
    /// Runs a job begun with `start_audit_job` to its end: its progress, result and
    /// outcome row (`audit`) are in the database.
    fn run_audit_job(
        &self,
        id: &str,
        kind: AuditJobKind,
        filter: &AuditFilter,
        trust: &crate::witness::ChainTrust,
        audit: &AuditEntry,
    ) -> AppResult<()>;
    fn audit_job(&self, id: &str) -> AppResult<AuditJob>;
    /// The last chain verification that finished (the Diagnostics page, the alerts).
    fn last_chain_verify(&self) -> AppResult<Option<AuditJob>>;
    /// Verifies the chain as the Audit page's job does (`audit` is its row, `.begin`
    /// before and the outcome after) when none finished within `every` and no other
    /// instance is verifying; the job, or `None` when not due.
    fn scheduled_chain_verify(
        &self,
        every: std::time::Duration,
        trust: &crate::witness::ChainTrust,
        audit: &AuditEntry,
    ) -> AppResult<Option<AuditJob>>;
}

pub use crate::audit::AuditRow;

/// How many rows a read of personal data returned, for its audit row.
pub trait Returned {
    fn rows(&self) -> usize;
    /// The one person the data is about, when the read asked for something else
    /// (a report by its id): the row then names them, so "who looked at this
    /// person" finds it.
    fn person(&self) -> Option<String> {
        None
    }
}

impl<T> Returned for Vec<T> {
    fn rows(&self) -> usize {
        self.len()
    }
}

impl<T: Returned> Returned for Option<T> {
    fn rows(&self) -> usize {
        self.as_ref().map_or(0, Returned::rows)
    }
    fn person(&self) -> Option<String> {
        self.as_ref().and_then(Returned::person)
    }
}

impl<T> Returned for crate::dto::Page<T> {
    fn rows(&self) -> usize {
        self.items.len()
    }
}

/// Runs `read` and records it (`read_row`, with how many rows it returned) before
/// its data may leave: the one way personal data is read for a person at the
/// console. If the row cannot be written the data is not returned: the caller gets
/// `Unavailable` with the failure's reference (a 503), as Vault refuses a request
/// its audit device cannot log.
pub fn audited_read<T: Returned>(
    s: &dyn super::Storage,
    read_row: &AuditEntry,
    read: impl FnOnce(&dyn super::Storage) -> AppResult<T>,
) -> AppResult<T> {
    let data = read(s)?;
    s.record_read(&read_row_of(read_row, data.rows())).map_err(read_row_failed)?;
    Ok(data)
}

/// The row of a read that returned `rows` rows: what was asked (its detail) and how many.
pub fn read_row_of(row: &AuditEntry, rows: usize) -> AuditEntry {
    let said = match row.detail.as_deref().unwrap_or("") {
        "" => format!("{rows} returned"),
        what => format!("{what}; {rows} returned"),
    };
    AuditEntry { detail: Some(said), ..row.clone() }
}

/// A request's reads of people as the rows it writes: one row for each person read,
/// however many of their sections the request read. A person's page reads its
/// sections through server functions of their own (each audited alone when called
/// alone); rendered together, they are one visit, and a reviewer asking who looked
/// at this person wants one line a visit that says what was read. The row's action
/// is what the reads' actions share (`read.user` for the profile and its sections),
/// its detail each read's action and detail in order, and the longest read's time.
/// Reads of anything else (the audit log's searches), and a person's reads whose
/// actions begin with another word (an export beside a read), keep their own rows.
pub fn one_row_a_person(reads: Vec<AuditEntry>) -> Vec<AuditEntry> {
    // Reads of one person whose actions begin with the same word go together.
    let together = |a: &AuditEntry, b: &AuditEntry| {
        a.entity_type.as_deref() == Some("user")
            && a.entity_id.is_some()
            && (&a.entity_type, &a.entity_id, &a.actor, &a.request_path)
                == (&b.entity_type, &b.entity_id, &b.actor, &b.request_path)
            && a.action.split('.').next() == b.action.split('.').next()
    };
    let mut groups: Vec<Vec<AuditEntry>> = Vec::new();
    for read in reads {
        match groups.iter_mut().find(|g| together(&g[0], &read)) {
            Some(group) => group.push(read),
            None => groups.push(vec![read]),
        }
    }
    groups.into_iter().filter_map(one_row).collect()
}

/// The row of a group of [`one_row_a_person`]: the first read's, its action the
/// words all share (never none: they share their first), its detail every read's.
fn one_row(group: Vec<AuditEntry>) -> Option<AuditEntry> {
    if group.len() == 1 {
        return group.into_iter().next();
    }
    let mut shared: Vec<&str> = group[0].action.split('.').collect();
    for read in &group {
        let same = shared.iter().zip(read.action.split('.')).take_while(|(a, b)| *a == b).count();
        shared.truncate(same);
    }
    let action = shared.join(".");
    let detail = group
        .iter()
        .map(|read| match read.detail.as_deref() {
            Some(d) => format!("{}: {d}", read.action),
            None => read.action.clone(),
        })
        .collect::<Vec<_>>()
        .join(" | ");
    let execution_time_ms = group.iter().map(|read| read.execution_time_ms).max().unwrap_or(0);
    let response_status = group.iter().map(|read| read.response_status).max().unwrap_or(0);
    group.into_iter().next().map(|first| AuditEntry {
        action,
        detail: Some(detail),
        execution_time_ms,
        response_status,
        ..first
    })
}

/// What a reader is told when the rows of their reads cannot be written: the
/// database is unavailable, with the failure's reference (a 503).
pub fn read_row_failed(e: crate::AppError) -> crate::AppError {
    match e {
        crate::AppError::Internal(reference) | crate::AppError::Unavailable(reference) => {
            crate::AppError::Unavailable(reference)
        }
        other => crate::AppError::unavailable(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(action: &str, entity: Option<(&str, &str)>, detail: &str) -> AuditEntry {
        AuditEntry {
            actor: Some(UserId("01ADMIN".into())),
            action: action.into(),
            entity_type: entity.map(|e| e.0.to_string()),
            entity_id: entity.map(|e| e.1.to_string()),
            request_path: Some("/users/01ADA".into()),
            response_status: 200,
            detail: Some(detail.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_visit_to_a_persons_page_is_one_row_that_says_what_was_read() {
        let ada = Some(("user", "01ADA"));
        let mut sessions = read("read.user.sessions", ada, "1 returned");
        sessions.execution_time_ms = 7;
        let rows = one_row_a_person(vec![
            read("read.user", ada, "1 returned"),
            read("audit.search", Some(("audit_log", "")), "involving=01ADA; 50 returned"),
            sessions,
            read("read.user.flags", ada, "300 returned"),
            read("read.user", Some(("user", "01BO")), "1 returned"),
        ]);
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["read.user", "audit.search", "read.user"], "one row a person, others kept");
        assert_eq!(
            rows[0].detail.as_deref(),
            Some("read.user: 1 returned | read.user.sessions: 1 returned | read.user.flags: 300 returned")
        );
        assert_eq!((rows[0].entity_id.as_deref(), rows[0].execution_time_ms), (Some("01ADA"), 7));
        assert_eq!(rows[2].detail.as_deref(), Some("1 returned"), "a person read once keeps the row as it was");
    }

    #[test]
    fn merged_reads_keep_the_action_they_share() {
        let ada = Some(("user", "01ADA"));
        let career = one_row_a_person(vec![
            read("read.user.career", ada, "experiences; 1 returned"),
            read("read.user.career", ada, "skills; 2 returned"),
        ]);
        assert_eq!(career.len(), 1);
        assert_eq!(career[0].action, "read.user.career");
        assert_eq!(
            career[0].detail.as_deref(),
            Some("read.user.career: experiences; 1 returned | read.user.career: skills; 2 returned")
        );
        let apart = one_row_a_person(vec![read("read.user.key", ada, "0 returned"), read("export.user", ada, "x")]);
        assert_eq!(apart.len(), 2, "actions of another first word are rows of their own");
        assert!(one_row_a_person(Vec::new()).is_empty());
    }
}
