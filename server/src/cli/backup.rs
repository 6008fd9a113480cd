//! `backup create | list | verify | restore`: backups of the embedded database (see
//! `storage/backup.rs`). On Oracle the platform takes the backups, and these say so.

use crate::config::{secret_from_env, DatabaseUrl};
use crate::storage::backups::{audit_restore, oracle_refusal, restore_backup, verify_and_record};
use pathfinder::backup::BackupKind;
use pathfinder::request::RequestMeta;
use pathfinder::storage::Storage;
use pathfinder::storage::{BACKUP_CREATE, BACKUP_RESTORE, BACKUP_VERIFY};
use pathfinder::usage::bytes_text;
use pathfinder::witness::Witness;
use pathfinder::{AppError, AppResult};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum BackupCommand {
    /// Take a full backup now into a new folder under --to (default: `<database>-backups`
    /// beside the database): the database, every per-user set, the audit key and
    /// session secret kept beside it (never the master keys) and a manifest with each
    /// file's SHA-256; audited.
    Create {
        #[arg(long)]
        to: Option<PathBuf>,
        /// Copy only the sets changed since the newest full backup under --to (with
        /// the database and keys); restoring it needs that full backup beside it.
        #[arg(long)]
        incremental: bool,
    },
    /// The newest backups: started, status, size, files, verification, folder.
    List,
    /// Restore a backup into a temporary folder and check it there: every file's size
    /// and SHA-256, SQLite's integrity check, the schema against the migrations, the
    /// audit chain. Recorded on the backup and audited; exit 3 when it fails. Without
    /// FOLDER: the newest backup that finished.
    Verify { folder: Option<PathBuf> },
    /// Put a backup in place as the database file --to, after verifying it. A database
    /// (or key file) already there is refused unless --overwrite; then it is moved
    /// into `<to>.before-restore-<time>/`, never deleted. Stop every console using it first.
    Restore {
        folder: PathBuf,
        #[arg(long)]
        to: PathBuf,
        #[arg(long)]
        overwrite: bool,
    },
}

/// The key that signed the backup's checkpoints: `PF_AUDIT_KEY`, else the backup's own
/// `.audit-key` (the embedded default keeps it beside the database).
fn audit_key_of(folder: &Path) -> AppResult<Option<Vec<u8>>> {
    if let Some(k) = secret_from_env("PF_AUDIT_KEY")? {
        return Ok(Some(k.into_bytes()));
    }
    Ok(std::fs::read_to_string(folder.join(".audit-key")).ok().map(|k| k.trim().as_bytes().to_vec()))
}

/// Where backups go unless told: `<database>-backups` beside the database.
pub fn default_root(database: &Path) -> PathBuf {
    PathBuf::from(format!("{}-backups", database.display()))
}

/// `restore` needs no live database: it runs before one is opened.
pub fn restore(folder: &Path, to: &Path, overwrite: bool, witness: Option<&Witness>) -> AppResult<ExitCode> {
    let report = restore_backup(folder, to, overwrite, audit_key_of(folder)?.as_deref())?;
    // The restored chain is older than what the witness saw: said once, as a restore.
    if let Some(w) = witness {
        w.restored(chrono::Utc::now())?;
    }
    let audit = RequestMeta::cli("backup restore").audit(None, BACKUP_RESTORE, ("backup", None));
    audit_restore(to, &report, &audit)?;
    println!("Restored backup {} as {} after verifying it: {}", report.backup_id, to.display(), report.note);
    if !to.with_file_name(".master-key").exists() {
        println!(
            "Backups never hold the master keys: put the kept .master-key (and .master-key.previous) beside {} \
             before starting a console on it, or set PF_MASTER_KEY; without them its encrypted fields stay unreadable.",
            to.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(s: &dyn Storage, url: &DatabaseUrl, command: BackupCommand) -> AppResult<ExitCode> {
    let DatabaseUrl::Sqlite(database) = url else { return Err(oracle_refusal()) };
    let meta = RequestMeta::cli("backup");
    match command {
        BackupCommand::Create { to, incremental } => {
            let root = to.unwrap_or_else(|| default_root(database));
            let kind = if incremental { BackupKind::Incremental } else { BackupKind::Full };
            let stop = super::progress::stop_on_signal()?;
            let go_on = || !stop.load(std::sync::atomic::Ordering::Relaxed);
            let made = s.create_backup(&root, kind, &meta.audit(None, BACKUP_CREATE, ("backup", None)), &go_on);
            if let (Err(e), false) = (&made, go_on()) {
                println!("Stopped: {e}");
                return Ok(ExitCode::from(130));
            }
            let b = made?;
            let took = b.finished_at.map(|f| (f - b.started_at).num_milliseconds()).unwrap_or_default();
            println!(
                "Backed up ({}) into {} in {took} ms: {} files, {}; schema version {}, audit chain head {}.",
                b.kind,
                b.location,
                b.file_count.unwrap_or_default(),
                bytes_text(b.total_bytes.unwrap_or_default()),
                b.schema_version.unwrap_or_default(),
                b.chain_seq.map_or("-".into(), |s| s.to_string())
            );
        }
        BackupCommand::List => {
            let time = |t: Option<pathfinder::dto::Timestamp>| {
                t.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
            };
            for b in s.backups(50)? {
                println!(
                    "{}\t{}\t{}\t{} files\tverified {} {}\t{}",
                    time(Some(b.started_at)),
                    b.status,
                    bytes_text(b.total_bytes.unwrap_or_default()),
                    b.file_count.unwrap_or_default(),
                    time(b.verified_at),
                    b.verify_status.unwrap_or_default(),
                    b.location
                );
            }
        }
        BackupCommand::Verify { folder } => {
            let folder = match folder {
                Some(f) => f,
                None => s
                    .backups(50)?
                    .into_iter()
                    .find(|b| b.status == "ok")
                    .map(|b| PathBuf::from(b.location))
                    .ok_or_else(|| AppError::NotFound("A finished backup to verify".into()))?,
            };
            let audit = meta.audit(None, BACKUP_VERIFY, ("backup", None));
            let report = verify_and_record(s, &folder, audit_key_of(&folder)?.as_deref(), &audit)?;
            if !report.ok {
                println!("Backup {} FAILED verification: {}", folder.display(), report.note);
                return Ok(ExitCode::from(3));
            }
            println!("Backup {} verified: {}", folder.display(), report.note);
        }
        BackupCommand::Restore { folder, to, overwrite } => {
            let witness = crate::config::audit_witness(None, &DatabaseUrl::Sqlite(to.clone()));
            return restore(&folder, &to, overwrite, witness.as_ref());
        }
    }
    Ok(ExitCode::SUCCESS)
}
