//! `pf_user_sessions` and `pf_console_login_state`: sign-in, lookup, revocation.

use super::driver::{Conn, ReadRow};
use super::rows::roles_of;
use super::store::Store;
use crate::{args, sql};
use pathfinder::dto::{Principal, SessionInfo, SignInState, Timestamp, UserSessions};
use pathfinder::storage::{
    AuditEntry, DeviceFailure, LoginFailure, LoginGuard, LoginRecord, LoginStart, LoginSuccess, NewSession,
    SecondFactor, SessionFilter, SessionStore, Value,
};
use pathfinder::{AppError, AppResult, SessionId, UserId};

impl SessionStore for Store {
    fn begin_login(
        &self,
        username: &str,
        device_hash: Option<&str>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> AppResult<LoginStart> {
        // A write transaction for every name, so every path does the same work.
        self.write(|c| {
            let Some(found) = login_record(c, username, device_hash)? else { return Ok(LoginStart::Unknown) };
            if !found.console_role {
                return Ok(LoginStart::Ready(found));
            }
            ensure_login_state(c, &found.user_id)?;
            // Atomic on both backends: one attempt per account holds the lease.
            let taken = c.execute(
                sql!(
                    "UPDATE pf_console_login_state SET checking_until = :1
                     WHERE user_id = :2 AND (checking_until IS NULL OR checking_until <= :3)"
                ),
                &args![lease_until, &found.user_id, now],
            )?;
            if taken == 0 {
                return Ok(LoginStart::Busy);
            }
            // Read again under the lease: the first read may predate the last attempt.
            Ok(login_record(c, username, device_hash)?.map_or(LoginStart::Unknown, LoginStart::Ready))
        })
    }

    fn record_login_success(&self, s: &NewSession, success: &LoginSuccess, audit: &AuditEntry) -> AppResult<()> {
        let now = s.created_at;
        self.write_audited(audit, |c| {
            c.execute(
                sql!(
                    "INSERT INTO pf_user_sessions (session_id, user_id, token, expires_at, ip_address, user_agent,
                     created_at, last_activity, confirmed_at, is_active) VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, 'Y')"
                ),
                &args![
                    &s.session_id,
                    &s.user_id,
                    &s.token_hash,
                    s.expires_at,
                    s.ip_address.clone(),
                    s.user_agent.clone(),
                    now,
                    now,
                    now
                ],
            )?;
            if let Some(factor) = &success.second_factor {
                use_second_factor(c, &s.user_id, factor, now)?;
            }
            if success.reset_guard {
                reset_guard(c, &s.user_id)?;
            }
            release_lease(c, &s.user_id)?;
            remember_device(c, &s.user_id, success, now)?;
            c.execute(
                sql!(
                    "UPDATE pf_users SET total_logins = COALESCE(total_logins, 0) + 1, last_login = :1,
                     last_activity_at = :2 WHERE user_id = :3"
                ),
                &args![now, now, &s.user_id],
            )?;
            Ok(())
        })
    }

    fn record_login_failure(&self, f: &LoginFailure, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            let Some(user_id) = &f.user_id else { return Ok(()) };
            if let Some(g) = &f.guard {
                c.execute(
                    sql!(
                        "UPDATE pf_console_login_state SET failed_attempts = :1, last_failed_at = :2, lockouts = :3,
                         locked_until = :4 WHERE user_id = :5"
                    ),
                    &args![i64::from(g.failed_attempts), g.last_failed_at, i64::from(g.lockouts), g.locked_until, user_id],
                )?;
            }
            match &f.device {
                Some(DeviceFailure { device_hash, failed_attempts: Some(n) }) => {
                    c.execute(
                        sql!("UPDATE pf_console_devices SET failed_attempts = :1 WHERE device_hash = :2 AND user_id = :3"),
                        &args![i64::from(*n), device_hash, user_id],
                    )?;
                }
                Some(DeviceFailure { device_hash, failed_attempts: None }) => {
                    c.execute(
                        sql!("DELETE FROM pf_console_devices WHERE device_hash = :1 AND user_id = :2"),
                        &args![device_hash, user_id],
                    )?;
                }
                None => {}
            }
            release_lease(c, user_id)
        })
    }

    fn release_login(&self, user_id: &UserId) -> AppResult<()> {
        self.write(|c| release_lease(c, user_id))
    }

    fn unlock_login(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            if c.query_opt(sql!("SELECT 1 FROM pf_users WHERE user_id = :1"), &args![user_id])?.is_none() {
                return Err(AppError::NotFound(format!("user {user_id}")));
            }
            reset_guard(c, user_id)
        })
    }

    fn sign_in_state(&self, user_id: &UserId) -> AppResult<SignInState> {
        self.read(|c| {
            let guard = c
                .query_opt(
                    sql!(
                        "SELECT failed_attempts, last_failed_at, lockouts, locked_until
                         FROM pf_console_login_state WHERE user_id = :1"
                    ),
                    &args![user_id],
                )?
                .map(|r| guard_of(&r, 0))
                .transpose()?
                .unwrap_or_default();
            let trusted_devices =
                c.query_int(sql!("SELECT COUNT(*) FROM pf_console_devices WHERE user_id = :1"), &args![user_id])?;
            let locked = guard.locked_until.is_some_and(|t| t > chrono::Utc::now());
            Ok(SignInState { guard, locked, trusted_devices })
        })
    }

    fn session_principal(
        &self,
        session_id: &SessionId,
        token_hash: &str,
        now: Timestamp,
        idle_since: Timestamp,
    ) -> AppResult<Option<Principal>> {
        self.read(|c| {
            let found = c.query_opt(
                sql!(
                    "SELECT u.user_id, u.username, u.mfa_enabled, COALESCE(s.confirmed_at, s.created_at)
                     FROM pf_user_sessions s JOIN pf_users u ON u.user_id = s.user_id
                     WHERE s.session_id = :1 AND s.token = :2 AND s.is_active = 'Y' AND s.expires_at > :3
                       AND COALESCE(s.last_activity, s.created_at) > :4
                       AND COALESCE(u.account_status, 'active') = 'active'"
                ),
                &args![session_id, token_hash, now, idle_since],
            )?;
            let Some(r) = found else { return Ok(None) };
            let user_id = r.text(0)?;
            Ok(Some(Principal {
                roles: roles_of(c, &user_id)?,
                user_id: UserId(user_id),
                username: r.text(1)?,
                session_id: session_id.clone(),
                mfa_enabled: r.opt_text(2)?.as_deref() == Some("Y"),
                mfa_pending: false,
                confirmed_at: r.opt_time(3)?,
            }))
        })
    }

    fn touch_session(&self, session_id: &SessionId, now: Timestamp, unless_after: Timestamp) -> AppResult<()> {
        self.write(|c| {
            c.execute(
                sql!(
                    "UPDATE pf_user_sessions SET last_activity = :1
                     WHERE session_id = :2 AND (last_activity IS NULL OR last_activity < :3)"
                ),
                &args![now, session_id, unless_after],
            )
            .map(|_| ())
        })
    }

    fn revoke_session(&self, session_id: &SessionId, reason: &str, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            match c.execute(
                sql!(
                    "UPDATE pf_user_sessions SET is_active = 'N',
                     ended_at = CASE WHEN is_active = 'Y' THEN :1 ELSE ended_at END,
                     ended_by = CASE WHEN is_active = 'Y' THEN :2 ELSE ended_by END,
                     end_reason = CASE WHEN is_active = 'Y' THEN :3 ELSE end_reason END
                     WHERE session_id = :4"
                ),
                &args![chrono::Utc::now(), audit.actor.as_ref().map(|a| a.0.clone()), reason, session_id],
            )? {
                0 => Err(AppError::NotFound("That session".into())),
                _ => Ok(()),
            }
        })
    }

    fn count_sessions(&self, filter: &SessionFilter) -> AppResult<i64> {
        if filter.is_empty() {
            return Err(no_filter());
        }
        self.read(|c| {
            c.query_int(
                sql!(
                    "SELECT COUNT(*) FROM pf_user_sessions s WHERE s.is_active = 'Y'
                     AND (:1 IS NULL OR s.user_id = :2) AND (:3 IS NULL OR s.created_at < :4)
                     AND (:5 IS NULL OR s.ip_address = :6)
                     AND (:7 = 0 OR s.user_id IN
                          (SELECT user_id FROM pf_users WHERE COALESCE(account_status, 'active') <> 'active'))"
                ),
                &filter_args(filter),
            )
        })
    }

    fn revoke_sessions(&self, filter: &SessionFilter, reason: &str, audit: &AuditEntry) -> AppResult<u64> {
        if filter.is_empty() {
            return Err(no_filter());
        }
        let mut params = args![chrono::Utc::now(), audit.actor.as_ref().map(|a| a.0.clone()), reason].to_vec();
        params.extend(filter_args(filter));
        self.write_audited_with(audit, |c| {
            let n = c.execute(
                sql!(
                    "UPDATE pf_user_sessions SET is_active = 'N', ended_at = :1, ended_by = :2, end_reason = :3
                     WHERE is_active = 'Y'
                     AND (:4 IS NULL OR user_id = :5) AND (:6 IS NULL OR created_at < :7)
                     AND (:8 IS NULL OR ip_address = :9)
                     AND (:10 = 0 OR user_id IN
                          (SELECT user_id FROM pf_users WHERE COALESCE(account_status, 'active') <> 'active'))"
                ),
                &params,
            )?;
            Ok((n, format!("{n} sessions ended ({})", filter.describe())))
        })
    }

    fn list_sessions(&self, user_id: &UserId) -> AppResult<Vec<SessionInfo>> {
        self.read(|c| {
            c.query_map(
                sql!("SELECT s.session_id, s.created_at, s.expires_at, s.last_activity, s.ip_address, s.user_agent,
                        s.is_active, s.ended_at, e.username, s.end_reason
                        FROM pf_user_sessions s LEFT JOIN pf_users e ON e.user_id = s.ended_by
                        WHERE s.user_id = :1 ORDER BY s.created_at DESC", limit "100"),
                &args![user_id],
                |r| {
                    Ok(SessionInfo {
                        session_id: SessionId(r.text(0)?),
                        created_at: r.time(1)?,
                        expires_at: r.time(2)?,
                        last_activity: r.opt_time(3)?,
                        ip_address: r.opt_text(4)?,
                        user_agent: r.opt_text(5)?,
                        is_active: r.flag(6)?,
                        ended_at: r.opt_time(7)?,
                        ended_by: r.opt_text(8)?,
                        end_reason: r.opt_text(9)?,
                    })
                },
            )
        })
    }

    fn user_sessions(&self, user_id: &UserId) -> AppResult<UserSessions> {
        Ok(UserSessions { sessions: self.list_sessions(user_id)?, sign_in: self.sign_in_state(user_id)? })
    }

    fn count_active_sessions(&self, now: Timestamp) -> AppResult<i64> {
        self.read(|c| {
            c.query_int(
                sql!("SELECT COUNT(*) FROM pf_user_sessions WHERE is_active = 'Y' AND expires_at > :1"),
                &args![now],
            )
        })
    }
}

fn login_record(c: &mut Conn, username: &str, device_hash: Option<&str>) -> AppResult<Option<LoginRecord>> {
    let row = c.query_opt(
        sql!(
            "SELECT u.user_id, u.username, u.password_hash, COALESCE(u.account_status, 'active'),
             CASE WHEN EXISTS (SELECT 1 FROM pf_console_roles r WHERE r.user_id = u.user_id) THEN 1 ELSE 0 END,
             COALESCE(l.failed_attempts, 0), l.last_failed_at, COALESCE(l.lockouts, 0), l.locked_until,
             d.failed_attempts, u.mfa_enabled, l.totp_last_step
             FROM pf_users u LEFT JOIN pf_console_login_state l ON l.user_id = u.user_id
             LEFT JOIN pf_console_devices d ON d.user_id = u.user_id AND d.device_hash = :1
             WHERE u.username = :2"
        ),
        &args![device_hash.map(str::to_string), username],
    )?;
    row.map(|r| {
        Ok(LoginRecord {
            user_id: UserId(r.text(0)?),
            username: r.text(1)?,
            password_hash: r.text(2)?,
            account_status: r.text(3)?,
            console_role: r.int(4)? == 1,
            guard: guard_of(&r, 5)?,
            device_failures: r.opt_int(9)?.map(count),
            mfa_enabled: r.opt_text(10)?.as_deref() == Some("Y"),
            totp_last_step: r.opt_int(11)?,
        })
    })
    .transpose()
}

/// The guard read from four columns starting at `at`.
fn guard_of(r: &impl ReadRow, at: usize) -> AppResult<LoginGuard> {
    Ok(LoginGuard {
        failed_attempts: count(r.int(at)?),
        last_failed_at: r.opt_time(at + 1)?,
        lockouts: count(r.int(at + 2)?),
        locked_until: r.opt_time(at + 3)?,
    })
}

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn reset_guard(c: &mut Conn, user_id: &UserId) -> AppResult<()> {
    c.execute(
        sql!(
            "UPDATE pf_console_login_state SET failed_attempts = 0, last_failed_at = NULL, lockouts = 0,
             locked_until = NULL WHERE user_id = :1"
        ),
        &args![user_id],
    )?;
    Ok(())
}

fn release_lease(c: &mut Conn, user_id: &UserId) -> AppResult<()> {
    c.execute(sql!("UPDATE pf_console_login_state SET checking_until = NULL WHERE user_id = :1"), &args![user_id])?;
    Ok(())
}

/// Notes the device's use (trusting it if it is new) and forgets the account's
/// devices unused for longer than their cookies live.
fn remember_device(c: &mut Conn, user_id: &UserId, success: &LoginSuccess, now: Timestamp) -> AppResult<()> {
    let device_hash = &success.device_hash;
    let used = c.execute(
        sql!(
            "UPDATE pf_console_devices SET last_used_at = :1, failed_attempts = 0
             WHERE device_hash = :2 AND user_id = :3"
        ),
        &args![now, device_hash, user_id],
    )?;
    if used == 0 {
        c.execute(
            sql!(
                "INSERT INTO pf_console_devices (device_hash, user_id, created_at, last_used_at, failed_attempts)
                 VALUES (:1, :2, :3, :4, 0)"
            ),
            &args![device_hash, user_id, now, now],
        )?;
    }
    c.execute(
        sql!("DELETE FROM pf_console_devices WHERE user_id = :1 AND last_used_at < :2"),
        &args![user_id, success.forget_unused_before],
    )?;
    Ok(())
}

/// Uses up a second factor: a TOTP step later than the last one accepted, or an
/// unused recovery code. Refused (`Conflict`) when another sign-in used it first.
pub(super) fn use_second_factor(
    c: &mut Conn,
    user_id: &UserId,
    factor: &SecondFactor,
    now: Timestamp,
) -> AppResult<()> {
    let used = match factor {
        SecondFactor::Totp { step } => c.execute(
            sql!(
                "UPDATE pf_console_login_state SET totp_last_step = :1
                 WHERE user_id = :2 AND (totp_last_step IS NULL OR totp_last_step < :3)"
            ),
            &args![*step, user_id, *step],
        )?,
        SecondFactor::Recovery { code_hash } => c.execute(
            sql!(
                "UPDATE pf_console_recovery_codes SET used_at = :1
                 WHERE code_hash = :2 AND user_id = :3 AND used_at IS NULL"
            ),
            &args![now, code_hash, user_id],
        )?,
    };
    if used == 0 {
        return Err(AppError::Conflict("That code was used already.".into()));
    }
    Ok(())
}

/// Makes sure the account has its row in `pf_console_login_state`.
pub(super) fn ensure_login_state(c: &mut Conn, user_id: &UserId) -> AppResult<()> {
    c.execute(
        sql!(
            sqlite: "INSERT INTO pf_console_login_state (user_id, failed_attempts) VALUES (:1, 0)
                ON CONFLICT (user_id) DO NOTHING",
            oracle: "MERGE INTO pf_console_login_state l USING (SELECT :1 AS user_id FROM dual) s
                ON (l.user_id = s.user_id)
                WHEN NOT MATCHED THEN INSERT (user_id, failed_attempts) VALUES (s.user_id, 0)"
        ),
        &args![user_id],
    )?;
    Ok(())
}

fn no_filter() -> AppError {
    AppError::invalid("Say which sessions: a user, users not active, started before a date, or an address.")
}

/// The filter's seven parameters, in the order the statements above use them.
fn filter_args(f: &SessionFilter) -> Vec<Value> {
    let user = f.user_id.as_ref().map(|u| u.0.clone());
    let ip = f.ip_address.clone();
    args![user.clone(), user, f.started_before, f.started_before, ip.clone(), ip, i64::from(f.inactive_users)].to_vec()
}
