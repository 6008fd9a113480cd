//! The console's cookies, read and written here only: the session's (its token)
//! and the device's (a browser that signed in to an account before, see `guard`).
//! Both are `HttpOnly; SameSite=Strict`; over HTTPS they are `Secure` and carry the
//! `__Host-` prefix, so no subdomain or plain-HTTP page can plant or overwrite them.

use axum::http::{header, HeaderMap, HeaderValue};

/// The cookie that carries the session token over plain HTTP (loopback).
pub const SESSION_COOKIE: &str = "pf_session";
/// Its name over HTTPS (`PF_SECURE_COOKIE`).
pub const SECURE_SESSION_COOKIE: &str = "__Host-pf_session";

/// The device cookie.
pub const DEVICE_COOKIE: &str = "pf_device";
pub const SECURE_DEVICE_COOKIE: &str = "__Host-pf_device";
/// How long a device cookie lives: as long as the device stays trusted unused.
pub const DEVICE_COOKIE_SECS: i64 = super::guard::DEVICE_TRUST.num_seconds();

/// The session cookie's name for the way the console is served.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

pub fn device_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_DEVICE_COOKIE
    } else {
        DEVICE_COOKIE
    }
}

/// The session token the request carries, if any.
pub fn session_token(headers: &HeaderMap, secure: bool) -> Option<String> {
    cookie(headers, session_cookie_name(secure))
}

/// The device secret the request carries, if any.
pub fn device_secret(headers: &HeaderMap, secure: bool) -> Option<String> {
    cookie(headers, device_cookie_name(secure))
}

/// The value of the cookie `name`, if the request carries a non-empty one.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('=').map(str::to_string))
        .filter(|t| !t.is_empty())
}

/// Sets the session cookie to `token` for `max_age` seconds (0 and an empty token
/// clear it).
pub fn set_session(headers: &mut HeaderMap, token: &str, max_age: i64, secure: bool) {
    append(headers, session_cookie_name(secure), token, max_age, secure);
}

/// Clears the session cookie.
pub fn clear_session(headers: &mut HeaderMap, secure: bool) {
    set_session(headers, "", 0, secure);
}

/// Sets the device cookie to `secret`, for as long as a device stays trusted.
pub fn set_device(headers: &mut HeaderMap, secret: &str, secure: bool) {
    append(headers, device_cookie_name(secure), secret, DEVICE_COOKIE_SECS, secure);
}

fn append(headers: &mut HeaderMap, name: &str, value: &str, max_age: i64, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, v);
    }
}
