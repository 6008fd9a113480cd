//! The layer every request passes: request id and metrics, the cross-site check on
//! mutating methods, session authentication, and the policy table of
//! `pathfinder_app::policy` (deny by default).

use super::state::AppState;
use crate::auth::{cookies, login};
use crate::metrics::METRICS;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use pathfinder::request::RequestMeta;
use pathfinder::AppError;
use pathfinder_app::policy::{rule_for, Access};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;
use tracing::Instrument;

/// Writes the rows of the request's reads of people (its `ReadLedger`, one row for
/// each person read) in one transaction before its answer leaves; if they cannot be
/// written, the answer is a 503 with the failure's reference instead, and none of
/// the data leaves.
async fn with_reads_written(
    db: &pathfinder::db::Db,
    reads: &pathfinder::request::ReadLedger,
    path: &str,
    resp: Response,
) -> Response {
    let rows = pathfinder::storage::one_row_a_person(reads.take());
    if rows.is_empty() {
        return resp;
    }
    let Err(e) = db.call(move |s| s.record_reads(&rows)).await else { return resp };
    let e = pathfinder::storage::read_row_failed(e);
    if path.starts_with("/api/") {
        // As a server function answers an error (the page's code reads it).
        let body = serde_json::to_string(&e).unwrap_or_default();
        (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        super::error::HttpError(e).into_response()
    }
}

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let state_https = state.secure_cookie;
    // Label by the policy's pattern: bounded, and never a user's id or name.
    let rule = rule_for(&path);
    let route = rule.map_or("unmatched", |(pattern, _)| pattern);
    let meta = RequestMeta {
        request_id: pathfinder::error::correlation_id(),
        ip: client_ip(
            req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()),
            req.headers(),
            &state.trusted_proxies,
        )
        .map(|ip| ip.to_string()),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
        method: method.to_string(),
        path: path.clone(),
        started,
        reads: pathfinder::request::ReadLedger::open(),
    };
    let span = tracing::info_span!("request", id = %meta.request_id, %method, route);
    let in_flight = InFlight::start();
    let request_id = meta.request_id.clone();
    let reads = meta.reads.clone();
    let mut resp = async move {
        let db = state.db.clone();
        let resp = decide(&state, &mut req, meta, &path, rule.map(|(_, access)| access)).await;
        let resp = match resp {
            Ok(()) => error_code_only(client_mistake_status(next.run(req).await).await),
            Err(r) => r,
        };
        let resp = with_reads_written(&db, &reads, &path, resp).await;
        tracing::info!(status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "{path}");
        resp
    }
    .instrument(span)
    .await;
    drop(in_flight);
    METRICS
        .request_duration
        .with_label_values(&[route, method_label(&method), resp.status().as_str()])
        .observe(started.elapsed().as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    secure_headers(resp.headers_mut(), route == "/pkg/*", state_https);
    resp
}

/// Headers every answer carries: no framing (clickjacking), no MIME sniffing, no
/// referrer outside the console, and no caching of anything but the static bundle.
fn secure_headers(h: &mut HeaderMap, is_static: bool, https: bool) {
    // Served over HTTPS: browsers are to use nothing else for a year.
    if https {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    // Pages set their own, with their scripts' nonce (see `pathfinder_app::App`).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'none'"));
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !is_static {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Counts a request in flight until dropped, also when the client goes away and
/// the request's future is dropped midway.
struct InFlight;

impl InFlight {
    fn start() -> Self {
        METRICS.requests_in_flight.inc();
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        METRICS.requests_in_flight.dec();
    }
}

/// Methods as metric labels: a made-up method must not make a new series.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Lets the request through (after attaching principal and metadata) or answers it.
async fn decide(
    state: &AppState,
    req: &mut Request,
    meta: RequestMeta,
    path: &str,
    access: Option<Access>,
) -> Result<(), Response> {
    // Health checks come from probes that use whatever address they see; nothing
    // else answers a host name it was not given (DNS rebinding).
    if !matches!(path, "/healthz" | "/readyz") && !host_allowed(req.headers(), &state.allowed_hosts) {
        return Err((StatusCode::BAD_REQUEST, "This console does not answer to that host name.").into_response());
    }
    // `/pkg/../users` would be judged by the public `/pkg/*` rule: no dot segments,
    // however they are spelled.
    if has_dot_segment(path) {
        return Err((StatusCode::BAD_REQUEST, "That address is not valid.").into_response());
    }
    let Some(access) = access else {
        return Err((StatusCode::NOT_FOUND, "There is no such page in the console.").into_response());
    };
    let is_api = path.starts_with("/api/");
    // No form of ours comes near this; a larger body is refused before it is read,
    // and a body that does not say its length is cut off there.
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        let error = AppError::invalid(format!("The request is larger than {} KiB.", MAX_BODY_BYTES / 1024));
        return Err(refuse_with(StatusCode::PAYLOAD_TOO_LARGE, is_api, error));
    }
    let body = std::mem::take(req.body_mut());
    *req.body_mut() = axum::body::Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES));
    // Server functions take forms: anything else is refused before it is decoded.
    if is_api && !is_form(req.headers()) {
        let error = AppError::invalid("Send the fields as a form (application/x-www-form-urlencoded).");
        return Err(refuse_with(StatusCode::UNSUPPORTED_MEDIA_TYPE, true, error));
    }
    let for_services = access == Access::ApiKey;
    if !matches!(*req.method(), Method::GET | Method::HEAD)
        && !for_services
        && !same_origin(req.headers(), state.secure_cookie)
    {
        tracing::warn!("cross-site {} refused", req.method());
        return Err(refuse(is_api, AppError::Forbidden, "That request came from another site and was refused."));
    }
    // Only what needs to know who asks reads the session from the database: public
    // paths (health, assets, the sign-in page) stay up when the database is down.
    let token = cookies::session_token(req.headers(), state.secure_cookie);
    let needs_principal = matches!(access, Access::Roles(_) | Access::Account)
        || path == <pathfinder_app::sessions::api::Me as leptos::server_fn::ServerFn>::PATH
        || path == "/auth/logout";
    let principal = match &token {
        Some(token) if needs_principal => login::authenticate(&state.db, &state.keys, &state.session_policy, token)
            .await
            .map_err(|e| refuse(is_api, e.clone(), &e.to_string()))?,
        _ => None,
    };
    req.extensions_mut().insert(principal.clone());
    req.extensions_mut().insert(meta);
    match access {
        // A token that is still valid: the sign-in page has nothing to offer (its
        // signature and times are checked, not the database; a revoked session is
        // sent back here with its cookie cleared, below).
        Access::Public if path == "/login" && token.as_deref().is_some_and(|t| state.keys.verify(t).is_some()) => {
            Err(Redirect::to("/").into_response())
        }
        Access::Public | Access::ApiKey => Ok(()),
        Access::Roles(_) | Access::Account => match principal {
            None if is_api => Err(refuse(true, AppError::Unauthenticated, "")),
            None => {
                let mut to_login = Redirect::to("/login").into_response();
                if token.is_some() {
                    cookies::clear_session(to_login.headers_mut(), state.secure_cookie);
                }
                Err(to_login)
            }
            Some(p) => match access {
                Access::Roles(_) if p.mfa_pending && is_api => {
                    Err(refuse_with(StatusCode::FORBIDDEN, true, pathfinder_app::policy::second_factor_first()))
                }
                // Until they set up the second factor their role requires, their
                // account page is all they see.
                Access::Roles(_) if p.mfa_pending => Err(Redirect::to("/account").into_response()),
                Access::Roles(roles) if !p.has_any(roles) => {
                    Err(refuse(is_api, AppError::Forbidden, "You do not have permission to see this page."))
                }
                _ => Ok(()),
            },
        },
    }
}

/// An error answer: JSON `AppError` for server functions, a sentence for pages.
/// Request bodies of forms and sign-in are far smaller.
const MAX_BODY_BYTES: usize = 1 << 20;

/// A refusal with its own status: JSON for server functions, the error's sentence for pages.
fn refuse_with(status: StatusCode, is_api: bool, error: AppError) -> Response {
    if is_api {
        let body = serde_json::to_string(&error).unwrap_or_default();
        return (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    (status, error.to_string()).into_response()
}

fn refuse(is_api: bool, error: AppError, sentence: &str) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if is_api {
        return refuse_with(status, true, error);
    }
    (status, sentence.to_string()).into_response()
}

/// A form, or no body type at all (a call without fields).
fn is_form(headers: &HeaderMap) -> bool {
    match headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(t) => {
            t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        }
    }
}

/// Leptos answers 500 to a server function whose fields it could not decode; the
/// error (`AppError::Invalid`, see `pathfinder::error`) says it was the caller's
/// mistake, and so does the status here: client mistakes must not count as server
/// errors in metrics and alerts. Only small JSON answers of server functions are read.
async fn client_mistake_status(resp: Response) -> Response {
    if resp.status() != StatusCode::INTERNAL_SERVER_ERROR
        || resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) != Some("application/json")
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The answer could not be read.").into_response();
    };
    if let Ok(AppError::Invalid(_)) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// A refused plain-form post is sent back to its page with the error in `__err`:
/// only the error's code goes (the page says it in our own words), so no link can
/// make a page show a text of someone else's choosing.
fn error_code_only(mut resp: Response) -> Response {
    let Some(location) = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else { return resp };
    let Some((base, query)) = location.split_once('?') else { return resp };
    if !query.split('&').any(|kv| kv.starts_with("__err=")) {
        return resp;
    }
    let pairs = url::form_urlencoded::parse(query.as_bytes()).into_owned().map(|(k, v)| {
        if k == "__err" {
            let code = leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(&v).code();
            (k, code.to_string())
        } else {
            (k, v)
        }
    });
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    if let Ok(v) = HeaderValue::from_str(&format!("{base}?{query}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A mutating request must come from our own pages: its Origin's host must be the
/// Host it was sent to (over HTTPS when the console is served so); without Origin,
/// the browser's Sec-Fetch-Site must say so.
fn same_origin(headers: &HeaderMap, https: bool) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => match origin.split_once("://") {
            Some((scheme, rest)) => {
                (scheme == "https" || !https) && host.is_some() && Some(rest.trim_end_matches('/')) == host
            }
            None => false,
        },
        None => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("same-origin"),
    }
}

/// Whether the `Host` header names one of `allowed` (the port is not compared).
fn host_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let name = match host.rsplit_once(':') {
        // `[::1]:3000` and `name:3000`; a bare IPv6 address in brackets has no port.
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty() => name,
        _ => host,
    };
    allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// Whether a segment of `path` is `.` or `..`, also percent-encoded (`%2e`).
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        decoded == "." || decoded == ".." || decoded.contains('/') || decoded.contains('\\')
    })
}

/// The client's address: the peer's, unless the peer is a proxy we trust
/// (`PF_TRUSTED_PROXIES`); then the last address in `X-Forwarded-For` that is not one
/// of ours (earlier entries are whatever the client chose to send).
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(forwarded.iter().rev().find(|a| !trusted.contains(a)).or(forwarded.first()).copied().unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_comes_from_forwarded_for_only_through_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(client_ip(Some(peer), &h, &[proxy]), Some(peer), "an untrusted peer's header is ignored");
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), "198.51.100.7".parse().ok(), "the client chose 1.1.1.1");
        assert_eq!(client_ip(Some(proxy), &HeaderMap::new(), &[proxy]), Some(proxy));
        assert_eq!(client_ip(None, &h, &[proxy]), None);
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn same_origin_compares_host_and_on_https_the_scheme() {
        let ok = headers(&[("host", "console.example"), ("origin", "https://console.example")]);
        assert!(same_origin(&ok, true) && same_origin(&ok, false));
        let plain = headers(&[("host", "console.example"), ("origin", "http://console.example")]);
        assert!(same_origin(&plain, false) && !same_origin(&plain, true));
        assert!(!same_origin(&headers(&[("host", "console.example"), ("origin", "https://evil.example")]), false));
        assert!(!same_origin(&headers(&[("host", "console.example"), ("origin", "null")]), false));
        assert!(same_origin(&headers(&[("host", "console.example"), ("sec-fetch-site", "same-origin")]), false));
        assert!(!same_origin(&headers(&[("host", "console.example"), ("sec-fetch-site", "cross-site")]), false));
        assert!(!same_origin(&headers(&[("host", "console.example")]), false));
    }

    #[test]
    fn hosts_are_compared_by_name() {
        let allowed: Vec<String> = ["localhost", "127.0.0.1", "[::1]"].map(String::from).to_vec();
        for ok in ["localhost:3000", "127.0.0.1", "[::1]:3000", "LOCALHOST:80"] {
            assert!(host_allowed(&headers(&[("host", ok)]), &allowed), "{ok}");
        }
        for bad in ["evil.example", "evil.example:3000", "localhost.evil.example", "127.0.0.1.nip.io:3000"] {
            assert!(!host_allowed(&headers(&[("host", bad)]), &allowed), "{bad}");
        }
        assert!(!host_allowed(&headers(&[]), &allowed));
    }

    #[test]
    fn dot_segments_are_found_however_spelled() {
        for bad in ["/pkg/../users", "/pkg/%2e%2e/users", "/a/./b", "/pkg/%2E%2E", "/pkg/..%2fusers", "/pkg/a%5c..%5cb"]
        {
            assert!(has_dot_segment(bad), "{bad}");
        }
        for good in ["/", "/users/01HX", "/pkg/pathfinder.wasm", "/pkg/chunk_4.wasm", "/a..b/c"] {
            assert!(!has_dot_segment(good), "{good}");
        }
    }
}
