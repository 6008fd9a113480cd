//! `pf_users` and `pf_console_roles`: create, search (keyset pages), profile, status.

use super::{map_err, parse_opt_ts, parse_ts, ts, SqliteStorage};
use crate::storage::sql::{self, Dialect, UsersAccess};
use pathfinder::dto::{Page, StatusCount, UserProfile, UserSummary};
use pathfinder::filter::UserFilter;
use pathfinder::storage::{AuditEntry, NewUser, UserStore};
use pathfinder::{AppError, AppResult, Role, UserId, Username};
use rusqlite::{params, params_from_iter, OptionalExtension, Row};

fn summary(r: &Row) -> rusqlite::Result<(UserSummary, String, Option<String>)> {
    Ok((
        UserSummary {
            user_id: UserId(r.get(0)?),
            username: r.get(1)?,
            email: r.get(2)?,
            first_name: r.get(3)?,
            last_name: r.get(4)?,
            account_status: r.get::<_, Option<String>>(5)?.unwrap_or_else(|| "active".into()),
            created_at: chrono::DateTime::UNIX_EPOCH,
            last_login: None,
        },
        r.get(6)?,
        r.get(7)?,
    ))
}

fn finish(raw: (UserSummary, String, Option<String>)) -> AppResult<UserSummary> {
    let (mut s, created, last_login) = raw;
    s.created_at = parse_ts(&created)?;
    s.last_login = parse_opt_ts(last_login)?;
    Ok(s)
}

pub(super) fn roles_of(conn: &rusqlite::Connection, user_id: &str) -> AppResult<Vec<Role>> {
    let mut stmt = conn.prepare(sql::ROLES_OF).map_err(map_err)?;
    let names = stmt
        .query_map([user_id], |r| r.get::<_, String>(0))
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    // A role this build does not know is ignored rather than trusted.
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

/// Walk or candidates: asks the trigram index how many rows it proposes, stopping at the limit.
fn users_access(c: &rusqlite::Connection, filter: &UserFilter) -> AppResult<UsersAccess> {
    let Some(phrase) = filter.fts_phrase() else { return Ok(UsersAccess::Walk) };
    let mut stmt = c.prepare_cached(sql::sqlite::COUNT_CANDIDATES).map_err(map_err)?;
    let n: i64 = stmt.query_row(params![phrase, sql::sqlite::CANDIDATES_MAX], |r| r.get(0)).map_err(map_err)?;
    Ok(if n < sql::sqlite::CANDIDATES_MAX { UsersAccess::Candidates } else { UsersAccess::Walk })
}

impl UserStore for SqliteStorage {
    fn create_user(&self, user: &NewUser, audit: &AuditEntry) -> AppResult<()> {
        let user = &user.validated()?;
        let now = ts(chrono::Utc::now());
        self.write_audited(audit, |tx| {
            tx.execute(
                sql::INSERT_USER,
                params![
                    user.user_id.as_str(),
                    user.username.as_str(),
                    user.email,
                    user.password_hash,
                    user.first_name,
                    user.last_name,
                    user.account_status,
                    now,
                    now
                ],
            )
            .map_err(|e| match map_err(e) {
                AppError::Conflict(_) => AppError::Conflict("That username or email is already taken.".into()),
                other => other,
            })?;
            for role in &user.roles {
                tx.execute(
                    sql::INSERT_ROLE,
                    params![user.user_id.as_str(), role.as_str(), audit.actor.as_ref().map(|a| a.as_str()), now],
                )
                .map_err(map_err)?;
            }
            Ok(())
        })
    }

    fn search_users(&self, filter: &UserFilter) -> AppResult<Page<UserSummary>> {
        let items = self.read(|c| {
            let access = users_access(c, filter)?;
            let (query, binds) = sql::search_users(filter, Dialect::Sqlite, access)?;
            let args = super::bind_values(binds);
            let mut stmt = c.prepare_cached(&query).map_err(map_err)?;
            let rows = stmt
                .query_map(params_from_iter(args), |r| Ok((summary(r)?, r.get::<_, String>(8)?)))
                .map_err(map_err)?;
            rows.map(|r| {
                let (raw, key) = r.map_err(map_err)?;
                Ok((finish(raw)?, key))
            })
            .collect::<AppResult<Vec<_>>>()
        })?;
        Ok(sql::users_page(items, filter))
    }

    fn user_profile(&self, user_id: &UserId) -> AppResult<UserProfile> {
        self.read(|c| {
            let row = c
                .query_row(sql::USER_PROFILE, [user_id.as_str()], |r| {
                    Ok((
                        summary(r)?,
                        (r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?),
                        (
                            r.get::<_, Option<String>>(13)?,
                            r.get::<_, Option<String>>(14)?,
                            r.get::<_, Option<i64>>(15)?,
                            r.get::<_, Option<String>>(16)?,
                        ),
                    ))
                })
                .optional()
                .map_err(map_err)?
                .ok_or_else(|| AppError::NotFound("That user".into()))?;
            let (raw, (phone_number, timezone, language, current_title, current_company), (ev, mfa, logins, activity)) =
                row;
            Ok(UserProfile {
                summary: finish(raw)?,
                phone_number,
                timezone,
                language,
                current_title,
                current_company,
                email_verified: ev.as_deref() == Some("Y"),
                mfa_enabled: mfa.as_deref() == Some("Y"),
                total_logins: logins.unwrap_or(0),
                last_activity_at: parse_opt_ts(activity)?,
                roles: roles_of(c, user_id.as_str())?,
            })
        })
    }

    fn user_id_by_username(&self, username: &Username) -> AppResult<Option<UserId>> {
        self.read(|c| {
            c.query_row(sql::USER_ID_BY_USERNAME, [username.as_str()], |r| r.get(0))
                .optional()
                .map(|id| id.map(UserId))
                .map_err(map_err)
        })
    }

    fn set_account_status(&self, user_id: &UserId, status: &str, audit: &AuditEntry) -> AppResult<()> {
        if !pathfinder::filter::ACCOUNT_STATUSES.contains(&status) {
            return Err(AppError::invalid(format!("Unknown account status '{status}'.")));
        }
        self.write_audited(audit, |tx| {
            let n = tx
                .execute(sql::SET_ACCOUNT_STATUS, params![status, ts(chrono::Utc::now()), user_id.as_str()])
                .map_err(map_err)?;
            if n == 0 {
                return Err(AppError::NotFound("That user".into()));
            }
            Ok(())
        })
    }

    fn users_by_status(&self) -> AppResult<Vec<StatusCount>> {
        self.read(|c| {
            let mut stmt = c.prepare(sql::USERS_BY_STATUS).map_err(map_err)?;
            let rows =
                stmt.query_map([], |r| Ok(StatusCount { status: r.get(0)?, count: r.get(1)? })).map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
        })
    }

    fn count_admins(&self) -> AppResult<i64> {
        self.read(|c| c.query_row(sql::COUNT_ADMINS, [], |r| r.get(0)).map_err(map_err))
    }
}
