//! Sign-in, sessions and access control.
//!
//! A session is a row in `pf_user_sessions` plus a signed JWT (sub, sid, iss, aud,
//! nbf, exp) in an HttpOnly, SameSite=Strict cookie. Each request checks the token
//! and then the row (by session id and token hash), so revocation and suspension
//! take effect on the next request.

pub mod cookies;
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
