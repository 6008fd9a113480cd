//! Backups the console takes of the embedded database (on Oracle the platform takes
//! them): each one as `pf_backups` records it, with its last verification.

use crate::dto::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    pub backup_id: String,
    /// `full`.
    pub kind: String,
    /// The backup's folder.
    pub location: String,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub started_at: Timestamp,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub finished_at: Option<Timestamp>,
    /// `running`, `ok` or `failed`.
    pub status: String,
    pub total_bytes: Option<i64>,
    pub file_count: Option<i64>,
    pub schema_version: Option<i64>,
    /// The audit chain's head in the backup.
    pub chain_seq: Option<i64>,
    pub error_text: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub verified_at: Option<Timestamp>,
    /// `ok` or `failed`, after a verification.
    pub verify_status: Option<String>,
    pub verify_note: Option<String>,
}
