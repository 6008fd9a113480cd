//! `pf_console_roles`: who holds which console role, granted and taken away with
//! the last active administrator kept.

use super::driver::{Conn, Dialect, ReadRow, Row};
use super::rows::{end_sessions_of, roles_of};
use super::store::Store;
use crate::{args, sql};
use pathfinder::dto::ConsoleAccount;
use pathfinder::storage::{fresh_sign_in_needed, AccountStore, AuditEntry};
use pathfinder::{AppError, AppResult, Role, UserId};

/// Administrators who can sign in (status active).
pub(super) fn active_admins(c: &mut Conn) -> AppResult<i64> {
    c.query_int(
        sql!(
            "SELECT COUNT(*) FROM pf_console_roles r JOIN pf_users u ON u.user_id = r.user_id
             WHERE r.role = 'admin' AND COALESCE(u.account_status, 'active') = 'active'"
        ),
        &[],
    )
}

/// Takes the administrators' turn for a change that could leave none active, and
/// says whether `user_id` is one. Oracle locks every admin role row, so two such
/// changes at once (two admins suspending each other) queue, and the second sees the
/// first; SQLite has one writer at a time anyway.
pub(super) fn lock_admins(c: &mut Conn, user_id: &UserId) -> AppResult<bool> {
    if c.dialect() == Dialect::Oracle {
        c.query(sql!(oracle: "SELECT user_id FROM pf_console_roles WHERE role = 'admin' FOR UPDATE"), &[])?;
    }
    Ok(roles_of(c, user_id.as_str())?.contains(&Role::Admin))
}

/// After a change to an administrator, inside its transaction: refused (and so
/// undone) when no active administrator would be left.
pub(super) fn keep_an_active_admin(c: &mut Conn, changed_an_admin: bool) -> AppResult<()> {
    if changed_an_admin && active_admins(c)? == 0 {
        return Err(AppError::Conflict(
            "That is the last active administrator: make someone else an administrator first.".into(),
        ));
    }
    Ok(())
}

impl AccountStore for Store {
    fn console_accounts(&self) -> AppResult<Vec<ConsoleAccount>> {
        let now = chrono::Utc::now();
        self.read(|c| {
            let mut accounts: Vec<ConsoleAccount> = Vec::new();
            c.query_each(
                sql!("SELECT u.user_id, u.username, COALESCE(u.account_status, 'active'), u.mfa_enabled,
                        u.last_login, l.locked_until, r.role
                        FROM pf_console_roles r JOIN pf_users u ON u.user_id = r.user_id
                        LEFT JOIN pf_console_login_state l ON l.user_id = u.user_id
                        ORDER BY u.username, r.role", limit ":1"),
                &args![5000_i64],
                |r: &dyn Row| {
                    let user_id = UserId(r.text(0)?);
                    let role = r.text(6)?.parse::<Role>().ok();
                    match accounts.last_mut() {
                        Some(a) if a.user_id == user_id => a.roles.extend(role),
                        _ => accounts.push(ConsoleAccount {
                            user_id,
                            username: r.text(1)?,
                            account_status: r.text(2)?,
                            roles: role.into_iter().collect(),
                            mfa_enabled: r.opt_text(3)?.as_deref() == Some("Y"),
                            last_login: r.opt_time(4)?,
                            locked: r.opt_time(5)?.is_some_and(|t| t > now),
                        }),
                    }
                    Ok(())
                },
            )?;
            Ok(accounts)
        })
    }

    fn count_admins(&self) -> AppResult<i64> {
        self.read(active_admins)
    }

    fn set_console_roles(
        &self,
        user_id: &UserId,
        roles: &[Role],
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<(Vec<Role>, Vec<Role>)> {
        // In the order the database lists them (by name).
        let mut after = roles.to_vec();
        after.sort_by_key(|r| r.as_str());
        after.dedup();
        let now = chrono::Utc::now();
        self.write_audited_with(audit, |c| {
            let was_admin = lock_admins(c, user_id)?;
            if c.query_opt(sql!("SELECT 1 FROM pf_users WHERE user_id = :1"), &args![user_id])?.is_none() {
                return Err(AppError::NotFound("That user".into()));
            }
            let before = roles_of(c, user_id.as_str())?;
            if after.contains(&Role::Admin) && !before.contains(&Role::Admin) && !confirmed_lately {
                return Err(fresh_sign_in_needed("Granting the admin role"));
            }
            // Taking it away locks another administrator out of the console's
            // administration: it needs what granting needs.
            if before.contains(&Role::Admin) && !after.contains(&Role::Admin) && !confirmed_lately {
                return Err(fresh_sign_in_needed("Taking the admin role away"));
            }
            for gone in before.iter().filter(|r| !after.contains(r)) {
                c.execute(
                    sql!("DELETE FROM pf_console_roles WHERE user_id = :1 AND role = :2"),
                    &args![user_id, gone.as_str()],
                )?;
            }
            for new in after.iter().filter(|r| !before.contains(r)) {
                c.execute(
                    sql!(
                        "INSERT INTO pf_console_roles (user_id, role, granted_by, granted_at)
                         VALUES (:1, :2, :3, :4)"
                    ),
                    &args![user_id, new.as_str(), audit.actor.as_ref().map(|a| a.0.clone()), now],
                )?;
            }
            keep_an_active_admin(c, was_admin && !after.contains(&Role::Admin))?;
            if after.is_empty() {
                end_sessions_of(c, user_id, audit, "roles removed", now)?;
            }
            let names = |roles: &[Role]| match roles {
                [] => "none".to_string(),
                _ => roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
            };
            let said = format!("roles: {} -> {}", names(&before), names(&after));
            Ok(((before, after.clone()), said))
        })
    }
}
