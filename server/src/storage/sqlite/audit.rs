//! `pf_audit_log`: the insert every audited change shares, and the reads.

use super::{map_err, parse_ts, ts, SqliteStorage};
use crate::storage::sql;
use pathfinder::dto::Timestamp;
use pathfinder::storage::{AuditEntry, AuditRow, AuditStore};
use pathfinder::{new_id, AppResult};
use rusqlite::{params, Connection};

/// Writes `e` with the caller's connection, inside the caller's transaction.
pub(super) fn insert(conn: &Connection, e: &AuditEntry) -> AppResult<()> {
    let e = &e.clamped();
    conn.execute(
        sql::INSERT_AUDIT,
        params![
            new_id(),
            e.actor.as_ref().map(|a| a.as_str()),
            e.action,
            e.entity_type,
            e.entity_id,
            e.ip_address,
            e.user_agent,
            e.request_method,
            e.request_path,
            e.response_status,
            e.execution_time_ms as i64,
            e.error_message,
            ts(chrono::Utc::now()),
        ],
    )
    .map_err(map_err)?;
    Ok(())
}

impl AuditStore for SqliteStorage {
    fn append_audit(&self, audit: &AuditEntry) -> AppResult<()> {
        self.write(|tx| insert(tx, audit))
    }

    fn count_audit_since(&self, since: Timestamp) -> AppResult<i64> {
        self.read(|c| c.query_row(sql::COUNT_AUDIT_SINCE, [ts(since)], |r| r.get(0)).map_err(map_err))
    }

    fn recent_audit(&self, limit: u32) -> AppResult<Vec<AuditRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(sql::sqlite::RECENT_AUDIT).map_err(map_err)?;
            let rows = stmt
                .query_map([limit], |r| {
                    Ok((
                        AuditRow {
                            id: r.get(0)?,
                            user_id: r.get(1)?,
                            action: r.get(2)?,
                            entity_type: r.get(3)?,
                            entity_id: r.get(4)?,
                            ip_address: r.get(5)?,
                            user_agent: r.get(6)?,
                            request_method: r.get(7)?,
                            request_path: r.get(8)?,
                            response_status: r.get(9)?,
                            execution_time_ms: r.get(10)?,
                            created_at: chrono::DateTime::UNIX_EPOCH,
                        },
                        r.get::<_, String>(11)?,
                    ))
                })
                .map_err(map_err)?;
            rows.map(|row| {
                let (mut row, created) = row.map_err(map_err)?;
                row.created_at = parse_ts(&created)?;
                Ok(row)
            })
            .collect()
        })
    }
}
