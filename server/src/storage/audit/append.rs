//! The append every audited change shares: rows chained after the chain's head
//! and counted by hour and day, in the caller's transaction. Rows written outside
//! the chain (before migration 0014, a bulk load) are chained here too.

use super::chain::{self, chained_row};
use crate::storage::driver::{micros, Conn, Value};
use crate::{args, sql};
use chrono::{DurationRound, TimeDelta};
use pathfinder::audit::AuditRow;
use pathfinder::dto::Timestamp;
use pathfinder::storage::{AuditEntry, BatchStep, TableRows};
use pathfinder::{new_id, AppError, AppResult};
use std::collections::BTreeMap;

/// The row an entry becomes, written now.
pub(crate) fn row_of(e: &AuditEntry) -> AuditRow {
    let e = e.clamped();
    AuditRow {
        id: new_id(),
        user_id: e.actor.map(|a| a.0),
        username: None,
        action: e.action,
        entity_type: e.entity_type,
        entity_id: e.entity_id,
        ip_address: e.ip_address,
        user_agent: e.user_agent,
        request_method: e.request_method,
        request_path: e.request_path,
        response_status: Some(i64::from(e.response_status)),
        execution_time_ms: Some(e.execution_time_ms as i64),
        detail: e.detail,
        created_at: micros(chrono::Utc::now()),
        chain_seq: None,
        chain_hash: None,
    }
}

/// Writes `e` inside the caller's transaction, chained and counted.
pub(crate) fn insert(c: &mut Conn, e: &AuditEntry) -> AppResult<()> {
    append(c, vec![row_of(e)]).inspect_err(|_| crate::metrics::count_audit_write_failure())
}

/// Writes a migration step's own row after migration 0014 made the chain and
/// before 0027 made the all-time counts (whose step counts the rows before it).
pub(crate) fn insert_before_totals(c: &mut Conn, e: &AuditEntry) -> AppResult<()> {
    append_counted(c, vec![row_of(e)], false)
}

/// Writes `e` before migration 0014 made the chain (a migration step's own row):
/// unchained, for the migration's end to chain.
pub(crate) fn insert_unchained(c: &mut Conn, e: &AuditEntry) -> AppResult<()> {
    let r = row_of(e);
    c.execute(
        sql!(
            "INSERT INTO pf_audit_log (id, user_id, action, entity_type, entity_id, ip_address, user_agent,
             request_method, request_path, response_status, execution_time_ms, error_message, created_at)
             VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10, :11, :12, :13)"
        ),
        &values(&r)[..13],
    )?;
    Ok(())
}

/// The row's values in [`chain::CHAIN_COLUMNS`] order.
fn values(r: &AuditRow) -> Vec<Value> {
    args![
        r.id.as_str(),
        r.user_id.as_deref(),
        r.action.as_str(),
        r.entity_type.as_deref(),
        r.entity_id.as_deref(),
        r.ip_address.as_deref(),
        r.user_agent.as_deref(),
        r.request_method.as_deref(),
        r.request_path.as_deref(),
        r.response_status,
        r.execution_time_ms,
        r.detail.as_deref(),
        r.created_at,
        r.chain_seq,
        r.chain_hash.as_deref(),
    ]
    .to_vec()
}

/// Appends rows to the chain after its head (taken, and on Oracle locked, first),
/// and adds them to the kept counts; all in the caller's transaction.
pub(crate) fn append(c: &mut Conn, rows: Vec<AuditRow>) -> AppResult<()> {
    append_counted(c, rows, true)
}

/// [`append`], the all-time counts kept or not (`totals`).
fn append_counted(c: &mut Conn, mut rows: Vec<AuditRow>, totals: bool) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    chain::extend(c, &mut rows)?;
    let all: Vec<Vec<Value>> = rows.iter().map(values).collect();
    c.insert_many(
        sql!(
            "INSERT INTO pf_audit_log (id, user_id, action, entity_type, entity_id, ip_address, user_agent,
             request_method, request_path, response_status, execution_time_ms, error_message, created_at,
             chain_seq, chain_hash)
             VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10, :11, :12, :13, :14, :15)"
        ),
        &all,
    )?;
    count_rows(c, &rows, totals)
}

/// The status class the counts keep: 2 for 2xx, …, 0 for none.
pub fn status_class(status: Option<i64>) -> i64 {
    status.map(|s| (s / 100).clamp(0, 9)).unwrap_or(0)
}

/// Adds the rows to the hourly, daily and all-time counts.
pub(crate) fn count(c: &mut Conn, rows: &[AuditRow]) -> AppResult<()> {
    count_rows(c, rows, true)
}

/// [`count`], the all-time counts kept or not (`totals`).
fn count_rows(c: &mut Conn, rows: &[AuditRow], totals: bool) -> AppResult<()> {
    add_counts_to(c, rows.iter().map(|r| (r.created_at, r.action.as_str(), r.response_status)), 1, totals)
}

/// Adds `sign` (1 for written events, -1 for removed ones) per event, given as
/// (time, action, status), to the hourly, daily and all-time counts.
pub(crate) fn add_counts<'r>(
    c: &mut Conn,
    events: impl Iterator<Item = (Timestamp, &'r str, Option<i64>)>,
    sign: i64,
) -> AppResult<()> {
    add_counts_to(c, events, sign, true)
}

/// [`add_counts`], the all-time counts kept or not (`totals`).
fn add_counts_to<'r>(
    c: &mut Conn,
    events: impl Iterator<Item = (Timestamp, &'r str, Option<i64>)>,
    sign: i64,
    totals: bool,
) -> AppResult<()> {
    let mut hours: BTreeMap<(Timestamp, &str, i64), i64> = BTreeMap::new();
    let mut days: BTreeMap<(Timestamp, &str, i64), i64> = BTreeMap::new();
    let mut all_time: BTreeMap<(&str, i64), i64> = BTreeMap::new();
    for (at, action, status) in events {
        let class = status_class(status);
        let hour = at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at);
        let day = at.duration_trunc(TimeDelta::days(1)).unwrap_or(at);
        *hours.entry((hour, action, class)).or_default() += sign;
        *days.entry((day, action, class)).or_default() += sign;
        *all_time.entry((action, class)).or_default() += sign;
    }
    let as_rows = |m: BTreeMap<(Timestamp, &str, i64), i64>| -> Vec<Vec<Value>> {
        m.into_iter().map(|((t, a, k), n)| args![t, a, k, n].to_vec()).collect()
    };
    c.insert_many(
        sql!(
            sqlite: "INSERT INTO pf_audit_counts (hour_start, action, status_class, events) VALUES (:1, :2, :3, :4)
                ON CONFLICT (hour_start, action, status_class) DO UPDATE SET events = events + excluded.events",
            oracle: "MERGE INTO pf_audit_counts t
                USING (SELECT :1 AS hour_start, :2 AS action, :3 AS status_class, :4 AS events FROM dual) s
                ON (t.hour_start = s.hour_start AND t.action = s.action AND t.status_class = s.status_class)
                WHEN MATCHED THEN UPDATE SET t.events = t.events + s.events
                WHEN NOT MATCHED THEN INSERT (hour_start, action, status_class, events)
                VALUES (s.hour_start, s.action, s.status_class, s.events)"
        ),
        &as_rows(hours),
    )?;
    c.insert_many(
        sql!(
            sqlite: "INSERT INTO pf_audit_counts_daily (day_start, action, status_class, events) VALUES (:1, :2, :3, :4)
                ON CONFLICT (day_start, action, status_class) DO UPDATE SET events = events + excluded.events",
            oracle: "MERGE INTO pf_audit_counts_daily t
                USING (SELECT :1 AS day_start, :2 AS action, :3 AS status_class, :4 AS events FROM dual) s
                ON (t.day_start = s.day_start AND t.action = s.action AND t.status_class = s.status_class)
                WHEN MATCHED THEN UPDATE SET t.events = t.events + s.events
                WHEN NOT MATCHED THEN INSERT (day_start, action, status_class, events)
                VALUES (s.day_start, s.action, s.status_class, s.events)"
        ),
        &as_rows(days),
    )?;
    if !totals {
        return Ok(());
    }
    c.insert_many(
        sql!(
            sqlite: "INSERT INTO pf_audit_counts_total (action, status_class, events) VALUES (:1, :2, :3)
                ON CONFLICT (action, status_class) DO UPDATE SET events = events + excluded.events",
            oracle: "MERGE INTO pf_audit_counts_total t
                USING (SELECT :1 AS action, :2 AS status_class, :3 AS events FROM dual) s
                ON (t.action = s.action AND t.status_class = s.status_class)
                WHEN MATCHED THEN UPDATE SET t.events = t.events + s.events
                WHEN NOT MATCHED THEN INSERT (action, status_class, events) VALUES (s.action, s.status_class, s.events)"
        ),
        &all_time.into_iter().map(|((a, k), n)| args![a, k, n].to_vec()).collect::<Vec<_>>(),
    )
}

/// The seed's columns of `pf_audit_log`, in table order.
pub const SEED_COLUMNS: [&str; 13] = [
    "id",
    "user_id",
    "action",
    "entity_type",
    "entity_id",
    "ip_address",
    "user_agent",
    "request_method",
    "request_path",
    "response_status",
    "execution_time_ms",
    "error_message",
    "created_at",
];

/// The rows of a bulk load's `pf_audit_log` table (the generator's), to append.
pub(crate) fn rows_of_table(t: &TableRows) -> AppResult<Vec<AuditRow>> {
    let at = |name: &str| {
        t.columns
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| AppError::internal(format!("an audit batch has no column {name}")))
    };
    let [id, user, action, etype, eid, ip, ua, method, path, status, ms, error, created] = SEED_COLUMNS.map(at);
    let (id, user, action, etype, eid, ip, ua, method, path, status, ms, error, created) =
        (id?, user?, action?, etype?, eid?, ip?, ua?, method?, path?, status?, ms?, error?, created?);
    let text = |v: &Value| match v {
        Value::Text(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let int = |v: &Value| match v {
        Value::Int(n) => Some(*n),
        _ => None,
    };
    t.rows
        .iter()
        .map(|r| {
            let Value::Time(created_at) = r[created] else {
                return Err(AppError::internal("an audit batch row has no creation time"));
            };
            Ok(AuditRow {
                id: text(&r[id]).ok_or_else(|| AppError::internal("an audit batch row has no id"))?,
                user_id: text(&r[user]),
                username: None,
                action: text(&r[action]).unwrap_or_default(),
                entity_type: text(&r[etype]),
                entity_id: text(&r[eid]),
                ip_address: text(&r[ip]),
                user_agent: text(&r[ua]),
                request_method: text(&r[method]),
                request_path: text(&r[path]),
                response_status: int(&r[status]),
                execution_time_ms: int(&r[ms]),
                detail: text(&r[error]),
                created_at: micros(created_at),
                chain_seq: None,
                chain_hash: None,
            })
        })
        .collect()
}

/// Chains up to `limit` rows written outside the chain (before migration 0014, or
/// by another tool), oldest first, after the keyset position `after`.
pub(super) fn chain_pending(c: &mut Conn, after: Option<&str>, limit: u32) -> AppResult<BatchStep> {
    let (t, id) = match after.map(pathfinder::audit::AuditCursor::decode).transpose()? {
        Some(cur) => (cur.created_at, cur.id),
        // From the start (a row without a time is never chained: verify counts it).
        None => (crate::storage::driver::earliest_time(), String::new()),
    };
    let mut rows = c.query_map(
        sql!(
            sqlite: "SELECT id, user_id, action, entity_type, entity_id, ip_address, user_agent, request_method,
                request_path, response_status, execution_time_ms, error_message, created_at, chain_seq, chain_hash
                FROM pf_audit_log INDEXED BY idx_audit_created WHERE chain_seq IS NULL AND created_at >= :1 AND (created_at > :2 OR id > :3)
                ORDER BY created_at, id LIMIT :4",
            oracle: "SELECT id, user_id, action, entity_type, entity_id, ip_address, user_agent, request_method,
                request_path, response_status, execution_time_ms, error_message, created_at, chain_seq, chain_hash
                FROM pf_audit_log WHERE chain_seq IS NULL AND created_at >= :1 AND (created_at > :2 OR id > :3)
                ORDER BY created_at, id FETCH FIRST :4 ROWS ONLY"
        ),
        &args![t, t, id.as_str(), i64::from(limit)],
        chained_row,
    )?;
    let next = (rows.len() == limit as usize).then(|| rows.last().map(|r| r.cursor().encode())).flatten();
    let scanned = rows.len() as u64;
    chain::extend(c, &mut rows)?;
    for r in &rows {
        c.execute(
            sql!("UPDATE pf_audit_log SET chain_seq = :1, chain_hash = :2 WHERE id = :3 AND chain_seq IS NULL"),
            &args![r.chain_seq, r.chain_hash.as_deref(), r.id.as_str()],
        )?;
    }
    count(c, &rows)?;
    Ok(BatchStep { scanned, changed: scanned, failed: 0, next })
}

/// Writes `audit` about `entity` (its type and id) in the caller's transaction,
/// its message what the entity was and what it became.
pub(crate) fn change(
    c: &mut Conn,
    audit: &AuditEntry,
    entity: (&str, &str),
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AppResult<()> {
    let mut entry = audit.clone();
    entry.entity_type = Some(entity.0.to_string());
    entry.entity_id = Some(entity.1.to_string());
    entry.detail = Some(serde_json::json!({ "before": before, "after": after }).to_string());
    insert(c, &entry)
}
