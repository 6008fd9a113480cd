//! Two-factor sign-in: the TOTP secret (encrypted in `pf_users.mfa_secret_enc`),
//! `pf_users.mfa_enabled`, the last accepted step and the recovery codes.

use super::sessions::{ensure_login_state, use_second_factor};
use super::store::Store;
use crate::{args, sql};
use pathfinder::dto::{MfaState, Timestamp};
use pathfinder::storage::{AuditEntry, KeyStore, MfaStore, SecondFactor};
use pathfinder::{AppError, AppResult, SessionId, UserId};

impl MfaStore for Store {
    fn start_mfa_setup(&self, user_id: &UserId, secret: &str, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            if mfa_enabled(c, user_id)? {
                return Err(AppError::Conflict("Two-factor sign-in is on already: reset it first.".into()));
            }
            self.store_mfa_secret(c, user_id, Some(secret.to_string()))
        })
    }

    fn enable_mfa(&self, user_id: &UserId, step: i64, recovery_hashes: &[String], audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            if mfa_enabled(c, user_id)? {
                return Err(AppError::Conflict("Two-factor sign-in is on already.".into()));
            }
            if self.load_mfa_secret(c, user_id)?.is_none() {
                return Err(AppError::Conflict("Start the setup first: there is no secret to confirm.".into()));
            }
            c.execute(
                sql!("UPDATE pf_users SET mfa_enabled = 'Y', updated_at = :1 WHERE user_id = :2"),
                &args![chrono::Utc::now(), user_id],
            )?;
            ensure_login_state(c, user_id)?;
            c.execute(
                sql!("UPDATE pf_console_login_state SET totp_last_step = :1 WHERE user_id = :2"),
                &args![step, user_id],
            )?;
            c.execute(sql!("DELETE FROM pf_console_recovery_codes WHERE user_id = :1"), &args![user_id])?;
            let now = chrono::Utc::now();
            let rows: Vec<_> = recovery_hashes.iter().map(|h| args![h, user_id, now].to_vec()).collect();
            c.insert_many(
                sql!("INSERT INTO pf_console_recovery_codes (code_hash, user_id, created_at) VALUES (:1, :2, :3)"),
                &rows,
            )
        })
    }

    fn confirm_mfa_setup(
        &self,
        user_id: &UserId,
        code: &str,
        now: u64,
        recovery_hashes: &[String],
        audit: &AuditEntry,
    ) -> AppResult<()> {
        let secret = self
            .mfa_secret(user_id)?
            .ok_or_else(|| AppError::Conflict("Start the setup first: there is no secret to confirm.".into()))?;
        let step = pathfinder::mfa::check_code(&secret, code, now, None)?.ok_or_else(|| {
            AppError::invalid("That code is not the current one: check the time on your phone and try the next code.")
        })?;
        self.enable_mfa(user_id, step, recovery_hashes, audit)
    }

    fn reset_mfa(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            Self::lock_owner(c, user_id.as_str())?;
            self.store_mfa_secret(c, user_id, None)?;
            c.execute(sql!("UPDATE pf_users SET mfa_enabled = 'N' WHERE user_id = :1"), &args![user_id])?;
            c.execute(sql!("DELETE FROM pf_console_recovery_codes WHERE user_id = :1"), &args![user_id])?;
            c.execute(
                sql!("UPDATE pf_console_login_state SET totp_last_step = NULL WHERE user_id = :1"),
                &args![user_id],
            )?;
            Ok(())
        })
    }

    fn mfa_state(&self, user_id: &UserId) -> AppResult<MfaState> {
        self.read(|c| {
            let enabled = mfa_enabled(c, user_id)?;
            let setup_started = !enabled && self.load_mfa_secret(c, user_id)?.is_some();
            let recovery_codes_left = c.query_int(
                sql!("SELECT COUNT(*) FROM pf_console_recovery_codes WHERE user_id = :1 AND used_at IS NULL"),
                &args![user_id],
            )?;
            Ok(MfaState { enabled, setup_started, recovery_codes_left })
        })
    }

    fn recovery_code_unused(&self, user_id: &UserId, code_hash: &str) -> AppResult<bool> {
        self.read(|c| {
            let found = c.query_opt(
                sql!(
                    "SELECT 1 FROM pf_console_recovery_codes
                     WHERE code_hash = :1 AND user_id = :2 AND used_at IS NULL"
                ),
                &args![code_hash, user_id],
            )?;
            Ok(found.is_some())
        })
    }

    fn confirm_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        at: Timestamp,
        second_factor: Option<&SecondFactor>,
        audit: &AuditEntry,
    ) -> AppResult<()> {
        self.write_audited(audit, |c| {
            if let Some(factor) = second_factor {
                ensure_login_state(c, user_id)?;
                use_second_factor(c, user_id, factor, at)?;
            }
            let changed = c.execute(
                sql!("UPDATE pf_user_sessions SET confirmed_at = :1 WHERE session_id = :2 AND user_id = :3"),
                &args![at, session_id, user_id],
            )?;
            if changed == 0 {
                return Err(AppError::NotFound("That session".into()));
            }
            // The confirmation held the account's sign-in lease.
            c.execute(
                sql!("UPDATE pf_console_login_state SET checking_until = NULL WHERE user_id = :1"),
                &args![user_id],
            )?;
            Ok(())
        })
    }
}

fn mfa_enabled(c: &mut super::driver::Conn, user_id: &UserId) -> AppResult<bool> {
    let row = c.query_opt(sql!("SELECT mfa_enabled FROM pf_users WHERE user_id = :1"), &args![user_id])?;
    let row = row.ok_or_else(|| AppError::NotFound("That user".into()))?;
    use super::driver::ReadRow;
    Ok(row.opt_text(0)?.as_deref() == Some("Y"))
}
