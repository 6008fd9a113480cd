//! `pf_user_sessions` and `pf_console_login_state` on Oracle.

use super::users::roles_of;
use super::{exec, map_err, optional, ts, utc, OracleStorage};
use crate::storage::sql::{
    self,
    oracle::{COUNT_FAILURE, RESET_FAILURES},
};
use chrono::NaiveDateTime;
use pathfinder::dto::{Principal, SessionInfo, Timestamp};
use pathfinder::storage::{AuditEntry, LoginFailure, LoginRecord, NewSession, SessionStore};
use pathfinder::{AppError, AppResult, SessionId, UserId};

impl SessionStore for OracleStorage {
    fn login_record(&self, username: &str) -> AppResult<Option<LoginRecord>> {
        self.read(|c| {
            let row = c.query_row_as::<(String, String, String, String, i64, Option<NaiveDateTime>)>(
                sql::LOGIN_RECORD,
                &[&username],
            );
            Ok(optional(row)?.map(|(id, name, hash, status, failed, locked)| LoginRecord {
                user_id: UserId(id),
                username: name,
                password_hash: hash,
                account_status: status,
                failed_attempts: u32::try_from(failed).unwrap_or(u32::MAX),
                locked_until: locked.map(utc),
            }))
        })
    }

    fn record_login_success(&self, s: &NewSession, audit: &AuditEntry) -> AppResult<()> {
        let now = ts(s.created_at);
        self.write_audited(audit, |c| {
            exec(
                c,
                sql::INSERT_SESSION,
                &[
                    &s.session_id.0,
                    &s.user_id.0,
                    &s.token_hash,
                    &ts(s.expires_at),
                    &s.ip_address,
                    &s.user_agent,
                    &now,
                    &now,
                ],
            )?;
            exec(c, RESET_FAILURES, &[&s.user_id.0])?;
            exec(c, sql::COUNT_LOGIN, &[&now, &now, &s.user_id.0])?;
            Ok(())
        })
    }

    fn record_login_failure(&self, f: &LoginFailure, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            if let Some(user_id) = &f.user_id {
                exec(c, COUNT_FAILURE, &[&user_id.0, &ts(chrono::Utc::now()), &f.locked_until.map(ts)])?;
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
            let found = optional(
                c.query_row_as::<(String, String)>(sql::SESSION_PRINCIPAL, &[&session_id.0, &token_hash, &ts(now)]),
            )?;
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
        self.write_audited(audit, |c| match exec(c, sql::REVOKE_SESSION, &[&session_id.0])? {
            0 => Err(AppError::NotFound("That session".into())),
            _ => Ok(()),
        })
    }

    fn list_sessions(&self, user_id: &UserId) -> AppResult<Vec<SessionInfo>> {
        type Raw = (
            String,
            NaiveDateTime,
            NaiveDateTime,
            Option<NaiveDateTime>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        self.read(|c| {
            let rows = c.query_as::<Raw>(sql::oracle::LIST_SESSIONS, &[&user_id.0]).map_err(map_err)?;
            rows.map(|r| {
                let (id, created, expires, last, ip, ua, active) = r.map_err(map_err)?;
                Ok(SessionInfo {
                    session_id: SessionId(id),
                    created_at: utc(created),
                    expires_at: utc(expires),
                    last_activity: last.map(utc),
                    ip_address: ip,
                    user_agent: ua,
                    is_active: active.as_deref() == Some("Y"),
                })
            })
            .collect()
        })
    }

    fn count_active_sessions(&self, now: Timestamp) -> AppResult<i64> {
        self.read(|c| c.query_row_as::<i64>(sql::COUNT_ACTIVE_SESSIONS, &[&ts(now)]).map_err(map_err))
    }
}
