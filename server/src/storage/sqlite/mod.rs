//! The embedded default backend: one SQLite file (WAL, foreign keys on, busy
//! timeout, synchronous FULL) behind a small pool. One file per capability.

mod audit;
mod bulk;
mod pool;
mod schema;
mod sessions;
mod user_tables;
mod users;

use pathfinder::storage::{AuditEntry, PoolStats, Storage};
use pathfinder::{AppError, AppResult};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use pool::Pool;

use super::migrations::{SQLITE as MIGRATIONS, SQLITE_USER_TABLES as USER_TABLES_TEMPLATE};

const POOL_MAX: u32 = 4;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStorage {
    pool: Pool,
    /// Where per-user table sets live, one file each (see `user_tables.rs`).
    user_tables_dir: PathBuf,
    /// Writers take turns here rather than in SQLite's busy handler, which sleeps
    /// and retries (up to 100 ms a time): measured, 8 concurrent status changes had a
    /// p95 of 430 ms that way, and a few ms in this queue.
    writer: Mutex<()>,
}

impl SqliteStorage {
    /// Opens (creating it and its folder if needed) the database file at `path`.
    pub fn open(path: &Path) -> AppResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| AppError::invalid(format!("Cannot create the database folder {}: {e}.", dir.display())))?;
        }
        let user_tables_dir = PathBuf::from(format!("{}-user-tables", path.display()));
        let path: PathBuf = path.to_path_buf();
        let storage = SqliteStorage {
            user_tables_dir,
            writer: Mutex::new(()),
            pool: Pool::new(POOL_MAX, ACQUIRE_TIMEOUT, move || {
                let conn = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&conn)?;
                Ok(conn)
            }),
        };
        // Open one connection now so that a bad path fails at start, not at first use.
        storage.pool.get()?;
        Ok(storage)
    }

    /// Runs `f` in one IMMEDIATE transaction (takes the write lock up front, so two
    /// writers never deadlock on an upgrade) and commits only if `f` succeeds.
    fn write<T>(&self, f: impl FnOnce(&Transaction) -> AppResult<T>) -> AppResult<T> {
        let _turn = self.writer_turn();
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(map_err)?;
        let out = f(&tx)?;
        tx.commit().map_err(map_err)?;
        Ok(out)
    }

    /// This process's turn to write (taken before a connection, so that waiting
    /// writers never hold connections that readers need).
    fn writer_turn(&self) -> MutexGuard<'_, ()> {
        // The guard protects no data: a panic elsewhere leaves nothing to distrust.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs a read with a pooled connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
        let conn = self.pool.get()?;
        f(&conn)
    }

    /// Runs `f` and an audit row in one transaction.
    fn write_audited<T>(&self, audit: &AuditEntry, f: impl FnOnce(&Transaction) -> AppResult<T>) -> AppResult<T> {
        self.write(|tx| {
            let out = f(tx)?;
            audit::insert(tx, audit)?;
            Ok(out)
        })
    }
}

pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // SQLite's own LOWER folds ASCII only; Oracle's folds all of Unicode. Every
    // connection replaces it, so searches and sort keys agree between the backends
    // (and the LOWER(...) index expressions are always computed the same way).
    conn.create_scalar_function("lower", 1, FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
        // Like the built-in: NULL stays NULL, numbers and blobs are read as text.
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            ValueRef::Integer(i) => Some(i.to_string()),
            ValueRef::Real(r) => Some(r.to_string()),
            ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).to_lowercase()),
        })
    })?;
    Ok(())
}

impl Storage for SqliteStorage {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn ping(&self) -> AppResult<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(map_err))
    }

    fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }
}

/// Maps a driver error to the console's error: unique violation → conflict,
/// busy or locked → unavailable, the rest → internal (logged with a correlation id).
pub(crate) fn map_err(e: rusqlite::Error) -> AppError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                AppError::Conflict("A record with the same key already exists.".into())
            }
            _ => AppError::internal(e),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen) => AppError::unavailable(e),
        _ => AppError::internal(e),
    }
}

/// The values of a generated statement ([`crate::storage::sql::Bind`]) as SQLite values.
pub fn bind_values(binds: Vec<crate::storage::sql::Bind>) -> Vec<rusqlite::types::Value> {
    use crate::storage::sql::Bind;
    use rusqlite::types::Value;
    binds
        .into_iter()
        .map(|b| match b {
            Bind::Text(t) => Value::Text(t),
            Bind::Int(i) => Value::Integer(i),
        })
        .collect()
}

/// Timestamps are stored as UTC text that sorts in time order and matches the
/// format of SQLite's own CURRENT_TIMESTAMP default.
pub(crate) fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

pub(crate) fn parse_ts(s: &str) -> AppResult<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .map(|n| n.and_utc())
        .map_err(|e| AppError::internal(format!("bad timestamp '{s}' in database: {e}")))
}

pub(crate) fn parse_opt_ts(s: Option<String>) -> AppResult<Option<chrono::DateTime<chrono::Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}
