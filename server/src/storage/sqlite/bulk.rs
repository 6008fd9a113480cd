//! Bulk loads: each batch is one transaction of cached prepared inserts plus its audit row.

use super::{audit, map_err, ts, SqliteStorage};
use pathfinder::storage::{AuditEntry, BulkStore, BulkValue, TableRows};
use pathfinder::AppResult;
use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::ToSql;

struct Bound<'a>(&'a BulkValue);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            BulkValue::Null => ToSqlOutput::Owned(Value::Null),
            BulkValue::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            BulkValue::Real(r) => ToSqlOutput::Owned(Value::Real(*r)),
            BulkValue::Text(t) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(t.as_bytes())),
            BulkValue::Time(t) => ToSqlOutput::Owned(Value::Text(ts(*t))),
            BulkValue::Date(d) => ToSqlOutput::Owned(Value::Text(d.format("%Y-%m-%d").to_string())),
        })
    }
}

/// `INSERT INTO t (a, b) VALUES (?1, ?2)`.
fn insert_sql(t: &TableRows) -> String {
    let marks: Vec<String> = (1..=t.columns.len()).map(|i| format!("?{i}")).collect();
    format!("INSERT INTO {} ({}) VALUES ({})", t.table, t.columns.join(", "), marks.join(", "))
}

/// Inserts every row of `batch` within the caller's transaction.
pub(super) fn insert_rows(tx: &rusqlite::Transaction, batch: &[TableRows]) -> AppResult<()> {
    for t in batch {
        t.checked_names()?;
        let mut stmt = tx.prepare_cached(&insert_sql(t)).map_err(map_err)?;
        for row in &t.rows {
            stmt.execute(rusqlite::params_from_iter(row.iter().map(Bound))).map_err(map_err)?;
        }
    }
    Ok(())
}

impl BulkStore for SqliteStorage {
    fn insert_batch(&self, batch: &[TableRows], audit: &AuditEntry) -> AppResult<()> {
        let _turn = self.writer_turn();
        let mut conn = self.pool.get()?;
        // A bulk load may lose its last batches to a power cut (WAL keeps the file
        // whole), never half a batch; each commit need not wait for the disk.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(map_err)?;
        // Indexes of a million rows take inserts in random order: a 512 MB page cache
        // keeps them in memory. It stays with the connection (loads run in the CLI).
        conn.pragma_update(None, "cache_size", -524_288).map_err(map_err)?;
        let result = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(map_err)?;
            insert_rows(&tx, batch)?;
            audit::insert(&tx, audit)?;
            tx.commit().map_err(map_err)
        })();
        conn.pragma_update(None, "synchronous", "FULL").map_err(map_err)?;
        result
    }

    fn audited_entities(&self, action: &str, request_path: &str) -> AppResult<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(crate::storage::sql::AUDITED_ENTITIES).map_err(map_err)?;
            let rows = stmt.query_map([action, request_path], |r| r.get(0)).map_err(map_err)?;
            rows.collect::<Result<Vec<String>, _>>().map_err(map_err)
        })
    }

    fn analyze(&self) -> AppResult<()> {
        self.read(|c| c.execute_batch("ANALYZE").map_err(map_err))
    }
}
