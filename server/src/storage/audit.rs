//! `pf_audit_log`: the insert every audited change shares, and the reads.

use super::driver::{Conn, ReadRow, Row};
use super::Store;
use crate::{args, sql};
use pathfinder::dto::Timestamp;
use pathfinder::storage::{AuditEntry, AuditRow, AuditStore};
use pathfinder::{new_id, AppResult};

/// Writes `e` inside the caller's transaction.
pub(super) fn insert(c: &mut Conn, e: &AuditEntry) -> AppResult<()> {
    let e = e.clamped();
    c.execute(
        sql!(
            "INSERT INTO pf_audit_log (id, user_id, action, entity_type, entity_id, ip_address, user_agent,
             request_method, request_path, response_status, execution_time_ms, error_message, created_at)
             VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10, :11, :12, :13)"
        ),
        &args![
            new_id(),
            e.actor.as_ref(),
            e.action,
            e.entity_type,
            e.entity_id,
            e.ip_address,
            e.user_agent,
            e.request_method,
            e.request_path,
            i64::from(e.response_status),
            e.execution_time_ms as i64,
            e.error_message,
            chrono::Utc::now(),
        ],
    )?;
    Ok(())
}

fn audit_row(r: &dyn Row) -> AppResult<AuditRow> {
    Ok(AuditRow {
        id: r.text(0)?,
        user_id: r.opt_text(1)?,
        action: r.text(2)?,
        entity_type: r.opt_text(3)?,
        entity_id: r.opt_text(4)?,
        ip_address: r.opt_text(5)?,
        user_agent: r.opt_text(6)?,
        request_method: r.opt_text(7)?,
        request_path: r.opt_text(8)?,
        response_status: r.opt_int(9)?,
        execution_time_ms: r.opt_int(10)?,
        created_at: r.time(11)?,
    })
}

impl AuditStore for Store {
    fn append_audit(&self, audit: &AuditEntry) -> AppResult<()> {
        self.write(|c| insert(c, audit))
    }

    fn count_audit_since(&self, since: Timestamp) -> AppResult<i64> {
        self.read(|c| c.query_int(sql!("SELECT COUNT(*) FROM pf_audit_log WHERE created_at >= :1"), &args![since]))
    }

    fn recent_audit(&self, limit: u32) -> AppResult<Vec<AuditRow>> {
        self.read(|c| {
            c.query_map(
                sql!(
                    sqlite: "SELECT id, user_id, action, entity_type, entity_id, ip_address, user_agent, request_method,
                        request_path, response_status, execution_time_ms, created_at
                        FROM pf_audit_log ORDER BY created_at DESC, id DESC LIMIT :1",
                    oracle: "SELECT id, user_id, action, entity_type, entity_id, ip_address, user_agent, request_method,
                        request_path, response_status, execution_time_ms, created_at
                        FROM pf_audit_log ORDER BY created_at DESC, id DESC FETCH FIRST :1 ROWS ONLY"
                ),
                &args![i64::from(limit)],
                audit_row,
            )
        })
    }
}
