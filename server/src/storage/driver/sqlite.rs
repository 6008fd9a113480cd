//! The embedded default: one SQLite file (WAL, foreign keys on, busy timeout,
//! synchronous FULL) through rusqlite, behind a small pool. Statements go through
//! rusqlite's statement cache.

use super::sqlite_pool::{Pool, PooledConn};
use super::{Conn, Connection, Database, Dialect, Field, Row, Value, Work, TEXT_TIME_FORMAT};
use crate::storage::search::{short_grams, FOLD_FUNCTION};
use pathfinder::storage::PoolStats;
use pathfinder::usage::LogCheckpoint;
use pathfinder::{AppError, AppResult};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ErrorCode, OpenFlags, ToSql};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const POOL_MAX: u32 = 4;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const STATEMENT_CACHE: usize = 64;

/// What `pf_users_search_short` indexes for a user's four fields
/// ([`crate::storage::search::short_grams`]).
pub const SHORT_GRAMS_FUNCTION: &str = "pathfinder_short_grams";

/// The write-ahead log beside a database file: `<file>-wal`.
pub fn log_of(file: &Path) -> PathBuf {
    let mut log = file.as_os_str().to_owned();
    log.push("-wal");
    PathBuf::from(log)
}

/// The folder of the per-user sets beside a main database file:
/// `<file>-user-tables/` (see `storage/user_tables.rs`).
pub fn sets_folder_of(main: &Path) -> PathBuf {
    PathBuf::from(format!("{}-user-tables", main.display()))
}

/// A file's size in bytes; 0 when there is none.
pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

pub struct SqliteDb {
    path: PathBuf,
    pool: Pool,
    /// Writers take turns here rather than in SQLite's busy handler, which sleeps
    /// and retries (up to 100 ms a time): measured, 8 concurrent status changes had a
    /// p95 of 430 ms that way, and a few ms in this queue.
    writer: Mutex<()>,
}

/// How to open another database file (a per-user table set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAccess {
    /// Read-only and without per-connection setup (cheap: pages open one per view).
    ReadOnly,
    /// Create the file (and its folder) if needed.
    Create,
    /// Write it in one transaction with the main database, attached: statements name
    /// the tables of both without a prefix.
    WithMain,
}

/// Turns SQLite's memory statistics off, before its first connection (later, the
/// call is refused and changes nothing). Kept on, every allocation in every
/// connection takes one process-wide mutex: with requests on several threads, the
/// futex calls were the largest system time under the flag evaluation benchmark.
fn without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config before sqlite3_initialize, with the one int this
        // option takes; afterwards it returns SQLITE_MISUSE and does nothing.
        unsafe {
            rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int);
        }
    });
}

impl SqliteDb {
    /// Opens (creating it and its folder if needed) the database file at `path`.
    pub fn open(path: &Path) -> AppResult<Self> {
        without_memory_statistics();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| AppError::invalid(format!("Cannot create the database folder {}: {e}.", dir.display())))?;
        }
        let file = path.to_path_buf();
        let db = SqliteDb {
            path: path.to_path_buf(),
            writer: Mutex::new(()),
            pool: Pool::new(POOL_MAX, ACQUIRE_TIMEOUT, move || {
                let conn = rusqlite::Connection::open_with_flags(
                    &file,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&conn)?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                // 64 MiB of page cache at most per connection (SQLite's default is
                // 2 MiB; taken only as pages are read). With 8 MiB, the audit
                // facets over 90 days (daily counts, hourly edges, the newest 2,000
                // events) no longer fit beside a search's pages and were read again
                // from the OS on every call: 8 → 14 ms after an errors search, up
                // to 30 ms p95 in the benchmark (BENCHMARKS.md, issue 10).
                conn.pragma_update(None, "cache_size", -65536)?;
                Ok(conn)
            }),
        };
        // Open one connection now so that a bad path fails at start, not at first use.
        db.pool.get()?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the write-ahead log into the database file as far as readers let it
    /// (PASSIVE: never waits, and writers go on meanwhile), then, if all of it went,
    /// empties the file (TRUNCATE, without waiting: a reader that came meanwhile
    /// keeps it; our own writers wait for the truncation only). SQLite checkpoints by
    /// itself at commits but never shrinks the file, and a reader holding an old
    /// snapshot keeps every frame written since: `behind` counts them.
    pub fn checkpoint(&self) -> AppResult<LogCheckpoint> {
        let conn = self.pool.get()?;
        let checkpoint = |mode: &str| {
            conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
        };
        let (busy, frames, copied) = checkpoint("PASSIVE").map_err(map_err)?;
        if busy != 0 || frames < 0 {
            // Another connection is checkpointing: it says how far behind the log is.
            return Err(AppError::unavailable("another checkpoint of the write-ahead log was running"));
        }
        if frames > 0 && copied == frames {
            let _turn = self.writer_turn();
            conn.busy_timeout(Duration::ZERO).map_err(map_err)?;
            let truncated = checkpoint("TRUNCATE");
            conn.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
            truncated.map_err(map_err)?;
        }
        Ok(LogCheckpoint { frames, behind: frames - copied, bytes: file_size(&log_of(&self.path)) })
    }

    /// A read-only connection of its own (not the pool's) to the file at `path`.
    pub fn read_file(&self, path: &Path) -> AppResult<Conn<'_>> {
        let c = self.open_file(path, FileAccess::ReadOnly)?;
        c.map(|c| Conn::new(c, Dialect::Sqlite)).ok_or_else(|| AppError::NotFound(path.display().to_string()))
    }

    /// This process's turn to write (taken before a connection, so that waiting
    /// writers never hold connections that readers need).
    fn writer_turn(&self) -> MutexGuard<'_, ()> {
        // The guard protects no data: a panic elsewhere leaves nothing to distrust.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connection to another database file; `None` if it does not exist and
    /// `access` does not create it.
    pub fn open_file(&self, path: &Path, access: FileAccess) -> AppResult<Option<Box<dyn Connection + '_>>> {
        if access != FileAccess::Create && !path.exists() {
            return Ok(None);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(map_io_err)?;
        }
        let flags = match access {
            FileAccess::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
            FileAccess::Create => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            FileAccess::WithMain => OpenFlags::SQLITE_OPEN_READ_WRITE,
        };
        let conn =
            rusqlite::Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(map_err)?;
        let mut turn = None;
        if access != FileAccess::ReadOnly {
            // A rollback journal (no -wal/-shm beside each of thousands of files).
            configure(&conn).map_err(map_err)?;
        }
        if access == FileAccess::WithMain {
            turn = Some(self.writer_turn());
            // The set's file is `main`, so it commits first: a crash between the two
            // commits leaves rows without their audit row, never the other way round.
            conn.execute("ATTACH DATABASE ?1 AS pf_main", [self.path.to_string_lossy()]).map_err(map_err)?;
        }
        Ok(Some(Box::new(SqliteConn { conn: Handle::Own(conn), _turn: turn })))
    }

    /// A fresh in-memory database with the console's settings (what the migrations
    /// build, for `schema-check` to compare with).
    pub fn memory() -> AppResult<Box<dyn Connection>> {
        let conn = rusqlite::Connection::open_in_memory().map_err(map_err)?;
        configure(&conn).map_err(map_err)?;
        Ok(Box::new(SqliteConn { conn: Handle::Own(conn), _turn: None }))
    }
}

/// Settings every connection the console opens gets.
pub fn configure(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.create_scalar_function(
        FOLD_FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(text_of(ctx.get_raw(0)).map(|t| t.to_lowercase())),
    )?;
    conn.create_scalar_function(
        SHORT_GRAMS_FUNCTION,
        4,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let fields: Vec<Option<String>> = (0..4).map(|i| text_of(ctx.get_raw(i))).collect();
            let fields: Vec<Option<&str>> = fields.iter().map(Option::as_deref).collect();
            Ok(short_grams(&fields))
        },
    )?;
    Ok(())
}

/// A function argument as text, as the built-in `lower()` reads it: NULL stays
/// NULL, numbers and blobs (even invalid UTF-8, written by another tool) are text.
fn text_of(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(r) => Some(r.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

impl Database for SqliteDb {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn connect(&self, _work: Work, write: bool) -> AppResult<Box<dyn Connection + '_>> {
        let turn = write.then(|| self.writer_turn());
        let conn = self.pool.get()?;
        Ok(Box::new(SqliteConn { conn: Handle::Pooled(conn), _turn: turn }))
    }

    fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }
}

enum Handle<'a> {
    Pooled(PooledConn<'a>),
    Own(rusqlite::Connection),
}

struct SqliteConn<'a> {
    conn: Handle<'a>,
    _turn: Option<MutexGuard<'a, ()>>,
}

impl SqliteConn<'_> {
    fn conn(&self) -> &rusqlite::Connection {
        match &self.conn {
            Handle::Pooled(c) => c,
            Handle::Own(c) => c,
        }
    }
}

struct Bound<'a>(&'a Value);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as V;
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(V::Null),
            Value::Int(i) => ToSqlOutput::Owned(V::Integer(*i)),
            Value::Real(r) => ToSqlOutput::Owned(V::Real(*r)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Time(t) => ToSqlOutput::Owned(V::Text(t.format(TEXT_TIME_FORMAT).to_string())),
            Value::Date(d) => ToSqlOutput::Owned(V::Text(d.format("%Y-%m-%d").to_string())),
        })
    }
}

/// A row read in place: text is borrowed from SQLite's own buffer.
struct SqliteRow<'a, 'b>(&'a rusqlite::Row<'b>, usize);

impl Row for SqliteRow<'_, '_> {
    fn width(&self) -> usize {
        self.1
    }

    fn field(&self, i: usize) -> AppResult<Field<'_>> {
        Ok(match self.0.get_ref(i).map_err(map_err)? {
            ValueRef::Null => Field::Null,
            ValueRef::Integer(n) => Field::Int(n),
            ValueRef::Real(r) => Field::Real(r),
            ValueRef::Text(t) | ValueRef::Blob(t) => Field::Text(String::from_utf8_lossy(t)),
        })
    }
}

impl Connection for SqliteConn<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> AppResult<u64> {
        let mut stmt = self.conn().prepare_cached(sql).map_err(map_err)?;
        let n = stmt.execute(rusqlite::params_from_iter(params.iter().map(Bound))).map_err(map_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value], each: &mut dyn FnMut(&dyn Row) -> AppResult<()>) -> AppResult<()> {
        let mut stmt = self.conn().prepare_cached(sql).map_err(map_err)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(Bound))).map_err(map_err)?;
        while let Some(r) = rows.next().map_err(map_err)? {
            each(&SqliteRow(r, columns))?;
        }
        Ok(())
    }

    fn insert_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> AppResult<()> {
        let mut stmt = self.conn().prepare_cached(sql).map_err(map_err)?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row.iter().map(Bound))).map_err(map_err)?;
        }
        Ok(())
    }

    fn begin(&mut self) -> AppResult<()> {
        // IMMEDIATE takes the write lock up front, so two writers never deadlock on an upgrade.
        self.conn().execute_batch("BEGIN IMMEDIATE").map_err(map_err)
    }

    fn begin_read(&mut self) -> AppResult<()> {
        // Deferred: the first SELECT takes the snapshot, and no write lock is asked
        // for (a read that took it waited in SQLite's busy handler behind writers:
        // 0.3–1.3 s for a report's page beside 8 readers' audit rows).
        self.conn().execute_batch("BEGIN DEFERRED").map_err(map_err)
    }

    fn commit(&mut self) -> AppResult<()> {
        self.conn().execute_batch("COMMIT").map_err(map_err)
    }

    fn rollback(&mut self) -> AppResult<()> {
        self.conn().execute_batch("ROLLBACK").map_err(map_err)
    }

    fn set_bulk_load(&mut self, on: bool) -> AppResult<()> {
        let c = self.conn();
        if on {
            // WAL keeps the file whole; a power cut may lose the last batches.
            c.pragma_update(None, "synchronous", "NORMAL").map_err(map_err)?;
            // Indexes of a million rows take inserts in random order: a 512 MB page
            // cache keeps them in memory. It stays with the connection (loads run in the CLI).
            c.pragma_update(None, "cache_size", -524_288).map_err(map_err)
        } else {
            c.pragma_update(None, "synchronous", "FULL").map_err(map_err)
        }
    }
}

/// Maps a driver error to the console's error: unique violation → conflict; busy,
/// locked, and a file that cannot be opened or written (a read-only or full disk, an
/// I/O error) → unavailable (503: the operator's to fix, retried after); the rest →
/// internal. Both are logged with a correlation id.
pub fn map_err(e: rusqlite::Error) -> AppError {
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
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure,
        ) => AppError::unavailable(e),
        _ => AppError::internal(e),
    }
}

/// A file or folder beside the database that could not be made: a read-only or full
/// disk, or a folder the console may not write, is the operator's to fix (503),
/// as the same fault met by SQLite is.
pub fn map_io_err(e: std::io::Error) -> AppError {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::PermissionDenied
        | ErrorKind::ReadOnlyFilesystem
        | ErrorKind::StorageFull
        | ErrorKind::QuotaExceeded => AppError::unavailable(e),
        _ => AppError::internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that cannot be written (a read-only disk) is the operator's to fix:
    /// 503, not a bug of ours (500). SQLite's own read-only mode gives the same code.
    #[test]
    fn a_database_that_cannot_be_written_is_unavailable() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY); INSERT INTO t VALUES (1); PRAGMA query_only = 1;")
            .unwrap();
        let refused = c.execute("INSERT INTO t VALUES (2)", []).unwrap_err();
        assert_eq!(refused.sqlite_error_code(), Some(ErrorCode::ReadOnly));
        assert!(matches!(map_err(refused), AppError::Unavailable(_)));
        c.execute_batch("PRAGMA query_only = 0").unwrap();
        let duplicate = c.execute("INSERT INTO t VALUES (1)", []).unwrap_err();
        assert!(matches!(map_err(duplicate), AppError::Conflict(_)));
    }

    /// A read of several statements (a report's page) takes no write lock: it reads
    /// beside another connection's open write, where a transaction (BEGIN IMMEDIATE)
    /// waited in the busy handler for it.
    #[test]
    fn a_snapshot_reads_beside_an_open_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.db");
        let db = SqliteDb::open(&path).unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1); BEGIN IMMEDIATE;").unwrap();
        other.execute_batch("INSERT INTO t VALUES (2)").unwrap();
        let mut c = Conn::new(db.open_file(&path, FileAccess::Create).unwrap().unwrap(), Dialect::Sqlite);
        let started = std::time::Instant::now();
        let seen = c
            .snapshot(|c| Ok((c.query_int("SELECT COUNT(*) FROM t", &[])?, c.query_int("SELECT MAX(x) FROM t", &[])?)));
        assert_eq!(seen.unwrap(), (1, 1), "the state before the other's commit");
        assert!(started.elapsed() < Duration::from_secs(1), "no wait for the writer");
        other.execute_batch("COMMIT").unwrap();
    }

    /// The same for the files beside it: a full disk or a user's exhausted quota
    /// (EDQUOT) is 503, like a read-only folder; anything else stays a bug of ours.
    #[test]
    fn a_file_that_cannot_be_made_for_lack_of_room_is_unavailable() {
        for errno in [libc::EROFS, libc::EACCES, libc::ENOSPC, libc::EDQUOT] {
            let e = std::io::Error::from_raw_os_error(errno);
            assert!(matches!(map_io_err(e), AppError::Unavailable(_)), "errno {errno}");
        }
        let e = std::io::Error::from_raw_os_error(libc::EINVAL);
        assert!(matches!(map_io_err(e), AppError::Internal(_)));
    }
}
