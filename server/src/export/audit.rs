//! The audit log's export: exactly the events of a filter, as CSV or NDJSON. The
//! page's download (`GET /export/audit`, streamed) and the CLI's `audit export`
//! write through the same [`Sink`].

use super::{neutral, Format};
use pathfinder::audit::{AuditFilter, AuditParams, AuditRow};
use pathfinder::request::RequestMeta;
use pathfinder::storage::AUDIT_EXPORT;
use pathfinder::{AppError, AppResult};
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
        r.detail.clone(),
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
    let start = meta.audit(who, AUDIT_EXPORT, ("audit_log", None)).with_detail(format!(
        "format={} filter: {}",
        format.as_str(),
        params.describe()
    ));
    s.append_audit(&start)
}
