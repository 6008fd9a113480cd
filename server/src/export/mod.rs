//! Streamed exports: the users list of a filter as CSV or NDJSON, page by page (200
//! users per query, keyset), so memory stays flat and the first bytes leave at once;
//! a client that hangs up stops the walk at the next page. The audit log's export
//! (`audit_export`) streams its events the same way, from the page and the CLI.

pub mod audit;

use crate::router::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use pathfinder::dto::{Principal, UserSummary};
use pathfinder::filter::UserFilter;
use pathfinder::request::RequestMeta;
use pathfinder::AppError;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    q: String,
    #[serde(default, rename = "match")]
    mode: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    dir: String,
    #[serde(default)]
    format: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, AppError> {
        match s {
            "" | "csv" => Ok(Format::Csv),
            "ndjson" => Ok(Format::Ndjson),
            other => Err(AppError::invalid(format!("Unknown format {other:?}: csv or ndjson."))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }
}

const COLUMNS: [&str; 8] =
    ["user_id", "username", "email", "first_name", "last_name", "account_status", "created_at", "last_login"];

/// A spreadsheet must not run what a cell says: text that starts like a formula is
/// kept as text (a leading `'`).
pub fn neutral(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn cells(u: &UserSummary) -> [String; 8] {
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    [
        u.user_id.0.clone(),
        u.username.clone(),
        u.email.clone(),
        u.first_name.clone().unwrap_or_default(),
        u.last_name.clone().unwrap_or_default(),
        u.account_status.clone(),
        time(&u.created_at),
        time(&u.last_login),
    ]
}

fn encode(format: Format, users: &[UserSummary], header: bool) -> Result<Vec<u8>, AppError> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            if header {
                w.write_record(COLUMNS).map_err(AppError::internal)?;
            }
            for u in users {
                w.write_record(cells(u).iter().map(|c| neutral(c).into_owned())).map_err(AppError::internal)?;
            }
            w.into_inner().map_err(AppError::internal)
        }
        Format::Ndjson => {
            let mut out = Vec::new();
            for u in users {
                let row: serde_json::Map<String, serde_json::Value> =
                    COLUMNS.iter().zip(cells(u)).map(|(k, v)| (k.to_string(), v.into())).collect();
                serde_json::to_writer(&mut out, &row).map_err(AppError::internal)?;
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

/// `GET /export/users?q=&match=&status=&sort=&dir=&format=csv|ndjson` (admins). The
/// export is audited (`users.export`, with its filter) before the first byte.
pub async fn users(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let format = match Format::parse(&q.format) {
        Ok(f) => f,
        Err(e) => return crate::router::error_response(&e),
    };
    let mut filter = match UserFilter::from_query(&q.q, &q.mode, &q.status, &q.sort, &q.dir, "") {
        Ok(f) => f,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let Some(who) = who else { return StatusCode::UNAUTHORIZED.into_response() };
    let mut audit = meta.audit(Some(&who.user_id), "users.export", ("user", None), 200);
    audit.error_message =
        Some(format!("q={:?} match={:?} status={:?} format={}", q.q, q.mode, q.status, format.as_str()));
    if let Err(e) = st.db.call(move |s| s.append_audit(&audit)).await {
        return crate::router::error_response(&e);
    }
    filter.limit = pathfinder::filter::PAGE_SIZE_MAX;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let db = st.db.clone();
    tokio::spawn(async move {
        let mut header = true;
        loop {
            let page_filter = filter.clone();
            let page = db.call(move |s| s.search_users(&page_filter)).await;
            let chunk = page.and_then(|p| encode(format, &p.items, header).map(|bytes| (bytes, p.next_cursor)));
            header = false;
            let (bytes, next) = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            // The client hung up: no more queries.
            if tx.send(Ok(bytes)).await.is_err() {
                return;
            }
            match next {
                Some(cursor) => filter.after = Some(cursor),
                None => return,
            }
        }
    });
    attachment(format, "users", rx)
}

/// The streamed answer of an export: chunks from `rx`, as a download named
/// `<stem>.<format>`.
pub fn attachment(
    format: Format,
    stem: &str,
    rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> Response {
    let kind = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Ndjson => "application/x-ndjson",
    };
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{stem}.{}\"", format.as_str())),
        ],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_kept_as_text() {
        for cell in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutral(cell).starts_with('\''), "{cell}");
        }
        assert_eq!(neutral("alice"), "alice");
        assert_eq!(neutral(""), "");
    }
}
