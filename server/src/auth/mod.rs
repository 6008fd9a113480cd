//! Sign-in, sessions and access control.
//!
//! A session is a row in `pf_user_sessions` plus a signed JWT (sub, sid, iss, aud,
//! nbf, exp) in an HttpOnly, SameSite=Strict cookie. Each request checks the token
//! and then the row (by session id and token hash), so revocation and suspension
//! take effect on the next request.

pub mod access;
pub mod guard;
pub mod login;
pub mod password;
pub mod throttle;
pub mod token;

pub use token::TokenKeys;

/// How long a session lives: `absolute` from sign-in at most, and no longer than
/// `idle` after its last request (`PF_SESSION_HOURS`, `PF_SESSION_IDLE_MINUTES`);
/// and which roles must sign in with a second factor (`PF_MFA_REQUIRED_ROLES`).
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    pub absolute: chrono::Duration,
    pub idle: chrono::Duration,
    pub mfa_required: Vec<pathfinder::Role>,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            absolute: chrono::Duration::hours(8),
            idle: chrono::Duration::minutes(30),
            mfa_required: vec![pathfinder::Role::Admin],
        }
    }
}

/// The cookie that carries the session token over plain HTTP (loopback).
pub const SESSION_COOKIE: &str = "pf_session";
/// Its name over HTTPS (`PF_SECURE_COOKIE`): the `__Host-` prefix makes browsers keep
/// it only if it is Secure, for this host alone and the whole path, so no subdomain
/// or plain-HTTP page can plant or overwrite it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-pf_session";

/// The device cookie: a browser that signed in to an account before (see `guard`).
pub const DEVICE_COOKIE: &str = "pf_device";
pub const SECURE_DEVICE_COOKIE: &str = "__Host-pf_device";
/// How long a device cookie lives: as long as the device stays trusted unused.
pub const DEVICE_COOKIE_SECS: i64 = guard::DEVICE_TRUST.num_seconds();

pub fn device_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_DEVICE_COOKIE
    } else {
        DEVICE_COOKIE
    }
}

/// The session cookie's name for the way the console is served.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}
