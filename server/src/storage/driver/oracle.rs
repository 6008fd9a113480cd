//! Production: Oracle Autonomous Database through the `oracle` crate (ODPI-C; needs
//! Oracle Instant Client at run time). Session pool as the seed's "Connection
//! Pooling" says (min 2, max 10, increment 1, idle timeout 60 s, a timed wait of
//! 30 s for a connection); statements go through ODPI-C's statement cache.
//!
//! Every new session gets binary sorting and comparison (keyset paging compares
//! with `>`, which must agree with `ORDER BY`) and UTC as its time zone (the seed's
//! `DEFAULT CURRENT_TIMESTAMP` is in the session's zone).

use super::{Connection, Database, Dialect, Field, Row, Value, Work};
use crate::metrics;
use crate::sql;
use oracle::pool::{GetMode, Pool, PoolBuilder};
use oracle::sql_type::{OracleType, ToSql};
use oracle::ErrorKind;
use pathfinder::storage::PoolStats;
use pathfinder::{AppError, AppResult};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const POOL_MIN: u32 = 2;
const POOL_MAX: u32 = 10;
const POOL_INCREMENT: u32 = 1;
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Calls on the request path; maintenance runs without a limit.
const REQUEST_CALL_TIMEOUT: Duration = Duration::from_secs(30);
const STATEMENT_CACHE: u32 = 64;

pub struct OracleDb {
    pool: Pool,
    waiters: AtomicU32,
}

impl OracleDb {
    pub fn connect(user: &str, password: &str, connect_string: &str) -> AppResult<Self> {
        let pool = PoolBuilder::new(user, password, connect_string)
            .min_connections(POOL_MIN)
            .max_connections(POOL_MAX)
            .connection_increment(POOL_INCREMENT)
            .get_mode(GetMode::TimedWait(ACQUIRE_TIMEOUT))
            .stmt_cache_size(STATEMENT_CACHE)
            .timeout(IDLE_TIMEOUT)
            .and_then(|b| b.build())
            .map_err(|e| match e.dpi_code() {
                Some(1047) => AppError::invalid(
                    "Oracle Instant Client was not found (DPI-1047): install it and put its folder on \
                     LD_LIBRARY_PATH, or use a sqlite: database URL.",
                ),
                _ => map_err(e),
            })?;
        Ok(OracleDb { pool, waiters: AtomicU32::new(0) })
    }
}

impl Database for OracleDb {
    fn dialect(&self) -> Dialect {
        Dialect::Oracle
    }

    fn connect(&self, work: Work, _write: bool) -> AppResult<Box<dyn Connection + '_>> {
        let started = Instant::now();
        self.waiters.fetch_add(1, Ordering::Relaxed);
        let got = self.pool.get();
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        if got.is_err() && started.elapsed() >= ACQUIRE_TIMEOUT {
            metrics::count_pool_timeout();
        }
        let conn = got.map_err(map_err)?;
        metrics::observe_pool_acquire(started.elapsed());
        if conn.is_new_connection() {
            let session = sql!(oracle: "ALTER SESSION SET NLS_SORT = BINARY NLS_COMP = BINARY TIME_ZONE = '+00:00'");
            conn.execute(session.oracle.unwrap_or_default(), &[]).map_err(map_err)?;
        }
        let limit = match work {
            Work::Request => Some(REQUEST_CALL_TIMEOUT),
            Work::Maintenance => None,
        };
        conn.set_call_timeout(limit).map_err(map_err)?;
        Ok(Box::new(OracleConn(conn, Instant::now())))
    }

    fn pool_stats(&self) -> PoolStats {
        let open = self.pool.open_count().unwrap_or(0);
        let in_use = self.pool.busy_count().unwrap_or(0);
        PoolStats {
            open,
            in_use,
            idle: open.saturating_sub(in_use),
            max: POOL_MAX,
            min: POOL_MIN,
            waiters: self.waiters.load(Ordering::Relaxed),
        }
    }
}

/// A pooled connection and when it was taken (its usage time is observed when it
/// goes back).
struct OracleConn(oracle::Connection, Instant);

impl Drop for OracleConn {
    fn drop(&mut self) {
        metrics::observe_pool_usage(self.1.elapsed());
    }
}

fn bind(v: &Value) -> Box<dyn ToSql + '_> {
    match v {
        Value::Null => Box::new(Option::<String>::None),
        Value::Int(i) => Box::new(*i),
        Value::Real(r) => Box::new(*r),
        Value::Text(s) => Box::new(s.as_str()),
        Value::Time(t) => Box::new(t.naive_utc()),
        Value::Date(d) => Box::new(*d),
    }
}

/// A fetched row, read in place.
struct OracleRow<'a>(&'a oracle::Row);

impl Row for OracleRow<'_> {
    fn width(&self) -> usize {
        self.0.sql_values().len()
    }

    fn field(&self, i: usize) -> AppResult<Field<'_>> {
        let v = self.0.sql_values().get(i).ok_or_else(|| AppError::internal(format!("a row has no column {i}")))?;
        read(v).map_err(map_err)
    }
}

/// A column's value as the console reads it.
fn read(v: &oracle::SqlValue) -> oracle::Result<Field<'static>> {
    if v.is_null()? {
        return Ok(Field::Null);
    }
    Ok(match v.oracle_type()? {
        OracleType::Number(_, scale) if *scale <= 0 => match v.get::<i64>() {
            Ok(i) => Field::Int(i),
            Err(_) => Field::Real(v.get()?),
        },
        OracleType::Number(..) | OracleType::Float(_) | OracleType::BinaryDouble | OracleType::BinaryFloat => {
            Field::Real(v.get()?)
        }
        OracleType::Date | OracleType::Timestamp(_) => Field::Time(v.get::<chrono::NaiveDateTime>()?.and_utc()),
        OracleType::TimestampTZ(_) | OracleType::TimestampLTZ(_) => {
            Field::Time(v.get::<chrono::DateTime<chrono::Utc>>()?)
        }
        _ => Field::Text(Cow::Owned(v.get()?)),
    })
}

/// The bind type of column `i` for array DML: from its first non-NULL value (one
/// type per column for every row).
fn column_type(rows: &[Vec<Value>], i: usize) -> OracleType {
    match rows.iter().map(|r| &r[i]).find(|v| **v != Value::Null) {
        Some(Value::Int(_)) => OracleType::Int64,
        Some(Value::Real(_)) => OracleType::BinaryDouble,
        Some(Value::Time(_)) => OracleType::Timestamp(6),
        Some(Value::Date(_)) => OracleType::Date,
        Some(Value::Text(_)) => {
            let longest = rows.iter().filter_map(|r| match &r[i] {
                Value::Text(s) => Some(s.len()),
                _ => None,
            });
            OracleType::Varchar2(longest.max().unwrap_or(1).max(1) as u32)
        }
        Some(Value::Null) | None => OracleType::Varchar2(1),
    }
}

impl Connection for OracleConn {
    fn execute(&mut self, sql: &str, params: &[Value]) -> AppResult<u64> {
        let values: Vec<Box<dyn ToSql + '_>> = params.iter().map(bind).collect();
        let refs: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let mut stmt = self.0.statement(sql).build().map_err(map_err)?;
        stmt.execute(&refs).map_err(map_err)?;
        stmt.row_count().map_err(map_err)
    }

    fn query(&mut self, sql: &str, params: &[Value], each: &mut dyn FnMut(&dyn Row) -> AppResult<()>) -> AppResult<()> {
        let values: Vec<Box<dyn ToSql + '_>> = params.iter().map(bind).collect();
        let refs: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let mut stmt = self.0.statement(sql).build().map_err(map_err)?;
        for row in stmt.query(&refs).map_err(map_err)? {
            each(&OracleRow(&row.map_err(map_err)?))?;
        }
        Ok(())
    }

    fn insert_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> AppResult<()> {
        let Some(first) = rows.first() else { return Ok(()) };
        let mut batch = self.0.batch(sql, rows.len()).build().map_err(map_err)?;
        for i in 0..first.len() {
            batch.set_type(i + 1, &column_type(rows, i)).map_err(map_err)?;
        }
        for row in rows {
            let values: Vec<Box<dyn ToSql + '_>> = row.iter().map(bind).collect();
            let refs: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
            batch.append_row(&refs).map_err(map_err)?;
        }
        batch.execute().map_err(map_err)
    }

    fn begin(&mut self) -> AppResult<()> {
        Ok(()) // Oracle starts a transaction with the first change.
    }

    fn commit(&mut self) -> AppResult<()> {
        self.0.commit().map_err(map_err)
    }

    fn rollback(&mut self) -> AppResult<()> {
        self.0.rollback().map_err(map_err)
    }
}

/// Maps a driver error: ORA-00001 → conflict; pool timeout, lost connection or
/// call timeout → unavailable; the rest → internal (logged with a correlation id).
pub fn map_err(e: oracle::Error) -> AppError {
    const UNAVAILABLE_ORA: &[i32] = &[
        3113, 3114, 3135, 3136, 12170, 12514, 12541, 12543, 12545, 24459, // lost / refused / pool timeout
        3156,  // call timeout
        54,    // resource busy
        20900, // another instance holds the migration lock (see schema.rs)
    ];
    match e.oci_code() {
        Some(1) => AppError::Conflict("A record with the same key already exists.".into()),
        Some(code) if UNAVAILABLE_ORA.contains(&code) => AppError::unavailable(e),
        _ if e.kind() == ErrorKind::NoDataFound => AppError::NotFound("That record".into()),
        _ if matches!(e.dpi_code(), Some(1010 | 1080)) => AppError::unavailable(e),
        _ => AppError::internal(e),
    }
}
