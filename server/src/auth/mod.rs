//! Sign-in, sessions and access control.
//!
//! A session is a row in `pf_user_sessions` plus a signed JWT (sub, sid, iss, aud,
//! nbf, exp) in an HttpOnly, SameSite=Strict cookie. Each request checks the token
//! and then the row (by session id and token hash), so revocation and suspension
//! take effect on the next request.

pub mod access;
pub mod login;
pub mod password;
pub mod token;

pub use token::TokenKeys;

/// The cookie that carries the session token.
pub const SESSION_COOKIE: &str = "pf_session";
