//! Bulk loads: each batch is one transaction of array inserts plus its audit row.

use super::audit;
use super::driver::{Conn, Dialect, ReadRow, Work};
use super::migrations::{created_object, migrations, split_statements};
use super::store::Store;
use crate::{args, sql};
use pathfinder::storage::{AuditEntry, BulkStore, TableRows};
use pathfinder::AppResult;
use std::collections::BTreeSet;

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
            audit::append::append(c, audit::append::rows_of_table(t)?)?;
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
            audit::append::insert(c, audit)
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

    fn loaded_rows(&self) -> AppResult<u64> {
        let n = self.read(|c| {
            c.query_int(
                sql!(
                    sqlite: "SELECT (SELECT COUNT(*) FROM pf_users) + (SELECT last_seq FROM pf_audit_chain_head)",
                    oracle: "SELECT (SELECT COUNT(*) FROM pf_users) + (SELECT last_seq FROM pf_audit_chain_head) FROM dual"
                ),
                &[],
            )
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn drop_indexes(&self, tables: &[String]) -> AppResult<Vec<String>> {
        let mut c = self.conn(Work::Maintenance, true)?;
        if c.dialect() == Dialect::Oracle {
            // Oracle maintains indexes in bulk per array insert: nothing to gain.
            return Ok(Vec::new());
        }
        let mut dropped = Vec::new();
        for table in tables {
            // Unique indexes stay: they are what tells a load that a row is already in.
            let names = c.query_map(
                sql!(sqlite: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :1
                     AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"),
                &args![table.as_str()],
                |r| r.text(0),
            )?;
            for name in names {
                c.execute(format!("DROP INDEX {name}").as_str(), &[])?;
                dropped.push(name);
            }
        }
        Ok(dropped)
    }

    fn restore_indexes(&self) -> AppResult<Vec<String>> {
        let mut c = self.conn(Work::Maintenance, true)?;
        let live: BTreeSet<String> = c
            .query_map(
                sql!(
                    sqlite: "SELECT LOWER(name) FROM sqlite_master WHERE type = 'index'",
                    oracle: "SELECT LOWER(index_name) FROM user_indexes"
                ),
                &[],
                |r| r.text(0),
            )?
            .into_iter()
            .collect();
        let missing: Vec<(String, String)> =
            made_indexes(c.dialect()).into_iter().filter(|(name, _)| !live.contains(name)).collect();
        c.set_bulk_load(true)?;
        for (_, stmt) in &missing {
            c.execute(stmt.as_str(), &[])?;
        }
        c.set_bulk_load(false)?;
        Ok(missing.into_iter().map(|(name, _)| name).collect())
    }

    fn analyze(&self) -> AppResult<()> {
        let mut c = self.conn(Work::Maintenance, false)?;
        c.execute(sql!(sqlite: "ANALYZE", oracle: "BEGIN DBMS_STATS.GATHER_SCHEMA_STATS(USER); END;"), &[])?;
        Ok(())
    }
}

/// Every index the migrations leave in place, with the statement that makes it, in
/// the order they make them.
fn made_indexes(dialect: Dialect) -> Vec<(String, String)> {
    let mut made: Vec<(String, String)> = Vec::new();
    for stmt in migrations(dialect).iter().flat_map(|m| split_statements(m.sql)) {
        let words: Vec<String> = stmt.split_whitespace().take(3).map(str::to_ascii_lowercase).collect();
        if let ["drop", "index", name] = words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            made.retain(|(n, _)| n != name.trim_end_matches(';'));
        } else if let Some(("index", name)) = created_object(&stmt) {
            made.retain(|(n, _)| *n != name);
            made.push((name, stmt));
        }
    }
    made
}
