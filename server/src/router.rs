//! The HTTP surface: Leptos pages and server functions, sign-in and sign-out,
//! health, readiness and metrics, all behind the access layer.

use crate::auth::throttle::{SignInThrottle, Verdict};
use crate::auth::{access, device_cookie_name, login, session_cookie_name, TokenKeys, DEVICE_COOKIE_SECS};
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use pathfinder::db::Db;
use pathfinder::dto::Principal;
use pathfinder::request::RequestMeta;
use pathfinder::stats::OverviewCache;
use pathfinder::storage::KeyPolicy;
use pathfinder::AppError;
use pathfinder_app::{shell, App};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub keys: Arc<TokenKeys>,
    /// Bearer token `/metrics` requires, when set.
    pub metrics_token: Option<Arc<str>>,
    /// Adds `Secure` to the session cookie (set when served over HTTPS).
    pub secure_cookie: bool,
    /// The overview's counts, kept by [`crate::jobs::overview`].
    pub overview: Arc<OverviewCache>,
    /// This instance's pool samples, taken by [`crate::jobs::pool`].
    pub pool_history: Arc<pathfinder::pool::PoolHistory>,
    /// When a data key counts as overdue for rotation.
    pub key_policy: KeyPolicy,
    /// The storage sampler's settings and alert thresholds.
    pub storage_policy: pathfinder::usage::StoragePolicy,
    /// The host names the console answers to (`Host` header, port left out): a page
    /// on another name that resolves here (DNS rebinding) is refused.
    pub allowed_hosts: Arc<[String]>,
    /// Session lifetimes: absolute and idle.
    pub session_policy: crate::auth::SessionPolicy,
    /// When failed sign-ins lock an account.
    pub lockout: crate::auth::guard::LockoutPolicy,
    /// Sign-in attempts per client address (this instance's buckets).
    pub throttle: Arc<SignInThrottle>,
    /// Flag evaluations per API key (this instance's buckets).
    pub ofrep_rate: Arc<crate::ofrep::ApiRate>,
    /// Proxies whose `X-Forwarded-For` names the client (`PF_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// Where invitation mail goes, and the console's public address for its links.
    pub outbox: pathfinder::mail::Outbox,
    /// The key that signs the audit chain's checkpoints (the Audit page's verify).
    pub audit_key: Option<pathfinder::audit::AuditKey>,
    /// The settings in effect, secrets as set or unset (the Diagnostics page).
    pub settings: Arc<[pathfinder::diagnostics::Setting]>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let (db, overview, key_policy) = (state.db.clone(), state.overview.clone(), state.key_policy);
    let storage_policy = state.storage_policy;
    let settings = state.settings.clone();
    let outbox = state.outbox.clone();
    let pool_history = state.pool_history.clone();
    let audit_key = state.audit_key.clone();
    let context = move || {
        provide_context(db.clone());
        provide_context(overview.clone());
        provide_context(pool_history.clone());
        provide_context(key_policy);
        provide_context(storage_policy);
        provide_context(settings.clone());
        provide_context(outbox.clone());
        if let Some(k) = &audit_key {
            provide_context(k.clone());
        }
    };
    Router::new()
        .route("/auth/login", post(sign_in))
        .route("/auth/logout", post(sign_out))
        .route("/auth/confirm", post(confirm))
        .route("/auth/accept_invitation", post(accept_invitation))
        .route("/export/users", get(crate::export::users))
        .route("/export/audit", get(crate::export::audit::download))
        .route("/charts/audit.svg", get(crate::charts::audit))
        .route("/charts/pool.svg", get(crate::charts::pool))
        .route("/charts/storage.svg", get(crate::charts::storage))
        .route("/ofrep/v1/evaluate/flags", post(crate::ofrep::evaluate_flags))
        .route("/ofrep/v1/evaluate/flags/{key}", post(crate::ofrep::evaluate_flag))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::layer))
        .with_state(state)
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// The two-factor code, for accounts that use one.
    #[serde(default)]
    code: String,
}

/// The throttle's word on a password attempt from this client: calm or not, or the
/// 429 to answer. No audit row for a refused one: no password was looked at, and a
/// flood must not become a flood of writes. The metric counts them.
fn throttle(st: &AppState, meta: &RequestMeta) -> Result<bool, Response> {
    match st.throttle.check(meta.ip.as_deref().and_then(|ip| ip.parse().ok())) {
        Verdict::Throttled(wait) => {
            crate::metrics::count_login("throttled");
            let secs = wait.as_secs().max(1);
            let text = format!("Too many sign-in attempts from your address. Try again in {secs} seconds.");
            Err((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, secs.to_string())], text).into_response())
        }
        verdict => Ok(verdict == Verdict::Calm),
    }
}

async fn sign_in(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let calm = match throttle(&st, &meta) {
        Ok(calm) => calm,
        Err(refused) => return refused,
    };
    let device = access::cookie(&headers, device_cookie_name(st.secure_cookie));
    // Its own task: a client that hangs up midway cannot cut an attempt short
    // between taking its account's lease and recording the outcome.
    let attempt = {
        let st = st.clone();
        tokio::spawn(async move {
            let attempt = login::Attempt {
                username: &c.username,
                password: &c.password,
                device: device.as_deref(),
                code: Some(c.code.as_str()),
                calm,
            };
            login::sign_in(&st.db, &st.keys, &st.session_policy, &st.lockout, &meta, &attempt).await
        })
    };
    let outcome = attempt.await.unwrap_or_else(|e| Err(AppError::internal(e)));
    match outcome {
        Ok(s) => {
            st.overview.changed();
            let mut resp = see_other("/", Some(session_cookie(&s.token, s.max_age_secs, st.secure_cookie)));
            let device = cookie(device_cookie_name(st.secure_cookie), &s.device, DEVICE_COOKIE_SECS, st.secure_cookie);
            if let Ok(v) = device.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(AppError::BadCredentials) => see_other("/login?error=credentials", None),
        Err(e) => {
            tracing::warn!(error = %e, "sign-in could not complete");
            see_other("/login?error=unavailable", None)
        }
    }
}

#[derive(Deserialize)]
struct Confirmation {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    /// The console page to go back to.
    #[serde(default)]
    next: String,
}

/// The signed-in user confirms their password (and code): back to the page they
/// came from, which says how it went (`?confirm=ok` or `failed`).
async fn confirm(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    headers: HeaderMap,
    Form(c): Form<Confirmation>,
) -> Response {
    let Some(who) = who else { return see_other("/login", None) };
    // Only a path of this console: never another site.
    let next = if c.next.starts_with('/') && !c.next.starts_with("//") { c.next.clone() } else { "/account".into() };
    let next = next.split('?').next().unwrap_or("/account").to_string();
    let calm = match throttle(&st, &meta) {
        Ok(calm) => calm,
        Err(refused) => return refused,
    };
    let device = access::cookie(&headers, device_cookie_name(st.secure_cookie));
    let outcome = {
        let st = st.clone();
        tokio::spawn(async move {
            let attempt = login::Attempt {
                username: &who.username,
                password: &c.password,
                device: device.as_deref(),
                code: Some(c.code.as_str()),
                calm,
            };
            login::confirm(&st.db, &st.lockout, &meta, &who, &attempt).await
        })
    };
    match outcome.await.unwrap_or_else(|e| Err(AppError::internal(e))) {
        Ok(()) => see_other(&format!("{next}?confirm=ok"), None),
        Err(AppError::BadCredentials) => see_other(&format!("{next}?confirm=failed"), None),
        Err(e) => {
            tracing::warn!(error = %e, "a confirmation could not complete");
            see_other(&format!("{next}?confirm=unavailable"), None)
        }
    }
}

#[derive(Deserialize)]
struct Acceptance {
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The invitee's form: a username and a password make their account in one
/// transaction with the invitation used up. A link used, expired or withdrawn answers
/// 410 with a sentence; bad input goes back to the form with its error's code.
async fn accept_invitation(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Form(a): Form<Acceptance>,
) -> Response {
    let calm = match throttle(&st, &meta) {
        Ok(calm) => calm,
        Err(refused) => return refused,
    };
    let token_hash = crate::auth::token::token_hash(&a.token);
    let back = |e: &AppError| see_other(&format!("/invite/{}?__err={}", a.token, e.code()), None);
    let username = match pathfinder::Username::parse(&a.username) {
        Ok(u) => u,
        Err(e) => return back(&e),
    };
    let password_hash = match login::hash_password(&a.password, calm).await {
        Ok(h) => h,
        Err(e) => return back(&e),
    };
    let user = pathfinder::storage::NewUser {
        user_id: pathfinder::UserId::new(),
        username,
        email: String::new(),
        password_hash,
        first_name: None,
        last_name: None,
        account_status: "active".into(),
        roles: vec![],
        feature_group_id: None,
    };
    let audit = meta.audit(Some(&user.user_id), "invitation.accept", ("user", Some(user.user_id.as_str())), 303);
    let now = chrono::Utc::now();
    match st.db.call(move |s| s.accept_invitation(&token_hash, &user, now, &audit)).await {
        Ok(()) => {
            st.overview.changed();
            see_other("/login?invited=1", None)
        }
        Err(AppError::Gone(said)) => (StatusCode::GONE, said).into_response(),
        Err(e) => back(&e),
    }
}

async fn sign_out(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
) -> Response {
    if let Some(p) = who {
        if let Err(e) = login::sign_out(&st.db, &meta, &p).await {
            tracing::warn!(error = %e, "sign-out could not record the session's end");
            return error_response(&e);
        }
        st.overview.changed();
    }
    see_other("/login?signed_out=1", Some(session_cookie("", 0, st.secure_cookie)))
}

/// An error as an answer: its status, and its sentence (never a cause: see `AppError`).
pub fn error_response(e: &AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, e.to_string()).into_response()
}

pub fn session_cookie(token: &str, max_age: i64, secure: bool) -> String {
    cookie(session_cookie_name(secure), token, max_age, secure)
}

fn cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

fn see_other(to: &str, cookie: Option<String>) -> Response {
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response();
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

async fn ready(State(st): State<AppState>) -> Response {
    match st.db.call(|s| s.ping()).await {
        Ok(()) => "ready".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

async fn metrics(State(st): State<AppState>, Extension(meta): Extension<RequestMeta>, headers: HeaderMap) -> Response {
    // Without a token, only this machine may scrape: a scrape from elsewhere is
    // refused with the way to allow it, rather than open to every network peer.
    // The client's address, not the peer's: a local proxy does not make it local.
    let client = meta.ip.as_deref().and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    if st.metrics_token.is_none() && !client.is_some_and(|ip| ip.is_loopback()) {
        return (
            StatusCode::FORBIDDEN,
            "Metrics answer only on this machine: set PF_METRICS_TOKEN to scrape from elsewhere.",
        )
            .into_response();
    }
    if let Some(want) = &st.metrics_token {
        if !bearer(&headers).is_some_and(|g| constant_time_eq(g.as_bytes(), want.as_bytes())) {
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "A bearer token is required.")
                .into_response();
        }
    }
    let body = crate::metrics::render(st.db.storage().pool_stats());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
