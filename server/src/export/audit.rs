//! The audit log's export: exactly the events of a filter, as CSV or NDJSON,
//! streamed. The page's download (`GET /export/audit`) and the CLI's
//! `audit export` write through the same [`Sink`].

use super::{neutral, Format};
use crate::router::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use pathfinder::audit::{AuditFilter, AuditParams, AuditRow};
use pathfinder::dto::Principal;
use pathfinder::request::RequestMeta;
use pathfinder::{AppError, AppResult};
use serde::Deserialize;
use std::io::Write;

/// The log as it is kept: the seed's columns and the chain's (no username: the log
/// records ids, which a rename does not change, and with the chain's columns an
/// export can be checked against the chain's rule away from the console).
pub const COLUMNS: [&str; 15] = [
    "id",
    "created_at",
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
    "chain_seq",
    "chain_hash",
];

/// The audit actions of an export: its start (with the filter) and its end (with the count).
pub const EXPORT: &str = "audit.export";
pub const EXPORT_DONE: &str = "audit.export.done";

fn cells(r: &AuditRow) -> [Option<String>; 15] {
    let n = |v: Option<i64>| v.map(|v| v.to_string());
    [
        Some(r.id.clone()),
        Some(r.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
        r.user_id.clone(),
        Some(r.action.clone()),
        r.entity_type.clone(),
        r.entity_id.clone(),
        r.ip_address.clone(),
        r.user_agent.clone(),
        r.request_method.clone(),
        r.request_path.clone(),
        n(r.response_status),
        n(r.execution_time_ms),
        r.error_message.clone(),
        n(r.chain_seq),
        r.chain_hash.clone(),
    ]
}

/// Where exported events go, encoded.
pub enum Sink<W: Write> {
    Csv(csv::Writer<W>),
    Ndjson(W),
}

impl<W: Write> Sink<W> {
    /// A sink writing to `w`; a CSV one starts with the header row.
    pub fn new(format: Format, w: W) -> AppResult<Sink<W>> {
        let mut sink = Sink::continuing(format, w);
        if let Sink::Csv(csv) = &mut sink {
            csv.write_record(COLUMNS).map_err(AppError::internal)?;
        }
        Ok(sink)
    }

    /// A sink that goes on where another stopped (no header).
    pub fn continuing(format: Format, w: W) -> Sink<W> {
        match format {
            Format::Csv => Sink::Csv(csv::WriterBuilder::new().has_headers(false).from_writer(w)),
            Format::Ndjson => Sink::Ndjson(w),
        }
    }

    pub fn write(&mut self, r: &AuditRow) -> AppResult<()> {
        let cells = cells(r);
        match self {
            // Field by field: no copy of a cell unless it must be neutralised.
            Sink::Csv(w) => {
                for c in &cells {
                    w.write_field(neutral(c.as_deref().unwrap_or_default()).as_bytes()).map_err(AppError::internal)?;
                }
                w.write_record(None::<&[u8]>).map_err(AppError::internal)
            }
            Sink::Ndjson(w) => {
                let row: serde_json::Map<String, serde_json::Value> = COLUMNS
                    .iter()
                    .zip(cells)
                    .enumerate()
                    .map(|(i, (k, v))| {
                        let number = matches!(i, 10 | 11 | 13);
                        let value = match v {
                            None => serde_json::Value::Null,
                            Some(v) if number => v.parse::<i64>().map(Into::into).unwrap_or(serde_json::Value::Null),
                            Some(v) => v.into(),
                        };
                        (k.to_string(), value)
                    })
                    .collect();
                serde_json::to_writer(&mut *w, &row).map_err(AppError::internal)?;
                w.write_all(b"\n").map_err(AppError::internal)
            }
        }
    }

    pub fn into_inner(self) -> AppResult<W> {
        match self {
            Sink::Csv(w) => w.into_inner().map_err(|e| AppError::internal(e.to_string())),
            Sink::Ndjson(w) => Ok(w),
        }
    }
}

/// Before an export's first byte: the filter checked against the database (an
/// unknown actor is refused while an answer can still say so) and the start's audit
/// row, with the filter and the format.
pub fn begin(
    s: &dyn pathfinder::storage::Storage,
    filter: &AuditFilter,
    params: &AuditParams,
    format: Format,
    who: Option<&pathfinder::UserId>,
    meta: &RequestMeta,
) -> AppResult<()> {
    s.search_audit(&AuditFilter { page_size: 50, ..filter.clone() })?;
    let mut start = meta.audit(who, EXPORT, ("audit_log", None), 200);
    start.error_message = Some(format!("format={} filter: {}", format.as_str(), params.describe()));
    s.append_audit(&start)
}

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(flatten)]
    params: AuditParams,
    #[serde(default)]
    format: String,
}

/// Events per chunk sent to the client.
const CHUNK_ROWS: usize = 1_000;

/// `GET /export/audit?<the Audit page's filter>&format=csv|ndjson` (compliance,
/// admin). Audited before the first byte (`audit.export`, with the filter) and at
/// its end (`audit.export.done`, with the count, or how far it got). A client
/// that hangs up stops the query within one batch.
pub async fn download(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let refuse = |e: AppError| crate::router::error_response(&e);
    let format = match Format::parse(&q.format) {
        Ok(f) => f,
        Err(e) => return refuse(e),
    };
    let filter = match AuditFilter::from_params(&q.params.first_page(), chrono::Utc::now()) {
        Ok(f) => f,
        Err(e) => return refuse(e),
    };
    let Some(who) = who else { return StatusCode::UNAUTHORIZED.into_response() };
    let (check, params, start_meta, user) = (filter.clone(), q.params.clone(), meta.clone(), who.user_id.clone());
    let started = st.db.call(move |s| begin(s, &check, &params, format, Some(&user), &start_meta)).await;
    if let Err(e) = started {
        return refuse(e);
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let mut done = meta.audit(Some(&who.user_id), EXPORT_DONE, ("audit_log", None), 200);
    st.db.detach("audit export", move |s| {
        let mut sink = Sink::new(format, Vec::new())?;
        let (mut in_chunk, mut gone, mut failed) = (0usize, false, None);
        let n = s.export_audit(&filter, &mut |row| {
            if let Err(e) = sink.write(row) {
                failed = Some(e);
                return false;
            }
            in_chunk += 1;
            if in_chunk >= CHUNK_ROWS {
                in_chunk = 0;
                let full = std::mem::replace(&mut sink, Sink::continuing(format, Vec::new()));
                match full.into_inner() {
                    Ok(bytes) => gone = tx.blocking_send(Ok(bytes)).is_err(),
                    Err(e) => failed = Some(e),
                }
            }
            !gone && failed.is_none()
        });
        let outcome = match (n, failed) {
            (Err(e), _) | (Ok(_), Some(e)) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                done.response_status = e.status();
                format!("failed after some rows: {e}")
            }
            (Ok(n), None) => {
                if !gone {
                    let _ = tx.blocking_send(sink.into_inner().map_err(|e| std::io::Error::other(e.to_string())));
                }
                if gone {
                    done.response_status = 499;
                    format!("{n} events sent before the client went away")
                } else {
                    format!("{n} events")
                }
            }
        };
        done.error_message = Some(outcome);
        s.append_audit(&done)
    });
    super::attachment(format, "audit", rx)
}
