//! Two-factor sign-in (TOTP and recovery codes).

use super::{Action, AuditEntry, SecondFactor};
use crate::dto::{MfaState, Timestamp};
use crate::{AppResult, SessionId, UserId};

pub const MFA_SETUP_START: Action = Action::new("mfa.setup.start");
pub const MFA_ENABLE: Action = Action::new("mfa.enable");
pub const MFA_RESET: Action = Action::new("mfa.reset");

/// Two-factor sign-in: the TOTP secret lives encrypted in `pf_users.mfa_secret_enc`.
pub trait MfaStore {
    /// Stores a new secret for setting TOTP up (refused while it is on).
    fn start_mfa_setup(&self, user_id: &UserId, secret: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Turns TOTP on (its first code's step accepted) with new recovery codes.
    fn enable_mfa(&self, user_id: &UserId, step: i64, recovery_hashes: &[String], audit: &AuditEntry) -> AppResult<()>;
    /// Turns TOTP on once `code` proves the app holds the secret the setup stored
    /// (`now` in Unix seconds), with the recovery codes' hashes; refused with a
    /// sentence when there is no setup or the code is not the current one.
    fn confirm_mfa_setup(
        &self,
        user_id: &UserId,
        code: &str,
        now: u64,
        recovery_hashes: &[String],
        audit: &AuditEntry,
    ) -> AppResult<()>;
    /// Turns it off: secret, recovery codes and the last step go.
    fn reset_mfa(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<()>;
    fn mfa_state(&self, user_id: &UserId) -> AppResult<MfaState>;
    fn recovery_code_unused(&self, user_id: &UserId, code_hash: &str) -> AppResult<bool>;
    /// The session's holder gave their password (and second factor) again.
    fn confirm_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        at: Timestamp,
        second_factor: Option<&SecondFactor>,
        audit: &AuditEntry,
    ) -> AppResult<()>;
}
