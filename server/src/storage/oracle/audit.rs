//! `pf_audit_log` on Oracle.

use super::{exec, map_err, ts, utc, OracleStorage};
use crate::storage::sql;
use oracle::Connection;
use pathfinder::dto::Timestamp;
use pathfinder::storage::{AuditEntry, AuditRow, AuditStore};
use pathfinder::{new_id, AppResult};

pub(super) fn insert(c: &Connection, e: &AuditEntry) -> AppResult<()> {
    let e = &e.clamped();
    exec(
        c,
        sql::INSERT_AUDIT,
        &[
            &new_id(),
            &e.actor.as_ref().map(|a| a.0.clone()),
            &e.action,
            &e.entity_type,
            &e.entity_id,
            &e.ip_address,
            &e.user_agent,
            &e.request_method,
            &e.request_path,
            &i64::from(e.response_status),
            &(e.execution_time_ms as i64),
            &e.error_message,
            &ts(chrono::Utc::now()),
        ],
    )?;
    Ok(())
}

impl AuditStore for OracleStorage {
    fn append_audit(&self, audit: &AuditEntry) -> AppResult<()> {
        self.write(|c| insert(c, audit))
    }

    fn count_audit_since(&self, since: Timestamp) -> AppResult<i64> {
        self.read(|c| c.query_row_as::<i64>(sql::COUNT_AUDIT_SINCE, &[&ts(since)]).map_err(map_err))
    }

    fn recent_audit(&self, limit: u32) -> AppResult<Vec<AuditRow>> {
        self.read(|c| {
            let rows = c.query(sql::oracle::RECENT_AUDIT, &[&i64::from(limit)]).map_err(map_err)?;
            rows.map(|r| {
                let r = r.map_err(map_err)?;
                let get = |i: usize| r.get::<_, Option<String>>(i).map_err(map_err);
                Ok(AuditRow {
                    id: r.get(0).map_err(map_err)?,
                    user_id: get(1)?,
                    action: r.get(2).map_err(map_err)?,
                    entity_type: get(3)?,
                    entity_id: get(4)?,
                    ip_address: get(5)?,
                    user_agent: get(6)?,
                    request_method: get(7)?,
                    request_path: get(8)?,
                    response_status: r.get(9).map_err(map_err)?,
                    execution_time_ms: r.get(10).map_err(map_err)?,
                    created_at: utc(r.get(11).map_err(map_err)?),
                })
            })
            .collect()
        })
    }
}
