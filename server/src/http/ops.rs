//! Health, readiness and metrics.

use super::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use pathfinder::request::RequestMeta;

pub async fn ready(State(st): State<AppState>) -> Response {
    match st.db.call(|s| s.ping()).await {
        Ok(()) => "ready".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

pub async fn metrics(
    State(st): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
) -> Response {
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
        if !crate::auth::token::bearer(&headers).is_some_and(|g| constant_time_eq(g.as_bytes(), want.as_bytes())) {
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
