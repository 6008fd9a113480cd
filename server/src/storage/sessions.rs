//! `pf_user_sessions` and `pf_console_login_state`: sign-in, lookup, revocation.

use super::driver::ReadRow;
use super::users::roles_of;
use super::Store;
use crate::{args, sql};
use pathfinder::dto::{Principal, SessionInfo, Timestamp};
use pathfinder::storage::{AuditEntry, LoginFailure, LoginRecord, NewSession, SessionStore};
use pathfinder::{AppError, AppResult, SessionId, UserId};

impl SessionStore for Store {
    fn login_record(&self, username: &str) -> AppResult<Option<LoginRecord>> {
        let row = self.read(|c| {
            c.query_opt(
                sql!(
                    "SELECT u.user_id, u.username, u.password_hash, COALESCE(u.account_status, 'active'),
                     COALESCE(l.failed_attempts, 0), l.locked_until,
                     CASE WHEN EXISTS (SELECT 1 FROM pf_console_roles r WHERE r.user_id = u.user_id) THEN 1 ELSE 0 END
                     FROM pf_users u LEFT JOIN pf_console_login_state l ON l.user_id = u.user_id
                     WHERE u.username = :1"
                ),
                &args![username],
            )
        })?;
        row.map(|r| {
            Ok(LoginRecord {
                user_id: UserId(r.text(0)?),
                username: r.text(1)?,
                password_hash: r.text(2)?,
                account_status: r.text(3)?,
                failed_attempts: u32::try_from(r.int(4)?).unwrap_or(u32::MAX),
                locked_until: r.opt_time(5)?,
                console_role: r.int(6)? == 1,
            })
        })
        .transpose()
    }

    fn record_login_success(&self, s: &NewSession, audit: &AuditEntry) -> AppResult<()> {
        let now = s.created_at;
        self.write_audited(audit, |c| {
            c.execute(
                sql!(
                    "INSERT INTO pf_user_sessions (session_id, user_id, token, expires_at, ip_address, user_agent,
                     created_at, last_activity, is_active) VALUES (:1, :2, :3, :4, :5, :6, :7, :8, 'Y')"
                ),
                &args![
                    &s.session_id,
                    &s.user_id,
                    &s.token_hash,
                    s.expires_at,
                    s.ip_address.clone(),
                    s.user_agent.clone(),
                    now,
                    now
                ],
            )?;
            c.execute(
                sql!(
                    sqlite: "INSERT INTO pf_console_login_state (user_id, failed_attempts) VALUES (:1, 0)
                        ON CONFLICT (user_id) DO UPDATE SET failed_attempts = 0, locked_until = NULL",
                    oracle: "MERGE INTO pf_console_login_state l
                        USING (SELECT :1 AS user_id FROM dual) s ON (l.user_id = s.user_id)
                        WHEN MATCHED THEN UPDATE SET l.failed_attempts = 0, l.locked_until = NULL
                        WHEN NOT MATCHED THEN INSERT (user_id, failed_attempts) VALUES (s.user_id, 0)"
                ),
                &args![&s.user_id],
            )?;
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
            if let Some(user_id) = &f.user_id {
                c.execute(
                    sql!(
                        sqlite: "INSERT INTO pf_console_login_state (user_id, failed_attempts, last_failed_at, locked_until)
                            VALUES (:1, 1, :2, :3)
                            ON CONFLICT (user_id) DO UPDATE SET failed_attempts = failed_attempts + 1,
                                last_failed_at = excluded.last_failed_at, locked_until = excluded.locked_until",
                        oracle: "MERGE INTO pf_console_login_state l
                            USING (SELECT :1 AS user_id, :2 AS failed_at, :3 AS locked_until FROM dual) s
                            ON (l.user_id = s.user_id)
                            WHEN MATCHED THEN UPDATE SET l.failed_attempts = l.failed_attempts + 1,
                                l.last_failed_at = s.failed_at, l.locked_until = s.locked_until
                            WHEN NOT MATCHED THEN INSERT (user_id, failed_attempts, last_failed_at, locked_until)
                                VALUES (s.user_id, 1, s.failed_at, s.locked_until)"
                    ),
                    &args![user_id, chrono::Utc::now(), f.locked_until],
                )?;
            }
            Ok(())
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
                    "SELECT u.user_id, u.username FROM pf_user_sessions s JOIN pf_users u ON u.user_id = s.user_id
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

    fn revoke_session(&self, session_id: &SessionId, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            match c.execute(
                sql!("UPDATE pf_user_sessions SET is_active = 'N' WHERE session_id = :1"),
                &args![session_id],
            )? {
                0 => Err(AppError::NotFound("That session".into())),
                _ => Ok(()),
            }
        })
    }

    fn list_sessions(&self, user_id: &UserId) -> AppResult<Vec<SessionInfo>> {
        self.read(|c| {
            c.query_map(
                sql!(
                    sqlite: "SELECT session_id, created_at, expires_at, last_activity, ip_address, user_agent, is_active
                        FROM pf_user_sessions WHERE user_id = :1 ORDER BY created_at DESC LIMIT 100",
                    oracle: "SELECT session_id, created_at, expires_at, last_activity, ip_address, user_agent, is_active
                        FROM pf_user_sessions WHERE user_id = :1 ORDER BY created_at DESC FETCH FIRST 100 ROWS ONLY"
                ),
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
                    })
                },
            )
        })
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
