//! The server's own forms of sign-in: signing in and out, confirming one's password
//! for the dangerous actions of the next minutes, and accepting an invitation. Plain
//! form posts that answer with a redirect, so they work before any page's code loads.

use super::error::HttpError;
use super::state::AppState;
use crate::auth::throttle::Verdict;
use crate::auth::{cookies, login};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use pathfinder::dto::Principal;
use pathfinder::request::RequestMeta;
use pathfinder::storage::INVITATION_ACCEPT;
use pathfinder::AppError;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Credentials {
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

pub async fn sign_in(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let calm = match throttle(&st, &meta) {
        Ok(calm) => calm,
        Err(refused) => return refused,
    };
    let device = cookies::device_secret(&headers, st.secure_cookie);
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
            let mut resp = see_other("/");
            cookies::set_session(resp.headers_mut(), &s.token, s.max_age_secs, st.secure_cookie);
            cookies::set_device(resp.headers_mut(), &s.device, st.secure_cookie);
            resp
        }
        Err(AppError::BadCredentials) => see_other("/login?error=credentials"),
        Err(e) => {
            tracing::warn!(error = %e, "sign-in could not complete");
            see_other("/login?error=unavailable")
        }
    }
}

#[derive(Deserialize)]
pub struct Confirmation {
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
/// A path of this console, without its query: never another site. Browsers read
/// `/\host` as `//host`, and drop tabs and newlines, so only plain path characters pass.
fn own_path(next: &str) -> Option<&str> {
    let path = next.split(['?', '#']).next()?;
    let plain = path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-._~%".contains(&b));
    (path.starts_with('/') && !path.starts_with("//") && plain).then_some(path)
}

pub async fn confirm(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
    headers: HeaderMap,
    Form(c): Form<Confirmation>,
) -> Response {
    let Some(who) = who else { return see_other("/login") };
    let next = own_path(&c.next).unwrap_or("/account").to_string();
    let calm = match throttle(&st, &meta) {
        Ok(calm) => calm,
        Err(refused) => return refused,
    };
    let device = cookies::device_secret(&headers, st.secure_cookie);
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
        Ok(()) => see_other(&format!("{next}?confirm=ok")),
        Err(AppError::BadCredentials) => see_other(&format!("{next}?confirm=failed")),
        Err(e) => {
            tracing::warn!(error = %e, "a confirmation could not complete");
            see_other(&format!("{next}?confirm=unavailable"))
        }
    }
}

#[derive(Deserialize)]
pub struct Acceptance {
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
pub async fn accept_invitation(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Form(a): Form<Acceptance>,
) -> Response {
    let calm = match throttle(&st, &meta) {
        Ok(calm) => calm,
        Err(refused) => return refused,
    };
    let token_hash = crate::auth::token::token_hash(&a.token);
    let back = |e: &AppError| see_other(&format!("/invite/{}?__err={}", a.token, e.code()));
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
    let audit = meta.audit(Some(&user.user_id), INVITATION_ACCEPT, ("user", Some(user.user_id.as_str())));
    let now = chrono::Utc::now();
    match st.db.call(move |s| s.accept_invitation(&token_hash, &user, now, &audit)).await {
        Ok(()) => {
            st.overview.changed();
            see_other("/login?invited=1")
        }
        Err(AppError::Gone(said)) => (StatusCode::GONE, said).into_response(),
        Err(e) => back(&e),
    }
}

pub async fn sign_out(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(who): Extension<Option<Principal>>,
) -> Result<Response, HttpError> {
    if let Some(p) = who {
        login::sign_out(&st.db, &meta, &p).await.inspect_err(|e| {
            tracing::warn!(error = %e, "sign-out could not record the session's end");
        })?;
        st.overview.changed();
    }
    let mut resp = see_other("/login?signed_out=1");
    cookies::clear_session(resp.headers_mut(), st.secure_cookie);
    Ok(resp)
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}
