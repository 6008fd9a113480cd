//! Bulk loads: each batch is one transaction of array inserts plus its audit row.

use super::driver::{Conn, ReadRow, Work};
use super::{audit, Store};
use crate::{args, sql};
use pathfinder::storage::{AuditEntry, BulkStore, TableRows};
use pathfinder::AppResult;

/// `INSERT INTO t (a, b) VALUES (:1, :2)`: names are checked plain identifiers.
pub fn insert_sql(t: &TableRows) -> String {
    let marks: Vec<String> = (1..=t.columns.len()).map(|i| format!(":{i}")).collect();
    format!("INSERT INTO {} ({}) VALUES ({})", t.table, t.columns.join(", "), marks.join(", "))
}

/// Inserts every row of `batch` within the caller's transaction.
pub(super) fn insert_rows(c: &mut Conn, batch: &[TableRows]) -> AppResult<()> {
    for t in batch.iter().filter(|t| !t.rows.is_empty()) {
        if t.table == "pf_audit_log" {
            // Loaded events join the chain and the counts like every other.
            audit::append(c, audit::rows_of_table(t)?)?;
        } else {
            c.insert_many(&insert_sql(t), &t.rows)?;
        }
    }
    Ok(())
}

impl BulkStore for Store {
    fn insert_batch(&self, batch: &[TableRows], audit: &AuditEntry) -> AppResult<()> {
        for t in batch {
            t.checked_names()?;
        }
        let mut c = self.conn(Work::Maintenance, true)?;
        c.set_bulk_load(true)?;
        let result = c.transaction(|c| {
            insert_rows(c, batch)?;
            audit::insert(c, audit)
        });
        c.set_bulk_load(false)?;
        result
    }

    fn audited_entities(&self, action: &str, request_path: &str) -> AppResult<Vec<String>> {
        self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT entity_id FROM pf_audit_log
                     WHERE action = :1 AND request_path = :2 AND entity_id IS NOT NULL"
                ),
                &args![action, request_path],
                |r| r.text(0),
            )
        })
    }

    fn analyze(&self) -> AppResult<()> {
        let mut c = self.conn(Work::Maintenance, false)?;
        c.execute(sql!(sqlite: "ANALYZE", oracle: "BEGIN DBMS_STATS.GATHER_SCHEMA_STATS(USER); END;"), &[])?;
        Ok(())
    }
}
