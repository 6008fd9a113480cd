//! `pf_users` and `pf_console_roles` on Oracle.

use super::{exec, map_err, optional, ts, utc, OracleStorage};
use crate::storage::sql::{self, Bind, Dialect, UsersAccess};
use oracle::sql_type::ToSql;
use oracle::{Connection, Row};
use pathfinder::dto::{Page, StatusCount, UserProfile, UserSummary};
use pathfinder::filter::{UserFilter, ACCOUNT_STATUSES};
use pathfinder::storage::{AuditEntry, NewUser, UserStore};
use pathfinder::{AppError, AppResult, Role, UserId, Username};

fn summary(r: &Row) -> AppResult<UserSummary> {
    let text = |i: usize| r.get::<_, Option<String>>(i).map_err(map_err);
    Ok(UserSummary {
        user_id: UserId(r.get(0).map_err(map_err)?),
        username: r.get(1).map_err(map_err)?,
        email: r.get(2).map_err(map_err)?,
        first_name: text(3)?,
        last_name: text(4)?,
        account_status: text(5)?.unwrap_or_else(|| "active".into()),
        created_at: utc(r.get(6).map_err(map_err)?),
        last_login: r.get::<_, Option<chrono::NaiveDateTime>>(7).map_err(map_err)?.map(utc),
    })
}

pub(super) fn roles_of(c: &Connection, user_id: &str) -> AppResult<Vec<Role>> {
    let rows = c.query_as::<String>(sql::ROLES_OF, &[&user_id]).map_err(map_err)?;
    let names = rows.collect::<Result<Vec<_>, _>>().map_err(map_err)?;
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

impl UserStore for OracleStorage {
    fn create_user(&self, user: &NewUser, audit: &AuditEntry) -> AppResult<()> {
        let user = &user.validated()?;
        let now = ts(chrono::Utc::now());
        self.write_audited(audit, |c| {
            exec(
                c,
                sql::INSERT_USER,
                &[
                    &user.user_id.0,
                    &user.username.as_str(),
                    &user.email,
                    &user.password_hash,
                    &user.first_name,
                    &user.last_name,
                    &user.account_status,
                    &now,
                    &now,
                ],
            )
            .map_err(|e| match e {
                AppError::Conflict(_) => AppError::Conflict("That username or email is already taken.".into()),
                other => other,
            })?;
            for role in &user.roles {
                let granted_by = audit.actor.as_ref().map(|a| a.0.clone());
                exec(c, sql::INSERT_ROLE, &[&user.user_id.0, &role.as_str(), &granted_by, &now])?;
            }
            Ok(())
        })
    }

    fn search_users(&self, filter: &UserFilter) -> AppResult<Page<UserSummary>> {
        let (query, binds) = sql::search_users(filter, Dialect::Oracle, UsersAccess::Walk)?;
        let params: Vec<&dyn ToSql> = binds
            .iter()
            .map(|b| match b {
                Bind::Text(t) => t as &dyn ToSql,
                Bind::Int(i) => i as &dyn ToSql,
            })
            .collect();
        let items = self.read(|c| {
            let rows = c.query(&query, &params).map_err(map_err)?;
            rows.map(|r| {
                let r = r.map_err(map_err)?;
                Ok((summary(&r)?, r.get::<_, String>(8).map_err(map_err)?))
            })
            .collect::<AppResult<Vec<_>>>()
        })?;
        Ok(sql::users_page(items, filter))
    }

    fn user_profile(&self, user_id: &UserId) -> AppResult<UserProfile> {
        self.read(|c| {
            let row = optional(c.query_row(sql::USER_PROFILE, &[&user_id.0]))?
                .ok_or_else(|| AppError::NotFound("That user".into()))?;
            let text = |i: usize| row.get::<_, Option<String>>(i).map_err(map_err);
            Ok(UserProfile {
                summary: summary(&row)?,
                phone_number: text(8)?,
                timezone: text(9)?,
                language: text(10)?,
                current_title: text(11)?,
                current_company: text(12)?,
                email_verified: text(13)?.as_deref() == Some("Y"),
                mfa_enabled: text(14)?.as_deref() == Some("Y"),
                total_logins: row.get::<_, Option<i64>>(15).map_err(map_err)?.unwrap_or(0),
                last_activity_at: row.get::<_, Option<chrono::NaiveDateTime>>(16).map_err(map_err)?.map(utc),
                roles: roles_of(c, &user_id.0)?,
            })
        })
    }

    fn user_id_by_username(&self, username: &Username) -> AppResult<Option<UserId>> {
        self.read(|c| {
            Ok(optional(c.query_row_as::<String>(sql::USER_ID_BY_USERNAME, &[&username.as_str()]))?.map(UserId))
        })
    }

    fn set_account_status(&self, user_id: &UserId, status: &str, audit: &AuditEntry) -> AppResult<()> {
        if !ACCOUNT_STATUSES.contains(&status) {
            return Err(AppError::invalid(format!("Unknown account status '{status}'.")));
        }
        self.write_audited(audit, |c| {
            match exec(c, sql::SET_ACCOUNT_STATUS, &[&status, &ts(chrono::Utc::now()), &user_id.0])? {
                0 => Err(AppError::NotFound("That user".into())),
                _ => Ok(()),
            }
        })
    }

    fn users_by_status(&self) -> AppResult<Vec<StatusCount>> {
        self.read(|c| {
            let rows = c.query_as::<(String, i64)>(sql::USERS_BY_STATUS, &[]).map_err(map_err)?;
            rows.map(|r| r.map(|(status, count)| StatusCount { status, count }).map_err(map_err)).collect()
        })
    }

    fn count_admins(&self) -> AppResult<i64> {
        self.read(|c| c.query_row_as::<i64>(sql::COUNT_ADMINS, &[]).map_err(map_err))
    }
}
