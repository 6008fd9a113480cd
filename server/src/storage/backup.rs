//! Backups of the embedded database (SQLite); on Oracle the platform takes them.
//!
//! A backup is a folder `<root>/<UTC time>-full/`: `pathfinder.db` and
//! `user-tables/<username>.db`, each written by `VACUUM INTO` (a consistent copy of
//! its file, compacted), the key files kept beside the database (without them the
//! copy's encrypted fields and checkpoints could not be read), and `manifest.json`,
//! written last: each file's size and SHA-256, the schema version and the audit
//! chain's head. Verifying restores the files into a temporary folder and checks
//! them there; restoring verifies first and only then puts the files in place.

use super::driver::sqlite::{log_of, sets_folder_of, SqliteDb};
use super::driver::{ReadRow, Row};
use super::migrations::{failure_audit, intent_audit};
use super::{Backend, Store};
use crate::{args, sql};
use chrono::Utc;
use pathfinder::backup::Backup;
use pathfinder::dto::Timestamp;
use pathfinder::storage::{AuditEntry, AuditStore, BackupStore, SchemaStore};
use pathfinder::{new_id, AppError, AppResult, Username};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
const MAIN_FILE: &str = "pathfinder.db";
const SETS_FOLDER: &str = "user-tables";
/// The secrets the embedded default keeps beside its database.
const KEY_FILES: [&str; 4] = [".master-key", ".master-key.previous", ".audit-key", ".jwt-secret"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub backup_id: String,
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
        let path = folder.join(&f.path);
        if !path.exists() {
            return Ok(Some(format!("{} is missing.", f.path)));
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
    })
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
                        schema_version, chain_seq, error_text, verified_at, verify_status, verify_note
                     FROM pf_backups WHERE backup_id = :1"
                ),
                &args![id],
                backup_row,
            )
        })?;
        rows.into_iter().next().ok_or_else(|| AppError::NotFound("The backup".into()))
    }

    /// Copies the database, its sets and its keys into `folder` and writes the
    /// manifest last.
    fn copy_into(&self, db: &SqliteDb, folder: &Path, id: &str) -> AppResult<Manifest> {
        std::fs::create_dir_all(folder.join(SETS_FOLDER)).map_err(io("create", folder))?;
        let main = folder.join(MAIN_FILE);
        vacuum_into(db, db.path(), &main)?;
        // The sets the copy's registry names: the copy and its sets agree.
        let copy = &mut db.read_file(&main)?;
        let usernames = copy.query_map(sql!(sqlite: "SELECT username FROM pf_user_table_sets"), &[], |r| r.text(0))?;
        let schema_version = copy.query_int(sql!(sqlite: "SELECT MAX(version) FROM pf_schema_version"), &[])?;
        let head = copy.query_opt(sql!(sqlite: "SELECT last_seq, last_hash FROM pf_audit_chain_head"), &[])?;
        let (chain_seq, chain_hash) = match head {
            Some(r) => (r.opt_int(0)?, r.opt_text(1)?),
            None => (None, None),
        };
        let mut files = vec![MAIN_FILE.to_string()];
        for u in usernames {
            let Some(src) = Username::parse(&u).ok().and_then(|name| self.user_tables_file(&name)) else { continue };
            if src.exists() {
                let path = format!("{SETS_FOLDER}/{u}.db");
                vacuum_into(db, &src, &folder.join(&path))?;
                files.push(path);
            }
        }
        let beside = db.path().parent().unwrap_or(Path::new("."));
        for key in KEY_FILES.iter().filter(|k| beside.join(k).exists()) {
            std::fs::copy(beside.join(key), folder.join(key)).map_err(io("copy", &beside.join(key)))?;
            files.push(key.to_string());
        }
        let files = files
            .into_iter()
            .map(|path| {
                let (bytes, sha256) = sha256_of(&folder.join(&path))?;
                Ok(ManifestFile { path, bytes, sha256 })
            })
            .collect::<AppResult<Vec<_>>>()?;
        let manifest = Manifest {
            format: 1,
            backup_id: id.to_string(),
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
}

impl BackupStore for Store {
    fn create_backup(&self, root: &Path, audit_entry: &AuditEntry) -> AppResult<Backup> {
        let db = match &self.db {
            Backend::Sqlite(db) => db,
            #[cfg(feature = "oracle")]
            Backend::Oracle(_) => return Err(oracle_refusal()),
        };
        let (id, now) = (new_id(), Utc::now());
        let folder = root.join(format!("{}-full", now.format("%Y%m%dT%H%M%SZ")));
        if folder.exists() {
            return Err(AppError::Conflict(format!("{} already exists; try again in a second.", folder.display())));
        }
        let audit_entry = AuditEntry { entity_id: Some(id.clone()), ..audit_entry.clone() };
        // 1. The intent, or nothing.
        self.write_audited(&intent_audit(&audit_entry), |c| {
            c.execute(
                sql!(
                    "INSERT INTO pf_backups (backup_id, kind, location, started_at, status)
                     VALUES (:1, 'full', :2, :3, 'running')"
                ),
                &args![id.as_str(), folder.to_string_lossy().as_ref(), now],
            )
        })?;
        // 2. The copy; a failed one leaves no folder.
        let started = std::time::Instant::now();
        let made = self.copy_into(db, &folder, &id);
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&folder);
        }
        // 3. The outcome, with its audit row.
        let millis = started.elapsed().as_millis() as u64;
        let total = |m: &Manifest| m.files.iter().map(|f| f.bytes as i64).sum::<i64>();
        let row = match &made {
            Ok(m) => AuditEntry {
                execution_time_ms: millis,
                error_message: Some(format!("{} files, {} bytes", m.files.len(), total(m))),
                ..audit_entry.clone()
            },
            Err(e) => failure_audit(&audit_entry, e),
        };
        self.write_audited(&row, |c| match &made {
            Ok(m) => c.execute(
                sql!(
                    "UPDATE pf_backups SET finished_at = :1, status = 'ok', total_bytes = :2, file_count = :3,
                        schema_version = :4, chain_seq = :5 WHERE backup_id = :6"
                ),
                &args![Utc::now(), total(m), m.files.len() as i64, m.schema_version, m.chain_seq, id.as_str()],
            ),
            Err(e) => c.execute(
                sql!("UPDATE pf_backups SET finished_at = :1, status = 'failed', error_text = :2 WHERE backup_id = :3"),
                &args![Utc::now(), pathfinder::storage::truncate(&e.to_string(), 500), id.as_str()],
            ),
        })?;
        made?;
        self.backup(&id)
    }

    fn backups(&self, limit: u32) -> AppResult<Vec<Backup>> {
        self.read(|c| {
            c.query_map(
                sql!(
                    sqlite: "SELECT backup_id, kind, location, started_at, finished_at, status, total_bytes, file_count,
                        schema_version, chain_seq, error_text, verified_at, verify_status, verify_note
                     FROM pf_backups ORDER BY started_at DESC LIMIT :1",
                    oracle: "SELECT backup_id, kind, location, started_at, finished_at, status, total_bytes, file_count,
                        schema_version, chain_seq, error_text, verified_at, verify_status, verify_note
                     FROM pf_backups ORDER BY started_at DESC FETCH FIRST :1 ROWS ONLY"
                ),
                &args![i64::from(limit)],
                backup_row,
            )
        })
    }

    fn record_backup_verification(&self, backup_id: &str, ok: bool, note: &str, audit: &AuditEntry) -> AppResult<()> {
        let row = AuditEntry {
            entity_id: Some(backup_id.to_string()),
            error_message: Some(note.to_string()),
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
    serde_json::from_str(&text)
        .map_err(|e| AppError::invalid(format!("{} is not a backup manifest: {e}.", path.display())))
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
    let store = Store::open_sqlite(&main)?;
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
    let chain = store.verify_audit_chain(audit_key, &mut |_, _| true)?;
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
    let store = Store::open_sqlite(to)?;
    store.append_audit(&AuditEntry {
        entity_id: Some(report.backup_id.clone()),
        error_message: Some(report.note.clone()),
        ..audit.clone()
    })
}
