//! Backups of the embedded database (SQLite); on Oracle the platform takes them.
//!
//! A backup is a folder `<root>/<UTC time>-<kind>/`: `pathfinder.db` and
//! `user-tables/<username>.db`, each written by `VACUUM INTO` (a consistent copy of
//! its file, compacted), the audit key and session secret kept beside the database
//! (never the master keys: see [`KEY_FILES`]), and `manifest.json`,
//! written last: each file's size and SHA-256, the schema version and the audit
//! chain's head. Verifying restores the files into a temporary folder and checks
//! them there; restoring verifies first and only then puts the files in place.
//!
//! An incremental backup copies the database and the keys, and of the sets only
//! those whose file changed (size or modification time) since the newest full
//! backup; its manifest names that backup's copies of the others (`in_base`), so
//! verifying or restoring it reads both folders. The schedule (daily full,
//! 4-hourly incremental, 30 days kept) runs in the upkeep round under the `backup`
//! lease.

use super::driver::sqlite::{log_of, sets_folder_of, SqliteDb};
use super::driver::{Dialect, ReadRow, Row};
use super::migrations::{failure_audit, intent_audit};
use super::store::{Backend, Store};
use crate::{args, sql};
use chrono::Utc;
use pathfinder::backup::{Backup, BackupKind, BackupSchedule};
use pathfinder::dto::Timestamp;
use pathfinder::storage::{AuditEntry, AuditStore, BackupStore, SchemaStore, BACKUP_CREATE};
use pathfinder::{new_id, AppError, AppResult, Username};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
const MAIN_FILE: &str = "pathfinder.db";
const SETS_FOLDER: &str = "user-tables";
/// The secrets the embedded default keeps beside its database that a backup holds:
/// the audit key (its checkpoints verify) and the session secret. Never the master
/// keys: a copy that carried them would undo crypto-shredding (README, Field
/// encryption); a restore takes them from where they are kept apart.
const KEY_FILES: [&str; 2] = [".audit-key", ".jwt-secret"];

/// A backup's database opened without master keys (none is made beside it): its
/// checks and its restore's audit row decrypt nothing.
fn open_without_keys(main: &Path) -> AppResult<Store> {
    Store::open(&crate::config::DatabaseUrl::Sqlite(main.to_path_buf()), crate::crypto::Keyring::new(None, Vec::new()))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub backup_id: String,
    /// `full` or `incremental`.
    #[serde(default = "full")]
    pub kind: String,
    /// An incremental backup's full backup: its folder, beside this one.
    #[serde(default)]
    pub base: Option<String>,
    pub created_at: Timestamp,
    pub schema_version: i64,
    pub chain_seq: Option<i64>,
    pub chain_hash: Option<String>,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Relative to the backup's folder.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// The copy is the base backup's (an unchanged set in an incremental backup).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_base: bool,
    /// The live set file's size and modification time when it was copied: an
    /// incremental backup copies it again only when they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<(u64, u64)>,
}

fn full() -> String {
    "full".into()
}

/// A live file's size and modification time (nanoseconds since 1970).
fn stamp(path: &Path) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some((meta.len(), modified.as_nanos() as u64))
}

/// The folder that holds `f`'s copy: the backup's own, or its base's.
fn holder(folder: &Path, manifest: &Manifest, f: &ManifestFile) -> PathBuf {
    match (&manifest.base, f.in_base) {
        (Some(base), true) => folder.parent().unwrap_or(Path::new(".")).join(base),
        _ => folder.to_path_buf(),
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub backup_id: String,
    pub ok: bool,
    /// One sentence: what was checked, or the first problem.
    pub note: String,
}

/// What `backup` says on Oracle.
pub fn oracle_refusal() -> AppError {
    AppError::invalid(
        "On Oracle the platform takes the backups (Autonomous Database: automatic backups with point-in-time \
         recovery); the console takes backups of the embedded SQLite database only.",
    )
}

/// "Could not <what> <path>: <why>." for a file operation that failed.
fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> AppError + 'a {
    move |e| AppError::invalid(format!("Could not {what} {}: {e}.", path.display()))
}

/// Reads `from` to its end, writing what it reads to `into`: (bytes, SHA-256).
fn hashed(from: &Path, into: &mut dyn std::io::Write) -> AppResult<(u64, String)> {
    use sha2::Digest;
    use std::io::Read;
    let mut src = std::fs::File::open(from).map_err(io("read", from))?;
    let (mut hasher, mut buf, mut bytes) = (sha2::Sha256::new(), vec![0u8; 1 << 20], 0u64);
    loop {
        let n = src.read(&mut buf).map_err(io("read", from))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        into.write_all(&buf[..n]).map_err(io("write a copy of", from))?;
        bytes += n as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

fn sha256_of(path: &Path) -> AppResult<(u64, String)> {
    hashed(path, &mut std::io::sink())
}

/// Copies `from` to `to` (flushed to disk) and hashes what it copied.
fn copy_hashed(from: &Path, to: &Path) -> AppResult<(u64, String)> {
    let mut dest = std::fs::File::create(to).map_err(io("write", to))?;
    let copied = hashed(from, &mut dest)?;
    dest.sync_all().map_err(io("write", to))?;
    Ok(copied)
}

/// The backup's files copied to where a database at `main` has them, each checked
/// against the manifest as it is copied; the first problem, if any.
fn copy_checked(folder: &Path, manifest: &Manifest, main: &Path) -> AppResult<Option<String>> {
    for f in &manifest.files {
        let path = holder(folder, manifest, f).join(&f.path);
        if !path.exists() {
            let whose = if f.in_base { " (from its full backup)" } else { "" };
            return Ok(Some(format!("{}{whose} is missing.", f.path)));
        }
        let to = placed(main, &f.path);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        let (bytes, sha256) = copy_hashed(&path, &to)?;
        if bytes != f.bytes || sha256 != f.sha256 {
            return Ok(Some(format!(
                "{} does not match its size and SHA-256 in the manifest: it is corrupted.",
                f.path
            )));
        }
    }
    Ok(None)
}

fn backup_row(r: &dyn Row) -> AppResult<Backup> {
    Ok(Backup {
        backup_id: r.text(0)?,
        kind: r.text(1)?,
        location: r.text(2)?,
        started_at: r.time(3)?,
        finished_at: r.opt_time(4)?,
        status: r.text(5)?,
        total_bytes: r.opt_int(6)?,
        file_count: r.opt_int(7)?,
        schema_version: r.opt_int(8)?,
        chain_seq: r.opt_int(9)?,
        error_text: r.opt_text(10)?,
        verified_at: r.opt_time(11)?,
        verify_status: r.opt_text(12)?,
        verify_note: r.opt_text(13)?,
        base_id: r.opt_text(14)?,
    })
}

/// A backup `running` whose folder has not changed for this long, and has no
/// manifest, has stopped: its process ended (killed, the machine stopped). A live one
/// writes all along (`VACUUM INTO` writes its copy as it goes; a set takes seconds).
const STOPPED_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// When anything in a backup's folder (or its sets' folder) last changed.
fn last_written(folder: &Path) -> Option<Timestamp> {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let inside = |dir: &Path| -> Vec<std::time::SystemTime> {
        std::fs::read_dir(dir).into_iter().flatten().flatten().filter_map(|e| modified(&e.path())).collect()
    };
    let all = [modified(folder), modified(&folder.join(SETS_FOLDER))].into_iter().flatten();
    all.chain(inside(folder)).chain(inside(&folder.join(SETS_FOLDER))).max().map(Timestamp::from)
}

/// A backup row's compare-and-set: `changed` rows is one, or another instance (or
/// the settling of a stopped backup) got there first, refused as a conflict so that
/// the transaction, and its audit row, roll back.
fn won(changed: u64, lost: &str) -> AppResult<()> {
    if changed == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict(lost.into()))
    }
}

/// Removes a backup's folder; one already gone is fine, another failure is logged
/// (the row says what happened; a folder left over is only space).
fn remove_folder(location: impl AsRef<Path>, whose: &str) {
    let location = location.as_ref();
    if let Err(e) = std::fs::remove_dir_all(location) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(error = %e, location = %location.display(), "{whose} folder could not be removed");
        }
    }
}

/// `src` copied, consistent and compacted, to `dest` (a new file).
fn vacuum_into(db: &SqliteDb, src: &Path, dest: &Path) -> AppResult<()> {
    db.read_file(src)?.execute(sql!(sqlite: "VACUUM INTO :1"), &args![dest.to_string_lossy().as_ref()])?;
    Ok(())
}

impl Store {
    fn backup(&self, id: &str) -> AppResult<Backup> {
        let rows = self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT backup_id, kind, location, started_at, finished_at, status, total_bytes, file_count,
                        schema_version, chain_seq, error_text, verified_at, verify_status, verify_note, base_id
                     FROM pf_backups WHERE backup_id = :1"
                ),
                &args![id],
                backup_row,
            )
        })?;
        rows.into_iter().next().ok_or_else(|| AppError::NotFound("The backup".into()))
    }

    /// Settles the backups whose process ended before they finished: each is marked
    /// failed, its half-made folder removed, and the outcome its process never wrote
    /// audited. A folder with a manifest is a finished backup (a database restored
    /// from a backup holds that backup's own row as `running`): left alone. A
    /// compare-and-set each, so one instance settles it and audits it once.
    fn settle_stopped_backups(&self, audit_entry: &AuditEntry) -> AppResult<u32> {
        let now = Utc::now();
        let candidates = self.read(|c| {
            c.query_map(
                sql!("SELECT backup_id, location FROM pf_backups WHERE status = 'running' AND started_at < :1"),
                &args![now - STOPPED_AFTER],
                |r| Ok((r.text(0)?, r.text(1)?)),
            )
        })?;
        let mut settled = 0;
        for (id, location) in candidates {
            let folder = Path::new(&location);
            let still_written = last_written(folder).is_some_and(|t| now - t < STOPPED_AFTER);
            if folder.join(MANIFEST).exists() || still_written {
                continue;
            }
            let note = format!(
                "It stopped before it finished: its process ended (nothing written for over {} hour).",
                STOPPED_AFTER.num_hours()
            );
            let row = AuditEntry {
                action: BACKUP_CREATE.name.into(),
                entity_id: Some(id.clone()),
                response_status: 500,
                detail: Some(format!("{note} Its folder {location} is removed.")),
                ..audit_entry.clone()
            };
            let settling = self.write_audited(&row, |c| {
                let n = c.execute(
                    sql!(
                        "UPDATE pf_backups SET status = 'failed', finished_at = :1, error_text = :2
                         WHERE backup_id = :3 AND status = 'running'"
                    ),
                    &args![now, note.as_str(), id.as_str()],
                )?;
                won(n, "settled already")
            });
            match settling {
                Ok(()) => {}
                Err(AppError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
            remove_folder(&location, "a stopped backup's");
            settled += 1;
        }
        Ok(settled)
    }

    /// [`Store::settle_stopped_backups`], where a failure to settle is logged, not
    /// the failure of the backup or round that tried.
    fn settle_stopped_backups_logged(&self, audit_entry: &AuditEntry) {
        if let Err(e) = self.settle_stopped_backups(audit_entry) {
            tracing::warn!(error = %e, "settling backups whose process ended failed; next try at the next backup");
        }
    }

    /// Copies the database, its sets and its keys into `folder` and writes the
    /// manifest last. With a `base` (an incremental backup: the full backup's folder
    /// name and manifest), a set whose live file is as it was then is not copied:
    /// the manifest names the base's copy.
    fn copy_into(
        &self,
        db: &SqliteDb,
        folder: &Path,
        id: &str,
        base: Option<(&str, &Manifest)>,
        go_on: &dyn Fn() -> bool,
    ) -> AppResult<Manifest> {
        let going_on = || match go_on() {
            true => Ok(()),
            false => Err(AppError::Conflict(
                "The backup was stopped (a signal or a shutdown) before it finished: recorded as failed, its folder \
                 removed."
                    .into(),
            )),
        };
        std::fs::create_dir_all(folder.join(SETS_FOLDER)).map_err(io("create", folder))?;
        let main = folder.join(MAIN_FILE);
        vacuum_into(db, db.path(), &main)?;
        crate::crash::point("backup.main_copied");
        // The sets the copy's registry names: the copy and its sets agree.
        let copy = &mut db.read_file(&main)?;
        let usernames = copy.query_map(sql!(sqlite: "SELECT username FROM pf_user_table_sets"), &[], |r| r.text(0))?;
        let schema_version = copy.query_int(sql!(sqlite: "SELECT MAX(version) FROM pf_schema_version"), &[])?;
        let head = copy.query_opt(sql!(sqlite: "SELECT last_seq, last_hash FROM pf_audit_chain_head"), &[])?;
        let (chain_seq, chain_hash) = match head {
            Some(r) => (r.opt_int(0)?, r.opt_text(1)?),
            None => (None, None),
        };
        let hashed_here = |path: String, source: Option<(u64, u64)>| -> AppResult<ManifestFile> {
            let (bytes, sha256) = sha256_of(&folder.join(&path))?;
            Ok(ManifestFile { path, bytes, sha256, in_base: false, source })
        };
        let mut files = vec![hashed_here(MAIN_FILE.to_string(), None)?];
        for u in usernames {
            going_on()?;
            let Some(src) = Username::parse(&u).ok().and_then(|name| self.user_tables_file(&name)) else { continue };
            // Taken before the copy: a set changed during it is copied again next time.
            let Some(source) = stamp(&src) else { continue };
            let path = format!("{SETS_FOLDER}/{u}.db");
            let unchanged = base.and_then(|(_, m)| m.files.iter().find(|f| f.path == path && f.source == Some(source)));
            match unchanged {
                Some(f) => files.push(ManifestFile { in_base: true, ..f.clone() }),
                None => {
                    vacuum_into(db, &src, &folder.join(&path))?;
                    files.push(hashed_here(path, Some(source))?);
                }
            }
        }
        going_on()?;
        let beside = db.path().parent().unwrap_or(Path::new("."));
        for key in KEY_FILES.iter().filter(|k| beside.join(k).exists()) {
            std::fs::copy(beside.join(key), folder.join(key)).map_err(io("copy", &beside.join(key)))?;
            files.push(hashed_here(key.to_string(), None)?);
        }
        let manifest = Manifest {
            format: 1,
            backup_id: id.to_string(),
            kind: if base.is_some() { "incremental" } else { "full" }.into(),
            base: base.map(|(name, _)| name.to_string()),
            created_at: Utc::now(),
            schema_version,
            chain_seq,
            chain_hash,
            files,
        };
        let text = serde_json::to_string_pretty(&manifest).map_err(AppError::internal)?;
        let written = folder.join(format!("{MANIFEST}.tmp"));
        std::fs::write(&written, text).map_err(io("write", &written))?;
        std::fs::rename(&written, folder.join(MANIFEST)).map_err(io("write", &written))?;
        Ok(manifest)
    }

    /// The newest full backup an incremental one under `root` can build on: its
    /// folder's name, its id and its manifest.
    fn incremental_base(&self, root: &Path) -> AppResult<Option<(String, String, Manifest)>> {
        let newest = self.read(|c| {
            c.query_opt(
                sql!("SELECT backup_id, location FROM pf_backups WHERE kind = 'full' AND status = 'ok'
                        ORDER BY started_at DESC", limit "1"),
                &[],
            )
        })?;
        let Some(row) = newest else { return Ok(None) };
        let (id, location) = (row.text(0)?, PathBuf::from(row.text(1)?));
        let beside = location.parent().is_some_and(|p| p == root);
        let (Some(name), true) = (location.file_name().and_then(|n| n.to_str()), beside) else { return Ok(None) };
        Ok(read_manifest(&location).ok().map(|m| (name.to_string(), id, m)))
    }

    /// Marks the backups past their keeping time expired and removes their folders,
    /// each audited; a full backup that a kept incremental one builds on stays.
    fn expire_backups(&self, keep_days: u32, audit_entry: &AuditEntry) -> AppResult<u32> {
        let cutoff = Utc::now() - chrono::TimeDelta::days(i64::from(keep_days));
        let due = self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT b.backup_id, b.location FROM pf_backups b WHERE b.status = 'ok' AND b.started_at < :1
                     AND NOT EXISTS (SELECT 1 FROM pf_backups i WHERE i.base_id = b.backup_id
                        AND i.status = 'ok' AND i.started_at >= :2)"
                ),
                &args![cutoff, cutoff],
                |r| Ok((r.text(0)?, r.text(1)?)),
            )
        })?;
        let mut expired = 0;
        for (id, location) in due {
            let row = AuditEntry {
                entity_id: Some(id.clone()),
                detail: Some(format!("older than {keep_days} days: {location} removed")),
                ..audit_entry.clone()
            };
            // The row first (another instance may be at it too): only its winner
            // removes, and only its audit row stays.
            let expiring = self.write_audited(&row, |c| {
                let n = c.execute(
                    sql!("UPDATE pf_backups SET status = 'expired' WHERE backup_id = :1 AND status = 'ok'"),
                    &args![id.as_str()],
                )?;
                won(n, "expired already")
            });
            match expiring {
                Ok(()) => {}
                Err(AppError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
            remove_folder(&location, "an expired backup's");
            expired += 1;
        }
        Ok(expired)
    }
}

impl BackupStore for Store {
    fn create_backup(
        &self,
        root: &Path,
        kind: BackupKind,
        audit_entry: &AuditEntry,
        go_on: &dyn Fn() -> bool,
    ) -> AppResult<Backup> {
        let db = match &self.db {
            Backend::Sqlite(db) => db,
            #[cfg(feature = "oracle")]
            Backend::Oracle(_) => return Err(oracle_refusal()),
        };
        self.settle_stopped_backups_logged(audit_entry);
        // An incremental backup without a full one to build on is a full one.
        let base = match kind {
            BackupKind::Incremental => self.incremental_base(root)?,
            BackupKind::Full => None,
        };
        let kind = if base.is_some() { BackupKind::Incremental } else { BackupKind::Full };
        let (id, now) = (new_id(), Utc::now());
        // To the millisecond: a scheduled backup and one from the command line may start in the same second.
        let folder = root.join(format!("{}-{}", now.format("%Y%m%dT%H%M%S%.3fZ"), kind.as_str()));
        if folder.exists() {
            return Err(AppError::Conflict(format!("{} already exists; try again.", folder.display())));
        }
        let audit_entry = AuditEntry { entity_id: Some(id.clone()), ..audit_entry.clone() };
        // 1. The intent, or nothing.
        let base_id = base.as_ref().map(|(_, id, _)| id.clone());
        self.write_audited(&intent_audit(&audit_entry), |c| {
            c.execute(
                sql!(
                    "INSERT INTO pf_backups (backup_id, kind, location, started_at, status, base_id)
                     VALUES (:1, :2, :3, :4, 'running', :5)"
                ),
                &args![id.as_str(), kind.as_str(), folder.to_string_lossy().as_ref(), now, base_id],
            )
        })?;
        // 2. The copy; a failed one leaves no folder.
        let started = std::time::Instant::now();
        let made = self.copy_into(db, &folder, &id, base.as_ref().map(|(name, _, m)| (name.as_str(), m)), go_on);
        if made.is_err() {
            remove_folder(&folder, "a failed backup's");
        }
        // 3. The outcome, with its audit row. Its size is what it holds itself.
        let millis = started.elapsed().as_millis() as u64;
        let own = |m: &Manifest| m.files.iter().filter(|f| !f.in_base).map(|f| f.bytes as i64).sum::<i64>();
        let row = match &made {
            Ok(m) => {
                let shared = m.files.iter().filter(|f| f.in_base).count();
                let shared = match &m.base {
                    Some(base) => format!(" ({shared} unchanged sets kept in {base})"),
                    None => String::new(),
                };
                AuditEntry {
                    execution_time_ms: millis,
                    detail: Some(format!(
                        "{} {}: {} files, {} bytes{shared}",
                        kind.as_str(),
                        id,
                        m.files.len(),
                        own(m)
                    )),
                    ..audit_entry.clone()
                }
            }
            Err(e) => failure_audit(&audit_entry, e),
        };
        self.write_audited(&row, |c| {
            let n = match &made {
                Ok(m) => c.execute(
                    sql!(
                        "UPDATE pf_backups SET finished_at = :1, status = 'ok', total_bytes = :2, file_count = :3,
                            schema_version = :4, chain_seq = :5 WHERE backup_id = :6 AND status = 'running'"
                    ),
                    &args![Utc::now(), own(m), m.files.len() as i64, m.schema_version, m.chain_seq, id.as_str()],
                )?,
                Err(e) => c.execute(
                    sql!(
                        "UPDATE pf_backups SET finished_at = :1, status = 'failed', error_text = :2
                         WHERE backup_id = :3 AND status = 'running'"
                    ),
                    &args![Utc::now(), pathfinder::storage::truncate(&e.to_string(), 500), id.as_str()],
                )?,
            };
            // Taken for stopped and settled meanwhile (it wrote nothing for an hour).
            won(n, "This backup was taken for stopped and settled as failed; run it again.")
        })?;
        made?;
        self.backup(&id)
    }

    fn scheduled_backup(
        &self,
        schedule: &BackupSchedule,
        audit_key: Option<&[u8]>,
        audit_entry: &AuditEntry,
        go_on: &dyn Fn() -> bool,
    ) -> AppResult<Option<Backup>> {
        if self.sqlite().is_none() {
            return Ok(None); // the platform's
        }
        const JOB: &str = "backup";
        let now = Utc::now();
        let ago = |d: std::time::Duration| chrono::TimeDelta::from_std(d).map(|d| now - d).map_err(AppError::internal);
        let newest = |kind: &'static str| {
            self.read(|c| {
                let t = c.query_opt(
                    sql!("SELECT MAX(started_at) FROM pf_backups WHERE status IN ('ok', 'expired') AND (kind = :1 OR :2 = 'any')"),
                    &args![kind, kind],
                )?;
                Ok(t.map(|r| r.opt_time(0)).transpose()?.flatten())
            })
        };
        let kind = if newest("full")?.is_none_or(|t| t < ago(schedule.full_every).unwrap_or(now)) {
            Some(BackupKind::Full)
        } else if !schedule.incremental_every.is_zero()
            && newest("any")?.is_none_or(|t| t < ago(schedule.incremental_every).unwrap_or(now))
        {
            Some(BackupKind::Incremental)
        } else {
            None
        };
        let expire = AuditEntry { action: "backup.expire".into(), ..audit_entry.clone() };
        let Some(kind) = kind else {
            self.settle_stopped_backups_logged(audit_entry);
            self.expire_backups(schedule.keep_days, &expire)?;
            return Ok(None);
        };
        // Longer than a backup of the largest database takes.
        // Due is what the newest backups say (above), not when the last job ended.
        if !self.write(|c| super::jobs::claim(c, JOB, &self.instance, now + chrono::TimeDelta::hours(6), None))? {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let made = self.create_backup(&schedule.root, kind, audit_entry, go_on).and_then(|b| {
            if b.kind != "full" {
                return Ok(b);
            }
            let verify = AuditEntry { action: "backup.verify".into(), ..audit_entry.clone() };
            verify_and_record(self, Path::new(&b.location), audit_key, &verify)?;
            self.backup(&b.backup_id)
        });
        let expired = made.as_ref().ok().map(|_| self.expire_backups(schedule.keep_days, &expire));
        let millis = started.elapsed().as_millis() as i64;
        let failed = made.as_ref().err().or(expired.as_ref().and_then(|e| e.as_ref().err()));
        let held = self.write(|c| match (&made, go_on()) {
            // Stopped by a shutdown (the backup is recorded failed, its folder gone).
            (Err(_), false) => super::jobs::stopped(c, JOB, &self.instance),
            _ => super::jobs::finish(c, JOB, &self.instance, millis, failed),
        })?;
        super::jobs::warn_unless_held(JOB, held);
        if let Some(Err(e)) = expired {
            return Err(e);
        }
        made.map(Some)
    }

    fn backups(&self, limit: u32) -> AppResult<Vec<Backup>> {
        self.read(|c| {
            c.query_map(
                sql!("SELECT backup_id, kind, location, started_at, finished_at, status, total_bytes, file_count,
                        schema_version, chain_seq, error_text, verified_at, verify_status, verify_note, base_id
                     FROM pf_backups ORDER BY started_at DESC", limit ":1"),
                &args![i64::from(limit)],
                backup_row,
            )
        })
    }

    fn backups_page(&self, limit: u32) -> AppResult<pathfinder::backup::BackupsView> {
        Ok(pathfinder::backup::BackupsView {
            platform_takes_them: self.dialect() == Dialect::Oracle,
            asked_at: chrono::Utc::now(),
            backups: self.backups(limit)?,
        })
    }

    fn record_backup_verification(&self, backup_id: &str, ok: bool, note: &str, audit: &AuditEntry) -> AppResult<()> {
        let row = AuditEntry {
            entity_id: Some(backup_id.to_string()),
            detail: Some(note.to_string()),
            response_status: if ok { 200 } else { 422 },
            ..audit.clone()
        };
        // A backup of another database has no row here; its verification is still audited.
        self.write_audited(&row, |c| {
            c.execute(
                sql!(
                    "UPDATE pf_backups SET verified_at = :1, verify_status = :2, verify_note = :3 WHERE backup_id = :4"
                ),
                &args![
                    Utc::now(),
                    if ok { "ok" } else { "failed" },
                    pathfinder::storage::truncate(note, 1000),
                    backup_id
                ],
            )
        })?;
        Ok(())
    }
}

/// The backup's manifest, or why there is none.
pub fn read_manifest(folder: &Path) -> AppResult<Manifest> {
    let path = folder.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        AppError::invalid(format!("{} holds no {MANIFEST}: it is not a finished backup.", folder.display()))
    })?;
    Manifest::parse(&text).map_err(|e| AppError::invalid(format!("{} is not a backup manifest: {e}", path.display())))
}

impl Manifest {
    /// A manifest's text read, or why it is not one (a sentence). Its files are
    /// inside the backup's folder and its base is a folder beside it: a manifest
    /// that names anything else (`../`, an absolute path, a file no backup holds) is
    /// refused, so a backup copied from elsewhere cannot make `verify` read, or
    /// `restore` write, anything but a database's own files (the `backup_manifest`
    /// fuzz target found paths anywhere).
    pub fn parse(text: &str) -> AppResult<Manifest> {
        let manifest: Manifest = serde_json::from_str(text).map_err(|e| AppError::invalid(format!("{e}.")))?;
        if let Some(f) = manifest.files.iter().find(|f| !backup_file(&f.path)) {
            return Err(AppError::invalid(format!("it names a file outside the backup: {:?}.", f.path)));
        }
        if let Some(base) = manifest.base.as_deref().filter(|b| !plain_name(b)) {
            return Err(AppError::invalid(format!("its base is not a folder beside it: {base:?}.")));
        }
        Ok(manifest)
    }
}

/// Whether `path` names a file a backup holds: the database, a key file, or a set.
fn backup_file(path: &str) -> bool {
    let set = path.strip_prefix(&format!("{SETS_FOLDER}/")).and_then(|f| f.strip_suffix(".db"));
    path == MAIN_FILE || KEY_FILES.contains(&path) || set.is_some_and(|u| Username::parse(u).is_ok())
}

/// Whether `path` is one plain name (no separator, root, `.` or `..`).
fn plain_name(path: &str) -> bool {
    let mut parts = Path::new(path).components();
    matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None))
}

/// Where each of the backup's files goes when `main` is the database file.
fn placed(main: &Path, file: &str) -> PathBuf {
    let beside = main.parent().unwrap_or(Path::new("."));
    match file.strip_prefix(&format!("{SETS_FOLDER}/")) {
        _ if file == MAIN_FILE => main.to_path_buf(),
        Some(set) => sets_folder_of(main).join(set),
        None => beside.join(file),
    }
}

/// Checks every file against the manifest, copies them into `into` as a database
/// at `into/pathfinder.db` would have them, and checks the copy: SQLite's integrity
/// check of every file, the schema against this build's migrations, and the audit
/// chain (with its checkpoints when `audit_key` is given).
fn checked_copy(folder: &Path, into: &Path, audit_key: Option<&[u8]>) -> AppResult<VerifyReport> {
    let manifest = read_manifest(folder)?;
    let fail = |note: String| Ok(VerifyReport { backup_id: manifest.backup_id.clone(), ok: false, note });
    let main = into.join(MAIN_FILE);
    if let Some(problem) = copy_checked(folder, &manifest, &main)? {
        return fail(problem);
    }
    let store = open_without_keys(&main)?;
    let db = store.sqlite().ok_or_else(|| AppError::internal("a SQLite copy opened otherwise"))?;
    for f in &manifest.files {
        if f.path.ends_with(".db") {
            let mut c = db.read_file(&placed(&main, &f.path))?;
            let said = c.query_map(sql!(sqlite: "PRAGMA integrity_check"), &[], |r| r.text(0))?;
            if said != ["ok"] {
                return fail(format!("{} fails SQLite's integrity check: {}.", f.path, said.join("; ")));
            }
        }
    }
    let version = store.schema_version()?;
    if version != manifest.schema_version {
        return fail(format!(
            "The copy is at schema version {version}, the manifest says {}.",
            manifest.schema_version
        ));
    }
    let drift = store.schema_check()?;
    if let Some(first) = drift.first() {
        return fail(format!(
            "The copy's schema differs from the migrations ({} differences; first: {}).",
            drift.len(),
            first.0
        ));
    }
    // A copy is older than any witness: its checkpoints are what vouch for it.
    let trust = pathfinder::witness::ChainTrust { key: audit_key.map(std::sync::Arc::from), witness: None };
    let chain = store.verify_audit_chain(&trust, &mut |_, _| true)?;
    if let Some(problem) = &chain.problem {
        return fail(format!("The copy's audit chain is broken: {problem:?}."));
    }
    if manifest.chain_seq.is_some_and(|seq| chain.last_seq < seq) {
        return fail(format!("The copy's audit chain ends at {}, before the manifest's head.", chain.last_seq));
    }
    Ok(VerifyReport {
        backup_id: manifest.backup_id.clone(),
        ok: true,
        note: format!(
            "{} files match their SHA-256; integrity check ok; schema version {version} matches the migrations; \
             audit chain whole ({} events{}).",
            manifest.files.len(),
            chain.checked,
            if chain.checkpoints_checked {
                format!(", {} signed checkpoints", chain.checkpoints)
            } else {
                String::new()
            }
        ),
    })
}

/// Verifies the backup in `folder` (see [`verify_backup`]) and records the outcome
/// on its row, audited with `audit`.
pub fn verify_and_record(
    s: &dyn BackupStore,
    folder: &Path,
    audit_key: Option<&[u8]>,
    audit: &AuditEntry,
) -> AppResult<VerifyReport> {
    let report = verify_backup(folder, audit_key)?;
    s.record_backup_verification(&report.backup_id, report.ok, &report.note, audit)?;
    Ok(report)
}

/// Restores the backup in a temporary folder and checks it there (see [`checked_copy`]).
pub fn verify_backup(folder: &Path, audit_key: Option<&[u8]>) -> AppResult<VerifyReport> {
    let temp = tempfile::tempdir().map_err(AppError::internal)?;
    checked_copy(folder, temp.path(), audit_key)
}

/// Restores the backup so that `to` is its database file: verified first in a
/// temporary folder beside `to`, then copied beside it and moved into place. Refuses a
/// `to` (or key file beside it) that exists, unless `overwrite`: then what was there
/// is moved into `<to>.before-restore-<time>/`, never deleted.
pub fn restore_backup(folder: &Path, to: &Path, overwrite: bool, audit_key: Option<&[u8]>) -> AppResult<VerifyReport> {
    let manifest = read_manifest(folder)?;
    let targets: Vec<PathBuf> = manifest.files.iter().map(|f| placed(to, &f.path)).collect();
    let occupied: Vec<&PathBuf> = targets.iter().filter(|t| t.exists()).collect();
    if !occupied.is_empty() && !overwrite {
        return Err(AppError::Conflict(format!(
            "{} exists: restore does not overwrite a database (or its keys) without --overwrite (stop every console \
             using it first). Nothing was changed.",
            occupied[0].display()
        )));
    }
    let beside = to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(beside).map_err(io("create", beside))?;
    let temp = |prefix| tempfile::Builder::new().prefix(prefix).tempdir_in(beside).map_err(AppError::internal);
    // The checks open (and may touch) their copy: the files put in place are another
    // copy, checked against the manifest as it is made, on the same file system as `to`.
    let report = checked_copy(folder, temp(".restore-check-")?.path(), audit_key)?;
    if !report.ok {
        return Err(AppError::invalid(format!(
            "The backup failed verification: {} Nothing was restored.",
            report.note
        )));
    }
    let staging = temp(".restore-")?;
    let staged_main = staging.path().join(MAIN_FILE);
    if let Some(problem) = copy_checked(folder, &manifest, &staged_main)? {
        return Err(AppError::invalid(format!(
            "The backup changed while it was restored: {problem} Nothing was restored."
        )));
    }
    if !occupied.is_empty() {
        let aside = PathBuf::from(format!("{}.before-restore-{}", to.display(), Utc::now().format("%Y%m%dT%H%M%SZ")));
        std::fs::create_dir_all(&aside).map_err(io("create", &aside))?;
        // The database, its log and its keys one by one; its sets' folder whole.
        let sets = sets_folder_of(to);
        let mut old: Vec<PathBuf> =
            occupied.iter().filter(|p| !p.starts_with(&sets)).map(|p| p.to_path_buf()).collect();
        old.extend([log_of(to), PathBuf::from(format!("{}-shm", to.display())), sets]);
        for p in old.iter().filter(|p| p.exists()) {
            let name = p.file_name().unwrap_or_default();
            std::fs::rename(p, aside.join(name)).map_err(io("move aside", p))?;
        }
    }
    // Sets and keys first, the database file last: a crash in between leaves no
    // database at `to` that misses its sets.
    let mut order: Vec<&ManifestFile> = manifest.files.iter().filter(|f| f.path != MAIN_FILE).collect();
    order.extend(manifest.files.iter().filter(|f| f.path == MAIN_FILE));
    for f in order {
        let (from, target) = (placed(&staged_main, &f.path), placed(to, &f.path));
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        std::fs::rename(&from, &target).map_err(io("move", &from))?;
    }
    Ok(report)
}

/// Records a restore in the restored database's own audit log.
pub fn audit_restore(to: &Path, report: &VerifyReport, audit: &AuditEntry) -> AppResult<()> {
    let store = open_without_keys(to)?;
    store.append_audit(&AuditEntry {
        entity_id: Some(report.backup_id.clone()),
        detail: Some(report.note.clone()),
        ..audit.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(path: &str, base: &str) -> String {
        serde_json::json!({
            "format": 1, "backup_id": "b", "kind": "incremental", "base": base,
            "created_at": "2026-12-02T00:00:00Z", "schema_version": 25, "chain_seq": null, "chain_hash": null,
            "files": [{ "path": path, "bytes": 1, "sha256": "00" }],
        })
        .to_string()
    }

    /// Found by the `backup_manifest` fuzz target: a base or a file anywhere was read.
    #[test]
    fn a_manifest_names_files_inside_its_backup_only() {
        assert!(Manifest::parse(&manifest("user-tables/alice.db", "20261201T000000.000Z-full")).is_ok());
        assert!(Manifest::parse(&manifest(MAIN_FILE, "x")).is_ok());
        assert!(Manifest::parse(&manifest(".audit-key", "x")).is_ok());
        for (path, base) in [
            ("sets/alice.db", "x"),
            ("notes.txt", "x"),
            ("user-tables/Not A Name.db", "x"),
            ("user-tables/alice.txt", "x"),
            ("../pathfinder.db", "x"),
            ("/etc/passwd", "x"),
            ("sets/../../x", "x"),
            ("", "x"),
            ("a/b/c", "x"),
            (MAIN_FILE, "../elsewhere"),
            (MAIN_FILE, "a/b"),
            (MAIN_FILE, "/tmp"),
            (MAIN_FILE, ""),
        ] {
            let refused = Manifest::parse(&manifest(path, base)).expect_err(path);
            assert!(matches!(refused, AppError::Invalid(_)), "{path} {base}: {refused}");
        }
    }
}
