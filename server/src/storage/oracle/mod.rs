//! The production backend: Oracle Autonomous Database through the `oracle` crate
//! (ODPI-C; needs Oracle Instant Client at run time). Session pool as the seed's
//! "Connection Pooling" says: min 2, max 10, increment 1, idle timeout 60 s, and a
//! timed wait of 30 s for a connection; every call has a call timeout.
//!
//! Oracle commits around every DDL statement, so schema work (migrations, per-user
//! table sets) is written to be resumed: each step checks what already exists.

mod audit;
mod bulk;
mod schema;
mod sessions;
mod user_tables;
mod users;

use crate::config::OracleUrl;
use crate::metrics;
use oracle::pool::{GetMode, Pool, PoolBuilder};
use oracle::sql_type::ToSql;
use oracle::{Connection, ErrorKind};
use pathfinder::storage::{AuditEntry, PoolStats, Storage};
use pathfinder::{AppError, AppResult};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::migrations::{ORACLE as MIGRATIONS, ORACLE_USER_TABLES as USER_TABLES_TEMPLATE};

const POOL_MIN: u32 = 2;
const POOL_MAX: u32 = 10;
const POOL_INCREMENT: u32 = 1;
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub struct OracleStorage {
    pool: Pool,
    waiters: AtomicU32,
}

impl OracleStorage {
    pub fn connect(url: &OracleUrl) -> AppResult<Self> {
        let pool = PoolBuilder::new(&url.user, &url.password, &url.connect_string)
            .min_connections(POOL_MIN)
            .max_connections(POOL_MAX)
            .connection_increment(POOL_INCREMENT)
            .get_mode(GetMode::TimedWait(ACQUIRE_TIMEOUT))
            .timeout(IDLE_TIMEOUT)
            .and_then(|b| b.build())
            .map_err(|e| match e.dpi_code() {
                Some(1047) => AppError::invalid(
                    "Oracle Instant Client was not found (DPI-1047): install it and put its folder on \
                     LD_LIBRARY_PATH, or use a sqlite: database URL.",
                ),
                _ => map_err(e),
            })?;
        Ok(OracleStorage { pool, waiters: AtomicU32::new(0) })
    }

    fn conn(&self) -> AppResult<Connection> {
        let started = Instant::now();
        self.waiters.fetch_add(1, Ordering::Relaxed);
        let got = self.pool.get();
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        let conn = got.map_err(map_err)?;
        metrics::observe_pool_acquire(started.elapsed());
        conn.set_call_timeout(Some(CALL_TIMEOUT)).map_err(map_err)?;
        Ok(conn)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
        f(&self.conn()?)
    }

    /// Runs `f` in one transaction: commit if it succeeds, roll back if not.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
        let conn = self.conn()?;
        match f(&conn) {
            Ok(out) => {
                conn.commit().map_err(map_err)?;
                Ok(out)
            }
            Err(e) => {
                if let Err(rb) = conn.rollback() {
                    tracing::error!(error = %rb, "rollback failed");
                }
                Err(e)
            }
        }
    }

    fn write_audited<T>(&self, entry: &AuditEntry, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
        self.write(|c| {
            let out = f(c)?;
            audit::insert(c, entry)?;
            Ok(out)
        })
    }
}

impl Storage for OracleStorage {
    fn backend_name(&self) -> &'static str {
        "oracle"
    }

    fn ping(&self) -> AppResult<()> {
        self.read(|c| c.ping().map_err(map_err))
    }

    fn pool_stats(&self) -> PoolStats {
        let open = self.pool.open_count().unwrap_or(0);
        let in_use = self.pool.busy_count().unwrap_or(0);
        PoolStats {
            open,
            in_use,
            idle: open.saturating_sub(in_use),
            max: POOL_MAX,
            waiters: self.waiters.load(Ordering::Relaxed),
        }
    }
}

/// Maps a driver error: ORA-00001 → conflict; pool timeout, lost connection or
/// call timeout → unavailable; the rest → internal (logged with a correlation id).
pub(crate) fn map_err(e: oracle::Error) -> AppError {
    const UNAVAILABLE_ORA: &[i32] = &[
        3113, 3114, 3135, 3136, 12170, 12514, 12541, 12543, 12545, 24459, // lost / refused / pool timeout
        3156,  // call timeout
        54,    // resource busy
    ];
    match e.oci_code() {
        Some(1) => AppError::Conflict("A record with the same key already exists.".into()),
        Some(code) if UNAVAILABLE_ORA.contains(&code) => AppError::unavailable(e),
        _ if e.kind() == ErrorKind::NoDataFound => AppError::NotFound("That record".into()),
        _ if matches!(e.dpi_code(), Some(1010 | 1080)) => AppError::unavailable(e),
        _ => AppError::internal(e),
    }
}

/// Timestamps are bound as `TIMESTAMP` (UTC) values.
pub(crate) fn ts(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    t.naive_utc()
}

pub(crate) fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}

/// Runs a statement and returns the number of rows it changed.
pub(crate) fn exec(c: &Connection, sql: &str, params: &[&dyn ToSql]) -> AppResult<u64> {
    c.execute(sql, params).and_then(|s| s.row_count()).map_err(map_err)
}

/// The first row's value, or `None` when there is no row.
pub(crate) fn optional<T>(r: oracle::Result<T>) -> AppResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == ErrorKind::NoDataFound => Ok(None),
        Err(e) => Err(map_err(e)),
    }
}
