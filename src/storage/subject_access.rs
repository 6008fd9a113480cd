//! Subject access: everything the database holds about one person, handed out file
//! by file and row by row (streamed: memory stays flat whatever their size), for
//! the archive a person receives (GDPR article 15). Audited: an intent row before
//! the first row leaves, then a row with the count of every file.

use super::{Action, AuditEntry};
use crate::{AppResult, UserId};

/// Written before the first row leaves (`.begin`) and when the last has (with the counts).
pub const SUBJECT_EXPORT: Action = Action::new("read.user.export");

/// Where the rows go: an archive, a test's memory. Each file gets its rows as JSON
/// objects, column by column; `about` says in a sentence what the file holds.
pub trait PersonSink {
    fn file(&mut self, name: &str, about: &str) -> AppResult<()>;
    fn row(&mut self, row: &serde_json::Map<String, serde_json::Value>) -> AppResult<()>;
}

/// How many rows each file of an export holds, in the order they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportCounts {
    /// Whose export it is (their username).
    pub person: String,
    pub files: Vec<(String, u64)>,
}

impl ExportCounts {
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|(_, n)| n).sum()
    }

    /// `profile.json 1, sessions.json 12, …`: the outcome row's detail.
    pub fn describe(&self) -> String {
        let each: Vec<String> = self.files.iter().map(|(f, n)| format!("{f} {n}")).collect();
        format!("{} rows: {}", self.rows(), each.join(", "))
    }
}

/// Columns never exported, whatever table holds them: credentials (password
/// hashes, tokens, secrets, recovery codes) and ciphertexts (their plaintext goes
/// out decrypted instead).
pub fn never_exported(column: &str) -> bool {
    let c = column.to_ascii_lowercase();
    ["password", "token", "secret", "recovery"].iter().any(|w| c.contains(w)) || c.ends_with("_enc")
}

pub trait SubjectAccessStore {
    /// Everything about `user_id` (a soft-deleted person too; an unknown one is
    /// `NotFound`) into `sink`: the profile with its sensitive fields decrypted,
    /// preferences, sessions, SSO links, invitations sent or received, group and
    /// overrides, analytics events, every per-user table (the archive included),
    /// every CPA PERT row and the audit rows by or about them. `audit` is the
    /// export's row: its `.begin` is written before anything leaves (or nothing
    /// does), its outcome with the counts after.
    fn export_person(&self, user_id: &UserId, sink: &mut dyn PersonSink, audit: &AuditEntry)
        -> AppResult<ExportCounts>;
}
