//! Backups of the embedded database.

use super::{Action, AuditEntry};
use crate::AppResult;

pub const BACKUP_CREATE: Action = Action::new("backup.create");
pub const BACKUP_VERIFY: Action = Action::new("backup.verify");
pub const BACKUP_RESTORE: Action = Action::new("backup.restore");
/// A backup past its keeping time, removed by the schedule.
pub const BACKUP_EXPIRE: Action = Action::new("backup.expire");

/// Backups of the embedded database (see `server/src/storage/backup.rs`); on Oracle
/// the platform takes them, and these say so in one sentence.
pub trait BackupStore {
    /// A full backup into a new folder under `root`: the main file and every per-user
    /// set (`VACUUM INTO`, each a consistent copy), the key files kept beside the
    /// database, and a manifest with each file's size and SHA-256, the schema version
    /// and the audit chain's head. Audited (`.begin`, then its outcome) and recorded;
    /// a backup that fails midway leaves no folder behind. `go_on` is asked between
    /// files: when it says no (a signal, a shutdown), the backup stops there, failed,
    /// and its folder is removed.
    fn create_backup(
        &self,
        root: &std::path::Path,
        kind: crate::backup::BackupKind,
        audit: &AuditEntry,
        go_on: &dyn Fn() -> bool,
    ) -> AppResult<crate::backup::Backup>;
    /// The backup the schedule says is due (a full one when the newest is older than
    /// `full_every`, else an incremental one when the newest backup is older than
    /// `incremental_every`), under the `backup` lease so one instance takes it; then
    /// the backups past `keep_days` expire (their folders removed, each audited). A
    /// full backup is verified right after (see `backup verify`), recorded.
    /// `None` when nothing was due or another instance holds the lease. `go_on` as
    /// for [`BackupStore::create_backup`].
    fn scheduled_backup(
        &self,
        schedule: &crate::backup::BackupSchedule,
        audit_key: Option<&[u8]>,
        audit: &AuditEntry,
        go_on: &dyn Fn() -> bool,
    ) -> AppResult<Option<crate::backup::Backup>>;
    /// The newest backups first.
    fn backups(&self, limit: u32) -> AppResult<Vec<crate::backup::Backup>>;
    /// The Backups page: the newest `limit`, and whether the platform takes them
    /// instead (Oracle).
    fn backups_page(&self, limit: u32) -> AppResult<crate::backup::BackupsView>;
    /// Records a verification's outcome on its backup's row, audited with `audit`.
    fn record_backup_verification(&self, backup_id: &str, ok: bool, note: &str, audit: &AuditEntry) -> AppResult<()>;
}
