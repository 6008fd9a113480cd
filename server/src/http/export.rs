//! Streamed downloads: the users list of a filter and the audit log's events of a
//! filter, as CSV or NDJSON. Page by page (keyset), so memory stays flat and the
//! first bytes leave at once; a client that hangs up stops the walk at the next
//! page. Each is audited before its first byte.

use super::error::HttpError;
use super::state::AppState;
use crate::export::access_reviews::{report_csv, ReportSigner};
use crate::export::audit::{begin, Sink};
use crate::export::pert::encode_reports;
use crate::export::{encode_users, Format};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use pathfinder::audit::{AuditFilter, AuditParams};
use pathfinder::dto::Principal;
use pathfinder::filter::UserFilter;
use pathfinder::pert::{PertFilter, PertParams};
use pathfinder::request::RequestMeta;
use pathfinder::storage::{AUDIT_EXPORT_DONE, PERT_REPORTS_EXPORT, USERS_EXPORT};
use pathfinder::AppError;
use serde::Deserialize;

type Chunks = tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>;

#[derive(Deserialize)]
pub struct UsersQuery {
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

/// `GET /export/users?q=&match=&status=&sort=&dir=&format=csv|ndjson` (admins). The
/// export is audited (`users.export`, with its filter) before the first byte.
pub async fn users(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    Query(q): Query<UsersQuery>,
) -> Result<Response, HttpError> {
    let format = Format::parse(&q.format)?;
    let mut filter = UserFilter::from_query(&q.q, &q.mode, &q.status, &q.sort, &q.dir, "")?;
    let who = who.ok_or(AppError::Unauthenticated)?;
    let audit = meta.audit(Some(&who.user_id), USERS_EXPORT, ("user", None)).with_detail(format!(
        "q={:?} match={:?} status={:?} format={}",
        q.q,
        q.mode,
        q.status,
        format.as_str()
    ));
    st.db.call(move |s| s.append_audit(&audit)).await?;
    filter.limit = pathfinder::filter::PAGE_SIZE_MAX;
    let rx = stream_pages(st.db.clone(), filter, move |s, filter, header| {
        let page = s.search_users(filter)?;
        let bytes = encode_users(format, &page.items, header)?;
        Ok((bytes, page.next_cursor.map(|after| UserFilter { after: Some(after), ..filter.clone() })))
    });
    Ok(attachment(format, "users", rx))
}

#[derive(Deserialize)]
pub struct PertQuery {
    #[serde(flatten)]
    params: PertParams,
    #[serde(default)]
    format: String,
}

/// Reports an export query reads at a time.
const PERT_EXPORT_PAGE: u32 = 500;

/// `GET /export/pert?<the reports list's filter>&format=csv|ndjson` (compliance,
/// admin): every report the filter selects, newest first. Its read row (the filter,
/// the format) is written before the first byte.
pub async fn pert(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    Query(q): Query<PertQuery>,
) -> Result<Response, HttpError> {
    let format = Format::parse(&q.format)?;
    let filter = PertFilter::from_params(&PertParams { after: String::new(), ..q.params })?;
    let who = who.ok_or(AppError::Unauthenticated)?;
    let audit = meta.audit(Some(&who.user_id), PERT_REPORTS_EXPORT, ("pert_reports", None)).with_detail(format!(
        "{}; format={}",
        filter.describe(),
        format.as_str()
    ));
    st.db.call(move |s| s.append_audit(&audit)).await?;
    let today = chrono::Utc::now().date_naive();
    let rx = stream_pages(st.db.clone(), filter, move |s, filter, header| {
        let (rows, next) = s.pert_report_rows(filter, today, PERT_EXPORT_PAGE)?;
        let bytes = encode_reports(format, &rows, header)?;
        Ok((bytes, next.map(|after| PertFilter { after: Some(after), ..filter.clone() })))
    });
    Ok(attachment(format, "cpa-pert-reports", rx))
}

#[derive(Deserialize)]
pub struct AuditQuery {
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
pub async fn audit(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, HttpError> {
    let format = Format::parse(&q.format)?;
    let filter = AuditFilter::from_params(&q.params.first_page(), chrono::Utc::now())?;
    let who = who.ok_or(AppError::Unauthenticated)?;
    let (check, params, start_meta, user) = (filter.clone(), q.params.clone(), meta.clone(), who.user_id.clone());
    st.db.call(move |s| begin(s, &check, &params, format, Some(&user), &start_meta)).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut done = meta.audit(Some(&who.user_id), AUDIT_EXPORT_DONE, ("audit_log", None));
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
            (Ok(n), None) if gone => {
                done.response_status = 499;
                format!("{n} events sent before the client went away")
            }
            (Ok(n), None) => {
                let _ = tx.blocking_send(sink.into_inner().map_err(|e| std::io::Error::other(e.to_string())));
                format!("{n} events")
            }
        };
        done.detail = Some(outcome);
        s.append_audit(&done)
    });
    Ok(attachment(format, "audit", rx))
}

/// `POST /export/person/:id` (admins, within five minutes of their password):
/// everything about one person as a zip (`export::person`), audited before the
/// first row is read and after the last. The archive is written to a temporary
/// file (unlinked at once), then sent from it in chunks: memory stays flat.
pub async fn person(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, HttpError> {
    use pathfinder::storage::{fresh_sign_in_needed, signed_in_lately, SUBJECT_EXPORT};
    use std::io::{Read, Seek};
    let who = who.ok_or(AppError::Unauthenticated)?;
    if !signed_in_lately(&who) {
        return Err(fresh_sign_in_needed("exporting everything about a person").into());
    }
    let audit = meta.audit(Some(&who.user_id), SUBJECT_EXPORT, ("user", Some(&id)));
    let (file, person) = st
        .db
        .call(move |s| {
            let file = tempfile::tempfile().map_err(AppError::internal)?;
            let (mut file, counts) = crate::export::person::write_archive(s, &pathfinder::UserId(id), file, &audit)?;
            file.rewind().map_err(AppError::internal)?;
            Ok((file, counts.person))
        })
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        loop {
            let mut chunk = vec![0; 64 * 1024];
            match file.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => {
                    chunk.truncate(n);
                    // The client hung up: stop reading.
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Ok(download("application/zip", &format!("pathfinder-{person}.zip"), rx))
}

/// The streamed answer of an export: chunks from `rx`, as a download named
/// `<stem>.<format>`.
/// A download's chunks, a page at a time: `page` reads and encodes the page `at`
/// names (with the header on the first) and says where the next starts. It stops
/// after the last page, at an error (the stream's), or when the client hangs up
/// (no more queries).
fn stream_pages<At: Send + 'static>(
    db: pathfinder::db::Db,
    first: At,
    page: impl Fn(&dyn pathfinder::storage::Storage, &At, bool) -> Result<(Vec<u8>, Option<At>), AppError>
        + Send
        + Sync
        + 'static,
) -> Chunks {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let page = std::sync::Arc::new(page);
    tokio::spawn(async move {
        let (mut at, mut header) = (first, true);
        loop {
            let read = page.clone();
            let chunk = db.call(move |s| read(s, &at, header)).await;
            header = false;
            let (bytes, next) = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            if tx.send(Ok(bytes)).await.is_err() {
                return;
            }
            match next {
                Some(next) => at = next,
                None => return,
            }
        }
    });
    rx
}

fn attachment(format: Format, stem: &str, rx: Chunks) -> Response {
    let kind = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Ndjson => "application/x-ndjson",
    };
    download(kind, &format!("{stem}.{}", format.as_str()), rx)
}

/// Chunks from `rx` as a download of type `kind` named `filename`.
fn download(kind: &str, filename: &str, rx: Chunks) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
    )
        .into_response()
}

/// `GET /export/skills` and `GET /export/career-paths` (every console role): the
/// table as CSV, in the columns its import reads, so a file goes out and comes back
/// in unchanged.
pub async fn skills(State(st): State<AppState>) -> Result<Response, HttpError> {
    let csv = st.db.call(|s| s.export_skills_csv()).await?;
    Ok(csv_attachment("skills.csv", csv))
}

pub async fn career_paths(State(st): State<AppState>) -> Result<Response, HttpError> {
    let csv = st.db.call(|s| s.export_career_paths_csv()).await?;
    Ok(csv_attachment("career-paths.csv", csv))
}

fn csv_attachment(filename: &str, csv: String) -> Response {
    file_attachment("text/csv; charset=utf-8", filename, csv.into_bytes())
}

/// A download made whole in memory (a few kilobytes).
fn file_attachment(kind: &str, filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        bytes,
    )
        .into_response()
}

/// The closed campaign's report and the signer, its read row written first.
async fn access_review_csv(
    st: &AppState,
    meta: RequestMeta,
    who: Option<Principal>,
    id: String,
    part: &str,
) -> Result<(Vec<u8>, std::sync::Arc<ReportSigner>), HttpError> {
    use pathfinder::storage::ACCESS_REVIEW_REPORT;
    let who = who.ok_or(AppError::Unauthenticated)?;
    let signer = st.report_signer.clone().ok_or_else(|| {
        AppError::Unavailable("Reports are signed with a key made from the audit key: set PF_AUDIT_KEY.".into())
    })?;
    let audit = meta.audit(Some(&who.user_id), ACCESS_REVIEW_REPORT, ("access_review", Some(&id)));
    let part = part.to_string();
    let csv = st
        .db
        .call(move |s| {
            let view = s.access_review(&id)?.ok_or_else(|| AppError::NotFound("That access review".into()))?;
            let csv = report_csv(&view)?;
            s.append_audit(&audit.with_detail(format!("{}: {part}, {} lines", view.campaign.name, view.lines.len())))?;
            Ok(csv)
        })
        .await?;
    Ok((csv, signer))
}

/// `GET /export/access-review/:id/report.csv` (compliance, admin): a closed
/// campaign's report; audited before the bytes leave.
pub async fn access_review_report(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, HttpError> {
    let (csv, _) = access_review_csv(&st, meta, who, id.clone(), "report").await?;
    Ok(file_attachment("text/csv; charset=utf-8", &format!("access-review-{id}.csv"), csv))
}

/// `GET /export/access-review/:id/report.csv.sig`: the report's detached Ed25519
/// signature, 64 raw bytes.
pub async fn access_review_signature(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, HttpError> {
    let (csv, signer) = access_review_csv(&st, meta, who, id.clone(), "signature").await?;
    let signature = signer.sign(&csv).to_vec();
    Ok(file_attachment("application/octet-stream", &format!("access-review-{id}.csv.sig"), signature))
}

/// `GET /export/access-review-key.pem`: the public key that checks every report.
pub async fn access_review_key(State(st): State<AppState>) -> Result<Response, HttpError> {
    let key = st.report_key.clone().ok_or_else(|| AppError::Unavailable("No audit key is set.".into()))?;
    Ok(file_attachment("application/x-pem-file", "access-review-key.pem", key.pem.into_bytes()))
}
