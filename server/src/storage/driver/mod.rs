//! The interface both database drivers implement, and nothing more: run a statement,
//! read rows in place ([`Row`], [`ReadRow`]), insert many rows, transactions, pooled
//! connections. The
//! drivers map their own errors to [`AppError`] and keep their own statement caches;
//! they know no capability. Every storage operation is written once, over [`Conn`].

pub mod share;
pub mod sqlite;
mod sqlite_pool;

#[cfg(feature = "oracle")]
pub mod oracle;

pub use super::sql::Dialect;
use super::sql::SqlText;
use pathfinder::dto::Timestamp;
use pathfinder::storage::PoolStats;
pub use pathfinder::storage::Value;
use pathfinder::{AppError, AppResult};
use std::borrow::Cow;

/// How long a call may run. Oracle gives each call on the request path a short
/// timeout; maintenance (migrations, index builds, refreshes, statistics, loads)
/// runs without one. SQLite has no call timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Request,
    Maintenance,
}

/// One connection, as a driver offers it.
pub trait Connection {
    /// Runs one statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> AppResult<u64>;
    /// Runs a query and hands each row to `each`, in order.
    fn query(&mut self, sql: &str, params: &[Value], each: &mut dyn FnMut(&dyn Row) -> AppResult<()>) -> AppResult<()>;
    /// Runs one INSERT for every row (Oracle: one round trip with array binds).
    fn insert_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> AppResult<()>;
    /// Starts a transaction (SQLite takes the write lock now; Oracle starts one implicitly).
    fn begin(&mut self) -> AppResult<()>;
    /// Starts a read of several statements that see one state of the database
    /// (SQLite: a deferred transaction, which takes no write lock; Oracle reads each
    /// statement consistently and needs nothing).
    fn begin_read(&mut self) -> AppResult<()> {
        Ok(())
    }
    fn commit(&mut self) -> AppResult<()>;
    fn rollback(&mut self) -> AppResult<()>;
    /// Trades durability of the last commits for speed while a bulk load runs (SQLite);
    /// a crash loses whole batches, never half of one.
    fn set_bulk_load(&mut self, _on: bool) -> AppResult<()> {
        Ok(())
    }
}

/// A pool of connections to one database.
pub trait Database: Send + Sync {
    fn dialect(&self) -> Dialect;
    /// A pooled connection. `write` first waits for this process's turn to write
    /// (SQLite has one writer at a time; Oracle ignores it).
    fn connect(&self, work: Work, write: bool) -> AppResult<Box<dyn Connection + '_>>;
    fn pool_stats(&self) -> PoolStats;
}

/// A connection with the conveniences every capability uses. Statements come from
/// [`sql!`](crate::sql) (each dialect's text) or a generator (already in the dialect).
pub struct Conn<'a> {
    inner: Box<dyn Connection + 'a>,
    dialect: Dialect,
    /// Long work's turn (`share.rs`), given back with the connection.
    _turn: Option<share::Turn>,
}

impl<'a> Conn<'a> {
    pub fn new(inner: Box<dyn Connection + 'a>, dialect: Dialect) -> Self {
        Conn { inner, dialect, _turn: None }
    }

    /// This connection, holding `turn` until it goes back to the pool.
    pub fn holding(self, turn: Option<share::Turn>) -> Self {
        Conn { _turn: turn, ..self }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn execute(&mut self, sql: impl SqlText, params: &[Value]) -> AppResult<u64> {
        let text = sql.text(self.dialect)?;
        self.inner.execute(text, &absent_if_empty(params))
    }

    /// Runs a query and hands each row, read in place, to `each`.
    pub fn query_each(
        &mut self,
        sql: impl SqlText,
        params: &[Value],
        mut each: impl FnMut(&dyn Row) -> AppResult<()>,
    ) -> AppResult<()> {
        let text = sql.text(self.dialect)?;
        self.inner.query(text, &absent_if_empty(params), &mut each)
    }

    /// Runs a query and maps each row with `f`.
    pub fn query_map<T>(
        &mut self,
        sql: impl SqlText,
        params: &[Value],
        mut f: impl FnMut(&dyn Row) -> AppResult<T>,
    ) -> AppResult<Vec<T>> {
        let mut out = Vec::new();
        self.query_each(sql, params, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Every row, kept.
    pub fn query(&mut self, sql: impl SqlText, params: &[Value]) -> AppResult<Vec<Values>> {
        self.query_map(sql, params, |r| {
            (0..r.width()).map(|i| Ok(r.field(i)?.into_value())).collect::<AppResult<Vec<_>>>().map(Values)
        })
    }

    /// The first row, if any.
    pub fn query_opt(&mut self, sql: impl SqlText, params: &[Value]) -> AppResult<Option<Values>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first column of the first row, as a number (counts, versions).
    pub fn query_int(&mut self, sql: impl SqlText, params: &[Value]) -> AppResult<i64> {
        let mut n = None;
        self.query_each(sql, params, |r| {
            n = n.or(Some(r.int(0)?));
            Ok(())
        })?;
        n.ok_or_else(|| AppError::internal("a query for one number returned no row"))
    }

    pub fn insert_many(&mut self, sql: impl SqlText, rows: &[Vec<Value>]) -> AppResult<()> {
        let text = sql.text(self.dialect)?;
        // A copy only of a batch that holds empty text (a load seldom does).
        if rows.iter().any(|r| has_empty_text(r)) {
            let rows: Vec<Vec<Value>> = rows.iter().map(|r| absent_if_empty(r).into_owned()).collect();
            return self.inner.insert_many(text, &rows);
        }
        self.inner.insert_many(text, rows)
    }

    pub fn set_bulk_load(&mut self, on: bool) -> AppResult<()> {
        self.inner.set_bulk_load(on)
    }

    /// Runs the reads of `f` on one state of the database (see
    /// [`Connection::begin_read`]); it writes nothing, so it takes no write lock.
    pub fn snapshot<T>(&mut self, f: impl FnOnce(&mut Conn<'a>) -> AppResult<T>) -> AppResult<T> {
        self.inner.begin_read()?;
        let out = f(self);
        // Ends the read either way: nothing was written, so nothing is lost.
        let ended = self.inner.rollback();
        let out = out?;
        ended?;
        Ok(out)
    }

    /// Runs `f` in one transaction: committed if it succeeds, rolled back if not.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Conn<'a>) -> AppResult<T>) -> AppResult<T> {
        self.inner.begin()?;
        match f(self) {
            Ok(out) => {
                self.inner.commit()?;
                Ok(out)
            }
            Err(e) => {
                if let Err(rb) = self.inner.rollback() {
                    tracing::error!(error = %rb, "rollback failed");
                }
                Err(e)
            }
        }
    }
}

/// The one place empty text becomes absent: Oracle stores `''` as NULL, so SQLite
/// must never see it either.
fn absent_if_empty(params: &[Value]) -> Cow<'_, [Value]> {
    if has_empty_text(params) {
        Cow::Owned(
            params
                .iter()
                .map(|v| match v {
                    Value::Text(t) if t.is_empty() => Value::Null,
                    other => other.clone(),
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(params)
    }
}

fn has_empty_text(params: &[Value]) -> bool {
    params.iter().any(|v| matches!(v, Value::Text(t) if t.is_empty()))
}

/// `args![a, b, c]`: statement parameters, each converted into a [`Value`].
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { [$($crate::storage::driver::Value::from($v)),*] };
}

/// SQLite keeps timestamps as UTC text in this form (which sorts in time order and
/// matches its own `CURRENT_TIMESTAMP`); rows bring them back as text.
pub const TEXT_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// The start of year 1: before any time either backend keeps (a keyset's start).
pub fn earliest_time() -> Timestamp {
    chrono::NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default().and_time(Default::default()).and_utc()
}

/// One column of a row as the driver holds it, borrowed where it can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(Cow<'a, str>),
    Time(Timestamp),
    Date(chrono::NaiveDate),
}

/// A result row: each driver reads its own row type in place (no copy of the row);
/// [`ReadRow`] turns fields into the console's types.
pub trait Row {
    /// How many columns the row has.
    fn width(&self) -> usize;
    fn field(&self, i: usize) -> AppResult<Field<'_>>;
}

/// A row kept after its query: what [`Conn::query`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Values(pub Vec<Value>);

impl Row for Values {
    fn width(&self) -> usize {
        self.0.len()
    }

    fn field(&self, i: usize) -> AppResult<Field<'_>> {
        Ok(match self.0.get(i).ok_or_else(|| AppError::internal(format!("a row has no column {i}")))? {
            Value::Null => Field::Null,
            Value::Int(n) => Field::Int(*n),
            Value::Real(r) => Field::Real(*r),
            Value::Text(t) => Field::Text(Cow::Borrowed(t)),
            Value::Time(t) => Field::Time(*t),
            Value::Date(d) => Field::Date(*d),
        })
    }
}

impl Field<'_> {
    fn into_value(self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Int(n) => Value::Int(n),
            Field::Real(r) => Value::Real(r),
            Field::Text(t) => Value::Text(t.into_owned()),
            Field::Time(t) => Value::Time(t),
            Field::Date(d) => Value::Date(d),
        }
    }
}

fn wrong(i: usize, found: &Field, want: &str) -> AppError {
    AppError::internal(format!("column {i} is {found:?}, expected {want}"))
}

/// Reading a row's columns by position into the console's types.
pub trait ReadRow: Row {
    fn opt_text(&self, i: usize) -> AppResult<Option<String>> {
        match self.field(i)? {
            Field::Null => Ok(None),
            Field::Text(t) => Ok(Some(t.into_owned())),
            Field::Int(n) => Ok(Some(n.to_string())),
            other => Err(wrong(i, &other, "text")),
        }
    }

    fn text(&self, i: usize) -> AppResult<String> {
        self.opt_text(i)?.ok_or_else(|| wrong(i, &Field::Null, "text"))
    }

    fn opt_int(&self, i: usize) -> AppResult<Option<i64>> {
        match self.field(i)? {
            Field::Null => Ok(None),
            Field::Int(n) => Ok(Some(n)),
            Field::Real(r) if r.fract() == 0.0 => Ok(Some(r as i64)),
            Field::Text(t) => t.parse().map(Some).map_err(|_| wrong(i, &Field::Text(t), "a whole number")),
            other => Err(wrong(i, &other, "a whole number")),
        }
    }

    fn int(&self, i: usize) -> AppResult<i64> {
        self.opt_int(i)?.ok_or_else(|| wrong(i, &Field::Null, "a whole number"))
    }

    fn opt_real(&self, i: usize) -> AppResult<Option<f64>> {
        match self.field(i)? {
            Field::Null => Ok(None),
            Field::Int(n) => Ok(Some(n as f64)),
            Field::Real(r) => Ok(Some(r)),
            other => Err(wrong(i, &other, "a number")),
        }
    }

    fn opt_time(&self, i: usize) -> AppResult<Option<Timestamp>> {
        match self.field(i)? {
            Field::Null => Ok(None),
            Field::Time(t) => Ok(Some(t)),
            Field::Text(t) => chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S%.f")
                .map(|n| Some(n.and_utc()))
                .map_err(|_| wrong(i, &Field::Text(t), "a timestamp")),
            other => Err(wrong(i, &other, "a timestamp")),
        }
    }

    fn time(&self, i: usize) -> AppResult<Timestamp> {
        self.opt_time(i)?.ok_or_else(|| wrong(i, &Field::Null, "a timestamp"))
    }

    fn opt_date(&self, i: usize) -> AppResult<Option<chrono::NaiveDate>> {
        match self.field(i)? {
            Field::Null => Ok(None),
            Field::Date(d) => Ok(Some(d)),
            Field::Time(t) => Ok(Some(t.date_naive())),
            Field::Text(t) => chrono::NaiveDate::parse_from_str(t.get(..10).unwrap_or(&t), "%Y-%m-%d")
                .map(Some)
                .map_err(|_| wrong(i, &Field::Text(t), "a date")),
            other => Err(wrong(i, &other, "a date")),
        }
    }

    /// A `CHAR(1)` flag: `'Y'` is true, anything else (NULL too) false.
    fn flag(&self, i: usize) -> AppResult<bool> {
        Ok(matches!(self.field(i)?, Field::Text(t) if t == "Y"))
    }
}

impl<T: Row + ?Sized> ReadRow for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_sent_as_absent() {
        let params = [Value::from(""), Value::from("x"), Value::Int(1)];
        assert_eq!(&*absent_if_empty(&params), &[Value::Null, Value::from("x"), Value::Int(1)]);
        let clean = [Value::from("x")];
        assert!(matches!(absent_if_empty(&clean), Cow::Borrowed(_)), "no copy when nothing is empty");
    }

    #[test]
    fn rows_read_what_either_driver_returns() {
        let r = Values(vec![
            Value::Text("2026-01-02 03:04:05.678901".into()),
            Value::Time(chrono::DateTime::UNIX_EPOCH),
            Value::Real(3.0),
            Value::Null,
            Value::Text("Y".into()),
            Value::Text("2026-01-02".into()),
        ]);
        assert_eq!(r.time(0).unwrap().to_string(), "2026-01-02 03:04:05.678901 UTC");
        assert_eq!(r.time(1).unwrap(), chrono::DateTime::UNIX_EPOCH);
        assert_eq!(r.int(2).unwrap(), 3);
        assert_eq!(r.opt_time(3).unwrap(), None);
        assert!(r.int(3).is_err(), "NULL is no number");
        assert!(r.flag(4).unwrap() && !r.flag(3).unwrap());
        assert_eq!(r.opt_date(5).unwrap(), chrono::NaiveDate::from_ymd_opt(2026, 1, 2));
        assert_eq!(r.opt_date(0).unwrap(), chrono::NaiveDate::from_ymd_opt(2026, 1, 2));
        assert!(r.text(9).is_err(), "no such column");
    }
}

/// Time as both backends keep it: to the microsecond.
pub fn micros(t: Timestamp) -> Timestamp {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}
