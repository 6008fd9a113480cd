//! `pf_user_sessions` and `pf_console_login_state`: sign-in, lookup, revocation.

use super::users::roles_of;
use super::{map_err, parse_opt_ts, parse_ts, ts, SqliteStorage};
use crate::storage::sql;
use pathfinder::dto::{Principal, SessionInfo, Timestamp};
use pathfinder::storage::{AuditEntry, LoginFailure, LoginRecord, NewSession, SessionStore};
use pathfinder::{AppError, AppResult, SessionId, UserId};
use rusqlite::{params, OptionalExtension};

impl SessionStore for SqliteStorage {
    fn login_record(&self, username: &str) -> AppResult<Option<LoginRecord>> {
        let raw = self.read(|c| {
            c.query_row(sql::LOGIN_RECORD, [username], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .optional()
            .map_err(map_err)
        })?;
        raw.map(|(id, name, hash, status, failed, locked)| {
            Ok(LoginRecord {
                user_id: UserId(id),
                username: name,
                password_hash: hash,
                account_status: status,
                failed_attempts: u32::try_from(failed).unwrap_or(u32::MAX),
                locked_until: parse_opt_ts(locked)?,
            })
        })
        .transpose()
    }

    fn record_login_success(&self, s: &NewSession, audit: &AuditEntry) -> AppResult<()> {
        let now = ts(s.created_at);
        self.write_audited(audit, |tx| {
            tx.execute(
                sql::INSERT_SESSION,
                params![
                    s.session_id.as_str(),
                    s.user_id.as_str(),
                    s.token_hash,
                    ts(s.expires_at),
                    s.ip_address,
                    s.user_agent,
                    now,
                    now
                ],
            )
            .map_err(map_err)?;
            tx.execute(
                "INSERT INTO pf_console_login_state (user_id, failed_attempts) VALUES (?1, 0)
                 ON CONFLICT (user_id) DO UPDATE SET failed_attempts = 0, locked_until = NULL",
                [s.user_id.as_str()],
            )
            .map_err(map_err)?;
            tx.execute(sql::COUNT_LOGIN, params![now, now, s.user_id.as_str()]).map_err(map_err)?;
            Ok(())
        })
    }

    fn record_login_failure(&self, f: &LoginFailure, audit: &AuditEntry) -> AppResult<()> {
        let now = ts(chrono::Utc::now());
        self.write_audited(audit, |tx| {
            if let Some(user_id) = &f.user_id {
                tx.execute(
                    "INSERT INTO pf_console_login_state (user_id, failed_attempts, last_failed_at, locked_until)
                     VALUES (?1, 1, ?2, ?3)
                     ON CONFLICT (user_id) DO UPDATE SET failed_attempts = failed_attempts + 1,
                         last_failed_at = excluded.last_failed_at, locked_until = excluded.locked_until",
                    params![user_id.as_str(), now, f.locked_until.map(ts)],
                )
                .map_err(map_err)?;
            }
            Ok(())
        })
    }

    fn session_principal(
        &self,
        session_id: &SessionId,
        token_hash: &str,
        now: Timestamp,
    ) -> AppResult<Option<Principal>> {
        self.read(|c| {
            let found: Option<(String, String)> = c
                .query_row(sql::SESSION_PRINCIPAL, params![session_id.as_str(), token_hash, ts(now)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(map_err)?;
            found
                .map(|(user_id, username)| {
                    Ok(Principal {
                        roles: roles_of(c, &user_id)?,
                        user_id: UserId(user_id),
                        username,
                        session_id: session_id.clone(),
                    })
                })
                .transpose()
        })
    }

    fn revoke_session(&self, session_id: &SessionId, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |tx| {
            let n = tx.execute(sql::REVOKE_SESSION, [session_id.as_str()]).map_err(map_err)?;
            if n == 0 {
                return Err(AppError::NotFound("That session".into()));
            }
            Ok(())
        })
    }

    fn list_sessions(&self, user_id: &UserId) -> AppResult<Vec<SessionInfo>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{} LIMIT 100", sql::LIST_SESSIONS)).map_err(map_err)?;
            let rows = stmt
                .query_map([user_id.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                })
                .map_err(map_err)?;
            rows.map(|r| {
                let (id, created, expires, last, ip, ua, active) = r.map_err(map_err)?;
                Ok(SessionInfo {
                    session_id: SessionId(id),
                    created_at: parse_ts(&created)?,
                    expires_at: parse_ts(&expires)?,
                    last_activity: parse_opt_ts(last)?,
                    ip_address: ip,
                    user_agent: ua,
                    is_active: active.as_deref() == Some("Y"),
                })
            })
            .collect()
        })
    }

    fn count_active_sessions(&self, now: Timestamp) -> AppResult<i64> {
        self.read(|c| c.query_row(sql::COUNT_ACTIVE_SESSIONS, [ts(now)], |r| r.get(0)).map_err(map_err))
    }
}
