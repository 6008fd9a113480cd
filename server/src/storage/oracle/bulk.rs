//! Bulk loads on Oracle: array DML (one round trip per table and batch), one
//! transaction per batch with its audit row.

use super::{audit, map_err, ts, OracleStorage};
use crate::storage::sql;
use oracle::sql_type::{OracleType, ToSql};
use pathfinder::storage::{AuditEntry, BulkStore, BulkValue, TableRows};
use pathfinder::AppResult;

/// The bind type of column `i`: from its first non-NULL value (array DML needs one
/// type per column for every row).
fn column_type(t: &TableRows, i: usize) -> OracleType {
    let first = t.rows.iter().map(|r| &r[i]).find(|v| **v != BulkValue::Null);
    match first {
        Some(BulkValue::Int(_)) => OracleType::Int64,
        Some(BulkValue::Real(_)) => OracleType::BinaryDouble,
        Some(BulkValue::Time(_)) => OracleType::Timestamp(6),
        Some(BulkValue::Date(_)) => OracleType::Date,
        Some(BulkValue::Text(_)) => {
            let longest = t.rows.iter().filter_map(|r| match &r[i] {
                BulkValue::Text(s) => Some(s.len()),
                _ => None,
            });
            OracleType::Varchar2(longest.max().unwrap_or(1).max(1) as u32)
        }
        Some(BulkValue::Null) | None => OracleType::Varchar2(1),
    }
}

fn bind(v: &BulkValue) -> Box<dyn ToSql + '_> {
    match v {
        BulkValue::Null => Box::new(Option::<String>::None),
        BulkValue::Int(i) => Box::new(*i),
        BulkValue::Real(r) => Box::new(*r),
        BulkValue::Text(s) => Box::new(s.as_str()),
        BulkValue::Time(t) => Box::new(ts(*t)),
        BulkValue::Date(d) => Box::new(d.and_hms_opt(0, 0, 0).unwrap_or_default()),
    }
}

impl BulkStore for OracleStorage {
    fn insert_batch(&self, batch: &[TableRows], audit: &AuditEntry) -> AppResult<()> {
        for t in batch {
            t.checked_names()?;
        }
        self.write(|c| {
            for t in batch.iter().filter(|t| !t.rows.is_empty()) {
                let marks: Vec<String> = (1..=t.columns.len()).map(|i| format!(":{i}")).collect();
                let insert =
                    format!("INSERT INTO {} ({}) VALUES ({})", t.table, t.columns.join(", "), marks.join(", "));
                let mut b = c.batch(&insert, t.rows.len()).build().map_err(map_err)?;
                for i in 0..t.columns.len() {
                    b.set_type(i + 1, &column_type(t, i)).map_err(map_err)?;
                }
                for row in &t.rows {
                    let values: Vec<Box<dyn ToSql + '_>> = row.iter().map(bind).collect();
                    let refs: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
                    b.append_row(&refs).map_err(map_err)?;
                }
                b.execute().map_err(map_err)?;
            }
            audit::insert(c, audit)
        })
    }

    fn audited_entities(&self, action: &str, request_path: &str) -> AppResult<Vec<String>> {
        self.read(|c| {
            let rows = c.query_as::<String>(sql::AUDITED_ENTITIES, &[&action, &request_path]).map_err(map_err)?;
            rows.map(|r| r.map_err(map_err)).collect()
        })
    }

    fn analyze(&self) -> AppResult<()> {
        self.read(|c| {
            c.execute(sql::oracle::GATHER_STATS, &[]).map_err(map_err)?;
            Ok(())
        })
    }
}
