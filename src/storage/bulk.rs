//! Loading many rows at once: values, rows, batches.

use super::{Action, AuditEntry};
use crate::dto::Timestamp;
use crate::{AppResult, SessionId, UserId, Username};

/// One batch of a synthetic load (`generate`), named by its entity.
pub const DATA_GENERATE: Action = Action::new("data.generate");

/// A value bound to a statement or read from a row, whichever the backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    /// Never empty when it reaches a backend: storage sends `""` as [`Value::Null`],
    /// as Oracle stores it.
    Text(String),
    Time(Timestamp),
    Date(chrono::NaiveDate),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Text(s.clone())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(r: f64) -> Self {
        Value::Real(r)
    }
}
impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Self {
        Value::Time(t)
    }
}
impl From<chrono::NaiveDate> for Value {
    fn from(d: chrono::NaiveDate) -> Self {
        Value::Date(d)
    }
}
impl From<&UserId> for Value {
    fn from(id: &UserId) -> Self {
        Value::Text(id.0.clone())
    }
}
impl From<&SessionId> for Value {
    fn from(id: &SessionId) -> Self {
        Value::Text(id.0.clone())
    }
}
impl From<&Username> for Value {
    fn from(u: &Username) -> Self {
        Value::Text(u.as_str().to_string())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Rows for one table: `columns` name the values of each row, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    pub table: String,
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Value>>,
}

impl TableRows {
    pub fn new(table: impl Into<String>, columns: &'static [&'static str]) -> Self {
        TableRows { table: table.into(), columns, rows: Vec::new() }
    }

    /// Adds a row; its values follow `columns`.
    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "row of {}", self.table);
        self.rows.push(row);
    }

    /// The table and column names, refused unless they are plain identifiers (they
    /// are spliced into the INSERT statement).
    pub fn checked_names(&self) -> AppResult<()> {
        let plain = |s: &str| {
            s.len() <= 128
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !plain(&self.table) || !self.columns.iter().all(|c| plain(c)) {
            return Err(crate::AppError::invalid(format!("'{}' is not a table this console writes.", self.table)));
        }
        if self.rows.iter().any(|r| r.len() != self.columns.len()) {
            return Err(crate::AppError::internal(format!("a row of {} has the wrong number of values", self.table)));
        }
        Ok(())
    }
}

/// Loading many rows at once (synthetic data, imports): array inserts, one
/// transaction per batch, the batch's audit row inside it.
pub trait BulkStore {
    /// Inserts every row of `batch` and `audit` in one transaction: all of it or nothing.
    fn insert_batch(&self, batch: &[TableRows], audit: &AuditEntry) -> AppResult<()>;
    /// The `entity_id`s of the audit rows with this `action` and `request_path`: how a
    /// resumed load knows which of its batches are already in.
    fn audited_entities(&self, action: &str, request_path: &str) -> AppResult<Vec<String>>;
    /// How many users and audit events the database holds (a load's yardstick).
    fn loaded_rows(&self) -> AppResult<u64>;
    /// Drops the indexes of `tables` that a load may build once after it instead of
    /// entry by entry (SQLite: every non-unique secondary index; Oracle: none).
    /// Returns their names; [`BulkStore::restore_indexes`] makes them again.
    fn drop_indexes(&self, tables: &[String]) -> AppResult<Vec<String>>;
    /// Makes every index the migrations make that the database lacks (after a load
    /// that dropped them, or one killed before it made them again). Returns their names.
    fn restore_indexes(&self) -> AppResult<Vec<String>>;
    /// Refreshes the query planner's statistics (after a load changed the data's shape).
    fn analyze(&self) -> AppResult<()>;
}
