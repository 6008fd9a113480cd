//! How a server function is written. Each one is a thin adapter, in four steps:
//!
//! 1. **Authorize**: [`serve`] (or [`serve_anyone`] for a public one) checks the
//!    function's own row of the policy table, found through its type, and hands the
//!    body a [`Caller`]: the principal and the request's metadata together.
//! 2. **Parse** the fields into what storage takes (`from_query`, `validated`),
//!    refusing bad input with `AppError::Invalid` before anything changes.
//! 3. Make **one storage call** (`caller.db.call(…)`, or `caller.read(…)` for a
//!    function that answers with data about people: the call and its read row,
//!    written before the data leaves). Where a page needs several
//!    reads, storage offers one page-shaped read (`user_page`, `flag_page`, …); the
//!    function does not compose them, loop over pages or trim them.
//! 4. **Answer**: the value, or the error with its status (see [`serve`]).
//!
//! Nothing else: no SQL, no decisions that storage should make (and test). An
//! endpoint's path is written once, in `#[server(endpoint = …)]`; its policy row and
//! the plain forms that post to it take it from the function's type
//! (`policy::api::<F>`, `policy::path_of::<F>`), so a misspelt path does not compile.
//! Errors follow `pathfinder::error`.

use crate::policy::{access_for, second_factor_first, Access};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use pathfinder::db::Db;
use pathfinder::dto::Principal;
use pathfinder::request::RequestMeta;
use pathfinder::storage::{fresh_sign_in_needed, read_row_failed, read_row_of, Action, AuditEntry, Returned, Storage};
use pathfinder::AppError;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Who calls a server function, about which request, and the storage to call.
pub struct Caller {
    pub who: Principal,
    pub meta: RequestMeta,
    pub db: Db,
    /// Set once the body has read through [`Caller::read`].
    read: Arc<AtomicBool>,
}

impl Caller {
    /// Reads data about people (one storage call) and has the read's audit row
    /// written before the answer leaves: `action` on `entity` (a person: `("user",
    /// Some(id))`; a list: its kind and `None`, with `what` saying which filter). The
    /// request's rows are written together by the access layer (`ReadLedger`); if
    /// they cannot be, nothing is answered (503 with a reference).
    pub async fn read<T, F>(
        &self,
        action: Action,
        entity: (&str, Option<String>),
        what: &str,
        read: F,
    ) -> Result<T, AppError>
    where
        T: Returned + Send + 'static,
        F: FnOnce(&dyn Storage) -> Result<T, AppError> + Send + 'static,
    {
        self.read.store(true, Ordering::Relaxed);
        let asked = self.audit(action, (entity.0, entity.1.as_deref()));
        read_people(&self.db, &self.meta, asked, what, read).await
    }

    /// Like [`Caller::read`], for a read whose storage call writes the row itself,
    /// in the read's own transaction (revealing encrypted or self-written fields).
    pub async fn read_with_row<T, F>(
        &self,
        action: Action,
        entity: (&str, Option<String>),
        read: F,
    ) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Storage, &AuditEntry) -> Result<T, AppError> + Send + 'static,
    {
        self.read.store(true, Ordering::Relaxed);
        let row = self.audit(action, (entity.0, entity.1.as_deref()));
        self.db.call(move |s| read(s, &row)).await
    }

    /// The audit row of `action` on an entity, by the caller, for this request.
    pub fn audit(&self, action: Action, entity: (&str, Option<&str>)) -> AuditEntry {
        self.meta.audit(Some(&self.who.user_id), action, entity)
    }

    /// Dangerous actions need the caller to have signed in (or confirmed their
    /// password) within the last few minutes.
    pub fn signed_in_lately(&self) -> bool {
        pathfinder::storage::signed_in_lately(&self.who)
    }

    /// `Ok` when [`Caller::signed_in_lately`], else the sentence that says what to do.
    pub fn require_fresh_sign_in(&self, what: &str) -> Result<(), AppError> {
        if self.signed_in_lately() {
            return Ok(());
        }
        Err(fresh_sign_in_needed(what))
    }

    /// Whether the caller is `user_id`: the changes nobody makes to their own account.
    pub fn is(&self, user_id: &str) -> bool {
        self.who.user_id.0 == user_id
    }
}

/// Runs the body of the server function `F` for a signed-in caller its policy row
/// admits, and answers with the status that goes with its error (a server function
/// answers 500 for every error otherwise). A plain form post is redirected back to
/// its page instead, error and all.
///
/// A function whose policy row says it answers with data about people must have
/// read through [`Caller::read`]: if it answers without its read row, the answer is
/// withheld (a 500), so a function that forgets fails closed and its tests fail.
pub async fn serve<F: ServerFn, T>(body: impl AsyncFnOnce(Caller) -> Result<T, AppError>) -> Result<T, AppError> {
    answer(async {
        let who = authorize(F::PATH)?.ok_or(AppError::Unauthenticated)?;
        let read = Arc::new(AtomicBool::new(false));
        let out = body(Caller { who, meta: request_meta()?, db: context::<Db>()?, read: read.clone() }).await?;
        if crate::policy::reads_people(F::PATH) && !read.load(Ordering::Relaxed) {
            return Err(AppError::internal(format!(
                "{} answered with data about people without its read row",
                F::PATH
            )));
        }
        Ok(out)
    })
    .await
}

/// Like [`serve`], for a server function anyone may call: the body gets the
/// principal if there is one, the request's metadata and the storage.
pub async fn serve_anyone<F: ServerFn, T>(
    body: impl AsyncFnOnce(Option<Principal>, RequestMeta, Db) -> Result<T, AppError>,
) -> Result<T, AppError> {
    answer(async {
        let who = authorize(F::PATH)?;
        body(who, request_meta()?, context::<Db>()?).await
    })
    .await
}

/// Runs `read` (one storage call) for the request `meta`, and has its row (`asked`,
/// with `what` was asked and how many rows came back) written before the answer
/// leaves: kept in the request's `ReadLedger` for the access layer to write with
/// its other reads, or written now when the answer has begun leaving.
pub async fn read_people<T, F>(
    db: &Db,
    meta: &RequestMeta,
    asked: AuditEntry,
    what: &str,
    read: F,
) -> Result<T, AppError>
where
    T: Returned + Send + 'static,
    F: FnOnce(&dyn Storage) -> Result<T, AppError> + Send + 'static,
{
    let asked = if what.is_empty() { asked } else { asked.with_detail(what) };
    let data = db.call(read).await?;
    let asked = match data.person() {
        Some(id) => AuditEntry { entity_type: Some("user".into()), entity_id: Some(id), ..asked },
        None => asked,
    };
    if let Some(row) = meta.reads.defer(read_row_of(&asked, data.rows())) {
        db.call(move |s| s.record_read(&row)).await.map_err(read_row_failed)?;
    }
    Ok(data)
}

/// The principal the server's access layer attached to this request.
pub fn principal() -> Option<Principal> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Option<Principal>>().cloned())
        .flatten()
}

/// Checks the current request's principal against the policy entry of `path`.
fn authorize(path: &str) -> Result<Option<Principal>, AppError> {
    let who = principal();
    match access_for(path) {
        Some(Access::Public) => Ok(who),
        Some(Access::Roles(roles)) => match who {
            None => Err(AppError::Unauthenticated),
            Some(p) if p.mfa_pending => Err(second_factor_first()),
            Some(p) if p.has_any(roles) => Ok(Some(p)),
            Some(_) => Err(AppError::Forbidden),
        },
        Some(Access::Account) => who.map(Some).ok_or(AppError::Unauthenticated),
        Some(Access::ApiKey) | None => Err(AppError::Forbidden),
    }
}

/// Something the server put in the server functions' context (`http::state`).
pub fn context<T: Clone + Send + Sync + 'static>() -> Result<T, AppError> {
    use_context::<T>().ok_or_else(|| {
        AppError::internal(format!("{} missing from the server function context", std::any::type_name::<T>()))
    })
}

/// A browser's form post without the page's code (it accepts HTML): its answer
/// is a redirect, not data.
pub fn is_plain_form_post() -> bool {
    // A page load (GET) accepts HTML too: its server functions run during the
    // render, and their errors give the page its status.
    use_context::<axum::http::request::Parts>().is_some_and(|p| {
        p.method == axum::http::Method::POST
            && p.headers
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
    })
}

/// A plain form post goes on to `path` once it has done its work.
pub fn after_form_go_to(path: &str) {
    if is_plain_form_post() {
        leptos_axum::redirect(path);
    }
}

async fn answer<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let result = body.await;
    if let (false, Err(e), Some(response)) =
        (is_plain_form_post(), &result, use_context::<leptos_axum::ResponseOptions>())
    {
        response.set_status(
            axum::http::StatusCode::from_u16(e.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    result
}

/// What the access layer recorded about this request (for its audit rows).
fn request_meta() -> Result<RequestMeta, AppError> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<RequestMeta>().cloned())
        .ok_or_else(|| AppError::internal("request metadata missing from the server function context"))
}
