//! Sign-in and sessions: the account's guard and lease, devices, sessions and
//! their revocation.

use super::{Action, AuditEntry};
pub use crate::dto::LoginGuard;
use crate::dto::{Principal, SessionInfo, SignInState, Timestamp, UserSessions};
use crate::{AppResult, SessionId, UserId};

/// A sign-in: its answer is the redirect to the console.
pub const LOGIN_SUCCESS: Action = Action::with_status("login.success", 303);
pub const LOGIN_FAILURE: Action = Action::with_status("login.failure", 401);
/// A failed sign-in that locks the account (the security review counts them).
pub const LOGIN_LOCKOUT: Action = Action::with_status("login.lockout", 401);
/// A guess at an account while it is locked.
pub const LOGIN_LOCKED: Action = Action::with_status("login.locked", 401);
pub const LOGOUT: Action = Action::with_status("logout", 303);
/// The password (and code) given again for the dangerous actions of the next minutes.
pub const SESSION_CONFIRM: Action = Action::with_status("session.confirm", 303);
pub const SESSION_CONFIRM_FAILURE: Action = Action::with_status("session.confirm.failure", 401);
pub const SESSION_REVOKE: Action = Action::new("session.revoke");
pub const SESSION_REVOKE_MANY: Action = Action::new("session.revoke_many");
pub const USER_UNLOCK: Action = Action::new("user.unlock");
/// A user's sessions read (their page's section), audited.
pub const USER_SESSIONS_READ: Action = Action::new("read.user.sessions");

impl super::Returned for UserSessions {
    fn rows(&self) -> usize {
        self.sessions.len()
    }
}

/// How recent a sign-in (or a confirmation of the password) must be for the actions
/// that could lock someone out or hand over an account.
pub const FRESH_SIGN_IN_MINUTES: i64 = 5;

/// Whether `who` signed in (or confirmed their password) within the last
/// [`FRESH_SIGN_IN_MINUTES`]: what dangerous actions need.
pub fn signed_in_lately(who: &Principal) -> bool {
    let fresh = chrono::Utc::now() - chrono::Duration::minutes(FRESH_SIGN_IN_MINUTES);
    who.confirmed_at.is_some_and(|t| t > fresh)
}

/// What such an action (`what`) says to a caller who has not signed in lately.
pub fn fresh_sign_in_needed(what: &str) -> crate::AppError {
    crate::AppError::invalid(format!(
        "Confirm it is you first: {what} needs your password (and code) within the last {FRESH_SIGN_IN_MINUTES} minutes."
    ))
}

/// What sign-in needs to know about a username. Lives on the server only.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub user_id: UserId,
    pub username: String,
    pub password_hash: String,
    pub account_status: String,
    /// Holds a console role: only such accounts may sign in to the console.
    pub console_role: bool,
    pub guard: LoginGuard,
    pub mfa_enabled: bool,
    /// The last TOTP step accepted: only later ones are.
    pub totp_last_step: Option<i64>,
    /// The failures of the browser's device, when its cookie names a device that
    /// signed in to this account before (`None`: an unknown browser).
    pub device_failures: Option<u32>,
}

/// How a sign-in attempt starts: the account is looked up and, for a console
/// account, its lease taken, so that attempts on one account are decided one at a
/// time across every console instance.
#[derive(Debug, Clone)]
pub enum LoginStart {
    Unknown,
    /// Another attempt on this account is being checked (its lease is held).
    Busy,
    Ready(LoginRecord),
}

/// Which active sessions to end together: every criterion given must hold, and at
/// least one must be given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub user_id: Option<UserId>,
    /// Sessions of users whose account is not active (suspended, deactivated...).
    pub inactive_users: bool,
    pub started_before: Option<Timestamp>,
    pub ip_address: Option<String>,
}

impl SessionFilter {
    pub fn is_empty(&self) -> bool {
        self.user_id.is_none() && !self.inactive_users && self.started_before.is_none() && self.ip_address.is_none()
    }

    /// The filter of a revoke-by-filter form's fields (empty: not given); bad
    /// dates and addresses are refused with a sentence.
    pub fn from_form(
        user_id: &str,
        inactive_users: bool,
        started_before: &str,
        ip_address: &str,
    ) -> AppResult<SessionFilter> {
        let started_before = match started_before.trim() {
            "" => None,
            day => Some(
                chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc())
                    .ok_or_else(|| crate::AppError::invalid("Give the date as YYYY-MM-DD."))?,
            ),
        };
        let ip_address = match ip_address.trim() {
            "" => None,
            ip => Some(
                ip.parse::<std::net::IpAddr>()
                    .map_err(|_| crate::AppError::invalid(format!("{ip:?} is not an IP address.")))?
                    .to_string(),
            ),
        };
        let user_id = Some(user_id.trim()).filter(|u| !u.is_empty()).map(|u| UserId(u.to_string()));
        Ok(SessionFilter { user_id, inactive_users, started_before, ip_address })
    }

    /// The filter in words, for audit rows.
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        if let Some(u) = &self.user_id {
            parts.push(format!("user {u}"));
        }
        if self.inactive_users {
            parts.push("users not active".to_string());
        }
        if let Some(t) = &self.started_before {
            parts.push(format!("started before {}", t.format("%Y-%m-%d %H:%M UTC")));
        }
        if let Some(ip) = &self.ip_address {
            parts.push(format!("from {ip}"));
        }
        parts.join(", ")
    }
}

/// A session to open at sign-in.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub session_id: SessionId,
    pub user_id: UserId,
    /// SHA-256 of the JWT, hex: the token itself is never stored.
    pub token_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// A failed sign-in: the account it counted against (if the name exists), and what
/// it changes: the account's guard, or the failures of the device it came from.
#[derive(Debug, Clone, Default)]
pub struct LoginFailure {
    pub user_id: Option<UserId>,
    /// The account's guard after the failure (`None`: left as it is).
    pub guard: Option<LoginGuard>,
    pub device: Option<DeviceFailure>,
}

/// A failure from a device that signed in before: its new count, or `None` when it
/// reached the limit and loses its trust (its row goes).
#[derive(Debug, Clone)]
pub struct DeviceFailure {
    pub device_hash: String,
    pub failed_attempts: Option<u32>,
}

/// A successful sign-in's changes beside the session: the device it came from is
/// remembered (or its use noted), and the account's guard is reset unless the
/// attempt came from a trusted device while the account was locked for others.
#[derive(Debug, Clone)]
pub struct LoginSuccess {
    pub device_hash: String,
    pub reset_guard: bool,
    /// The account's devices unused since before this are trusted no more (their
    /// cookies have expired): their rows go.
    pub forget_unused_before: Timestamp,
    pub second_factor: Option<SecondFactor>,
}

/// The second factor a sign-in (or a confirmation) gave: it is used up with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// A TOTP code of this time step: later codes only from now on.
    Totp { step: i64 },
    /// A recovery code (its SHA-256): used once.
    Recovery { code_hash: String },
}

pub trait SessionStore {
    /// Looks the account up and takes its sign-in lease until `lease_until` (a lock,
    /// not a change: no audit row). `device_hash`: the browser's device cookie, hashed.
    fn begin_login(
        &self,
        username: &str,
        device_hash: Option<&str>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> AppResult<LoginStart>;
    /// Opens the session, remembers the device, resets the guard (unless told not to),
    /// counts the login, releases the lease, writes the audit row.
    fn record_login_success(&self, session: &NewSession, success: &LoginSuccess, audit: &AuditEntry) -> AppResult<()>;
    /// Stores the failure's guard or device count, releases the lease, writes the audit row.
    fn record_login_failure(&self, failure: &LoginFailure, audit: &AuditEntry) -> AppResult<()>;
    /// Lets go of the account's sign-in lease (a lock, not a change: no audit row),
    /// when an attempt ends without writing its outcome.
    fn release_login(&self, user_id: &UserId) -> AppResult<()>;
    /// Clears an account's failures and lock (an admin's unlock).
    fn unlock_login(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<()>;
    /// The account's guard, whether it is locked now, how many devices it trusts.
    fn sign_in_state(&self, user_id: &UserId) -> AppResult<SignInState>;
    /// The principal of an active, unexpired session of an active user whose token
    /// hash matches, and that was last used after `idle_since`.
    fn session_principal(
        &self,
        session_id: &SessionId,
        token_hash: &str,
        now: Timestamp,
        idle_since: Timestamp,
    ) -> AppResult<Option<Principal>>;
    /// Records the session's use at `now`, unless it was recorded after `unless_after`
    /// (bookkeeping of the idle timeout, not a change: no audit row).
    fn touch_session(&self, session_id: &SessionId, now: Timestamp, unless_after: Timestamp) -> AppResult<()>;
    /// Ends the session now, recording who (the audit row's actor) and why.
    fn revoke_session(&self, session_id: &SessionId, reason: &str, audit: &AuditEntry) -> AppResult<()>;
    /// How many active sessions the filter matches (the preview of a revoke).
    fn count_sessions(&self, filter: &SessionFilter) -> AppResult<i64>;
    /// Ends every active session the filter matches, in one statement; one audit
    /// row names the filter and the count. Returns the count.
    fn revoke_sessions(&self, filter: &SessionFilter, reason: &str, audit: &AuditEntry) -> AppResult<u64>;
    fn list_sessions(&self, user_id: &UserId) -> AppResult<Vec<SessionInfo>>;
    /// A user's sessions (the newest 100) and their console sign-in's guard: the
    /// sessions section of their page.
    fn user_sessions(&self, user_id: &UserId) -> AppResult<UserSessions>;
    fn count_active_sessions(&self, now: Timestamp) -> AppResult<i64>;
}
