//! Backups the console takes of the embedded database (on Oracle the platform takes
//! them): each one as `pf_backups` records it, with its last verification.

use crate::dto::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    pub backup_id: String,
    /// `full` or `incremental`.
    pub kind: String,
    /// The backup's folder.
    pub location: String,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub started_at: Timestamp,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub finished_at: Option<Timestamp>,
    /// `running`, `ok`, `failed`, or `expired` (kept past its time: its folder went).
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
    /// An incremental backup's full backup, whose unchanged files it shares.
    pub base_id: Option<String>,
}

/// The Backups page: the console's backups, or on Oracle none (the platform's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupsView {
    pub platform_takes_them: bool,
    /// When the server answered: ages count from it (the browser has no clock of
    /// its own to ask in wasm).
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub asked_at: Timestamp,
    pub backups: Vec<Backup>,
}

/// What a backup copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupKind {
    /// The database, every per-user set and the key files.
    Full,
    /// The database and the key files, and only the sets changed since the newest
    /// full backup (the others are that backup's): what changed, as the seed's
    /// 4-hourly incrementals; restoring it needs its full backup too.
    Incremental,
}

impl BackupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Incremental => "incremental",
        }
    }
}

/// When the console backs the embedded database up by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    /// Where the backup folders go.
    pub root: std::path::PathBuf,
    /// A full backup this often.
    pub full_every: std::time::Duration,
    /// An incremental one this often in between (none when zero).
    pub incremental_every: std::time::Duration,
    /// Backups older than this many days go, except a full one a kept incremental needs.
    pub keep_days: u32,
}
