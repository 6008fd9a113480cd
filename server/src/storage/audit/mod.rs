//! `pf_audit_log`: the append every audited change shares (chained, and counted by
//! hour and day in the same transaction), the search, facets and export of the
//! Audit page, and the chain's verification.

pub mod chain;
mod jobs;
pub mod search;

use super::driver::{Conn, Value, Work};
use super::Store;
use crate::{args, sql};
use chain::chained_row;
use chrono::{DurationRound, TimeDelta};
use pathfinder::audit::{
    AuditFacets, AuditFilter, AuditHistogram, AuditJob, AuditJobKind, AuditPage, AuditRow, ChainReport,
};
use pathfinder::dto::Timestamp;
use pathfinder::storage::{AuditEntry, AuditStore, BatchStep, TableRows};
use pathfinder::{new_id, AppError, AppResult};
use std::collections::BTreeMap;

/// Time as both backends keep it: to the microsecond.
pub fn micros(t: Timestamp) -> Timestamp {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// The row an entry becomes, written now.
fn row_of(e: &AuditEntry) -> AuditRow {
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
pub(super) fn insert(c: &mut Conn, e: &AuditEntry) -> AppResult<()> {
    append(c, vec![row_of(e)]).inspect_err(|_| crate::metrics::count_audit_write_failure())
}

/// Writes `e` before migration 0014 made the chain (a migration step's own row):
/// unchained, for the migration's end to chain.
pub(super) fn insert_unchained(c: &mut Conn, e: &AuditEntry) -> AppResult<()> {
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
pub(super) fn append(c: &mut Conn, mut rows: Vec<AuditRow>) -> AppResult<()> {
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
    count(c, &rows)
}

/// The status class the counts keep: 2 for 2xx, …, 0 for none.
pub fn status_class(status: Option<i64>) -> i64 {
    status.map(|s| (s / 100).clamp(0, 9)).unwrap_or(0)
}

/// Adds the rows to the hourly and daily counts.
fn count(c: &mut Conn, rows: &[AuditRow]) -> AppResult<()> {
    add_counts(c, rows.iter().map(|r| (r.created_at, r.action.as_str(), r.response_status)), 1)
}

/// Adds `sign` (1 for written events, -1 for removed ones) per event, given as
/// (time, action, status), to the hourly and daily counts.
pub(crate) fn add_counts<'r>(
    c: &mut Conn,
    events: impl Iterator<Item = (Timestamp, &'r str, Option<i64>)>,
    sign: i64,
) -> AppResult<()> {
    let mut hours: BTreeMap<(Timestamp, &str, i64), i64> = BTreeMap::new();
    let mut days: BTreeMap<(Timestamp, &str, i64), i64> = BTreeMap::new();
    for (at, action, status) in events {
        let class = status_class(status);
        let hour = at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at);
        let day = at.duration_trunc(TimeDelta::days(1)).unwrap_or(at);
        *hours.entry((hour, action, class)).or_default() += sign;
        *days.entry((day, action, class)).or_default() += sign;
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
pub(super) fn rows_of_table(t: &TableRows) -> AppResult<Vec<AuditRow>> {
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
fn chain_pending(c: &mut Conn, after: Option<&str>, limit: u32) -> AppResult<BatchStep> {
    let (t, id) = match after.map(pathfinder::audit::AuditCursor::decode).transpose()? {
        Some(cur) => (cur.created_at, cur.id),
        // From the start (a row without a time is never chained: verify counts it).
        None => (super::driver::earliest_time(), String::new()),
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
                sql!("SELECT id, user_id, action, entity_type, entity_id, ip_address, user_agent, request_method,
                        request_path, response_status, execution_time_ms, error_message, created_at, chain_seq,
                        chain_hash FROM pf_audit_log ORDER BY created_at DESC, id DESC", limit ":1"),
                &args![i64::from(limit)],
                chained_row,
            )
        })
    }

    fn audit_event(&self, id: &str) -> AppResult<Option<AuditRow>> {
        self.read(|c| {
            let rows = c.query_map(
                sql!(
                    "SELECT a.id, a.user_id, a.action, a.entity_type, a.entity_id, a.ip_address, a.user_agent,
                     a.request_method, a.request_path, a.response_status, a.execution_time_ms, a.error_message,
                     a.created_at, a.chain_seq, a.chain_hash, u.username
                     FROM pf_audit_log a LEFT JOIN pf_users u ON u.user_id = a.user_id WHERE a.id = :1"
                ),
                &args![id],
                search::named_row,
            )?;
            Ok(rows.into_iter().next())
        })
    }

    fn search_audit(&self, filter: &AuditFilter) -> AppResult<AuditPage> {
        self.read(|c| search::page(c, filter))
    }

    fn audited_search(&self, filter: &AuditFilter, audit: &AuditEntry) -> AppResult<AuditPage> {
        let page = self.search_audit(filter)?;
        let said =
            format!("{}; {} events on the page", audit.detail.as_deref().unwrap_or("all events"), page.events.len());
        self.append_audit(&AuditEntry { detail: Some(said), ..audit.clone() })?;
        Ok(page)
    }

    fn audited_event(&self, id: &str, audit: &AuditEntry) -> AppResult<AuditRow> {
        let event = self.audit_event(id)?.ok_or_else(|| AppError::NotFound("The event".into()))?;
        self.append_audit(audit)?;
        Ok(event)
    }

    fn audit_facets(&self, filter: &AuditFilter) -> AppResult<AuditFacets> {
        self.read(|c| search::facets(c, filter))
    }

    fn audit_histogram(&self, filter: &AuditFilter) -> AppResult<AuditHistogram> {
        self.read(|c| search::histogram(c, filter, chrono::Utc::now()))
    }

    fn count_audit(&self, filter: &AuditFilter) -> AppResult<i64> {
        let mut c = self.conn(Work::Maintenance, false)?;
        search::count_exact(&mut c, filter)
    }

    fn export_audit(&self, filter: &AuditFilter, each: &mut dyn FnMut(&AuditRow) -> bool) -> AppResult<u64> {
        let mut c = self.conn(Work::Maintenance, false)?;
        search::export(&mut c, filter, each)
    }

    fn chain_pending(&self, after: Option<&str>, limit: u32) -> AppResult<BatchStep> {
        self.conn(Work::Maintenance, true)?.transaction(|c| chain_pending(c, after, limit))
    }

    fn sign_checkpoint(&self, key: &[u8], now: Timestamp) -> AppResult<Option<i64>> {
        self.write(|c| chain::sign(c, key, now))
    }

    fn verify_audit_chain(
        &self,
        key: Option<&[u8]>,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> AppResult<ChainReport> {
        let mut c = self.conn(Work::Maintenance, false)?;
        chain::verify(&mut c, key, progress)
    }

    fn start_audit_job(&self, kind: AuditJobKind, filter_text: &str, audit: &AuditEntry) -> AppResult<String> {
        self.start_job(kind, filter_text, audit)
    }

    fn run_audit_job(
        &self,
        id: &str,
        kind: AuditJobKind,
        filter: &AuditFilter,
        key: Option<&[u8]>,
        audit: &AuditEntry,
    ) -> AppResult<()> {
        self.run_job(id, kind, filter, key, audit)
    }

    fn audit_job(&self, id: &str) -> AppResult<AuditJob> {
        self.job(id)
    }

    fn last_chain_verify(&self) -> AppResult<Option<AuditJob>> {
        self.last_verify()
    }

    fn scheduled_chain_verify(
        &self,
        every: std::time::Duration,
        key: Option<&[u8]>,
        audit: &AuditEntry,
    ) -> AppResult<Option<AuditJob>> {
        self.verify_when_due(every, key, audit)
    }
}
