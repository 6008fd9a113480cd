//! `pf_users` and `pf_console_roles`: create, search (keyset pages), profile, status.

use super::{map_err, parse_opt_ts, parse_ts, ts, SqliteStorage};
use pathfinder::dto::{Page, StatusCount, UserProfile, UserSummary};
use pathfinder::filter::{Cursor, UserFilter, UserSort};
use pathfinder::storage::{AuditEntry, NewUser, UserStore};
use pathfinder::{AppError, AppResult, Role, UserId, Username};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension, Row};

const SUMMARY_COLUMNS: &str = "user_id, username, email, first_name, last_name, account_status, created_at, last_login";

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

/// The SQL expression a sort orders by, and the cursor key of a row under it.
fn sort_key(sort: UserSort) -> &'static str {
    match sort {
        UserSort::Username => "username",
        UserSort::Email => "LOWER(email)",
        UserSort::CreatedAt => "created_at",
    }
}

fn cursor_key(sort: UserSort, u: &UserSummary) -> String {
    match sort {
        UserSort::Username => u.username.clone(),
        UserSort::Email => u.email.to_lowercase(),
        UserSort::CreatedAt => ts(u.created_at),
    }
}

pub(super) fn roles_of(conn: &rusqlite::Connection, user_id: &str) -> AppResult<Vec<Role>> {
    let mut stmt = conn.prepare("SELECT role FROM pf_console_roles WHERE user_id = ?1 ORDER BY role").map_err(map_err)?;
    let names = stmt
        .query_map([user_id], |r| r.get::<_, String>(0))
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    // A role this build does not know is ignored rather than trusted.
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

impl UserStore for SqliteStorage {
    fn create_user(&self, user: &NewUser, audit: &AuditEntry) -> AppResult<()> {
        let now = ts(chrono::Utc::now());
        self.write_audited(audit, |tx| {
            tx.execute(
                "INSERT INTO pf_users (user_id, username, email, password_hash, first_name, last_name,
                     account_status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    user.user_id.as_str(),
                    user.username.as_str(),
                    user.email,
                    user.password_hash,
                    user.first_name,
                    user.last_name,
                    user.account_status,
                    now
                ],
            )
            .map_err(|e| match map_err(e) {
                AppError::Conflict(_) => AppError::Conflict("That username or email is already taken.".into()),
                other => other,
            })?;
            for role in &user.roles {
                tx.execute(
                    "INSERT INTO pf_console_roles (user_id, role, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)",
                    params![user.user_id.as_str(), role.as_str(), audit.actor.as_ref().map(|a| a.as_str()), now],
                )
                .map_err(map_err)?;
            }
            Ok(())
        })
    }

    fn search_users(&self, filter: &UserFilter) -> AppResult<Page<UserSummary>> {
        let key = sort_key(filter.sort);
        let (cmp, dir) = if filter.descending { ("<", "DESC") } else { (">", "ASC") };
        let mut sql = format!("SELECT {SUMMARY_COLUMNS} FROM pf_users WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        if let Some(p) = filter.like_pattern() {
            sql.push_str(
                " AND (LOWER(username) LIKE ? ESCAPE '\\' OR LOWER(email) LIKE ? ESCAPE '\\'
                   OR LOWER(first_name) LIKE ? ESCAPE '\\' OR LOWER(last_name) LIKE ? ESCAPE '\\')",
            );
            args.extend(std::iter::repeat_n(Value::Text(p), 4));
        }
        if let Some(s) = &filter.status {
            sql.push_str(" AND account_status = ?");
            args.push(Value::Text(s.clone()));
        }
        if let Some(after) = &filter.after {
            let c = Cursor::decode(after)?;
            sql.push_str(&format!(" AND ({key} {cmp} ? OR ({key} = ? AND user_id {cmp} ?))"));
            args.extend([Value::Text(c.key.clone()), Value::Text(c.key), Value::Text(c.id)]);
        }
        let size = filter.page_size();
        sql.push_str(&format!(" ORDER BY {key} {dir}, user_id {dir} LIMIT ?"));
        args.push(Value::Integer(i64::from(size) + 1));

        let mut items = self.read(|c| {
            let mut stmt = c.prepare(&sql).map_err(map_err)?;
            let rows = stmt.query_map(params_from_iter(args), summary).map_err(map_err)?;
            rows.map(|r| finish(r.map_err(map_err)?)).collect::<AppResult<Vec<_>>>()
        })?;
        let next_cursor = if items.len() > size as usize {
            items.truncate(size as usize);
            items.last().map(|u| Cursor { key: cursor_key(filter.sort, u), id: u.user_id.0.clone() }.encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    fn user_profile(&self, user_id: &UserId) -> AppResult<UserProfile> {
        self.read(|c| {
            let row = c
                .query_row(
                    &format!(
                        "SELECT {SUMMARY_COLUMNS}, phone_number, timezone, language, current_title, current_company,
                                email_verified, mfa_enabled, total_logins, last_activity_at
                         FROM pf_users WHERE user_id = ?1"
                    ),
                    [user_id.as_str()],
                    |r| {
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
                    },
                )
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
            c.query_row("SELECT user_id FROM pf_users WHERE username = ?1", [username.as_str()], |r| r.get(0))
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
                .execute(
                    "UPDATE pf_users SET account_status = ?1, updated_at = ?2 WHERE user_id = ?3",
                    params![status, ts(chrono::Utc::now()), user_id.as_str()],
                )
                .map_err(map_err)?;
            if n == 0 {
                return Err(AppError::NotFound("That user".into()));
            }
            Ok(())
        })
    }

    fn users_by_status(&self) -> AppResult<Vec<StatusCount>> {
        self.read(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT COALESCE(account_status, 'active'), COUNT(*) FROM pf_users
                     GROUP BY COALESCE(account_status, 'active') ORDER BY 1",
                )
                .map_err(map_err)?;
            let rows = stmt.query_map([], |r| Ok(StatusCount { status: r.get(0)?, count: r.get(1)? })).map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
        })
    }

    fn count_admins(&self) -> AppResult<i64> {
        self.read(|c| {
            c.query_row("SELECT COUNT(*) FROM pf_console_roles WHERE role = 'admin'", [], |r| r.get(0)).map_err(map_err)
        })
    }
}
