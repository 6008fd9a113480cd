//! `pf_users` and `pf_console_roles`: create, search (keyset pages), profile, status.

use super::accounts::{keep_an_active_admin, lock_admins};
use super::driver::{Conn, ReadRow};
use super::rows::{end_sessions_of, group_named, roles_of, summary, user_id_of};
use super::search::{self, UsersAccess};
use super::store::Store;
use crate::{args, sql};
use pathfinder::dto::{
    BulkOutcome, GroupRef, Page, Preferences, ProfileEdit, SensitiveFields, SsoLink, StatusCount, UserDetail,
    UserProfile, UserSummary,
};
use pathfinder::filter::{UserFilter, ACCOUNT_STATUSES};
use pathfinder::storage::{
    fresh_sign_in_needed, AuditEntry, BulkChange, FlagStore, NewUser, SessionFilter, SessionStore, StatsStore,
    UserStore, UserTableStore, BULK_MAX, TABLES_DROP,
};
use pathfinder::{AppError, AppResult, UserId, Username};

/// Every shared table that holds a user's rows, children before parents: deleting a
/// user removes them all (the cascades would take most, not the CPA PERT tables,
/// which the seed gives no foreign key) and the audit row says how many of each
/// went. Audit rows stay (they are the history; retention decides). The statistics
/// (`pf_mv_user_stats`) lose the user at their next refresh.
static USER_ROWS: &[(&str, &crate::storage::sql::Stmt)] = &[
    ("pf_cpa_experience_breakdown", sql!("DELETE FROM pf_cpa_experience_breakdown WHERE experience_id IN (SELECT e.id FROM pf_cpa_pert_experiences e JOIN pf_cpa_pert_reports r ON r.id = e.report_id WHERE r.user_id = :1)")),
    ("pf_cpa_pert_experiences", sql!("DELETE FROM pf_cpa_pert_experiences WHERE report_id IN (SELECT id FROM pf_cpa_pert_reports WHERE user_id = :1)")),
    ("pf_cpa_submission_history", sql!("DELETE FROM pf_cpa_submission_history WHERE user_id = :1")),
    ("pf_cpa_pert_submissions", sql!("DELETE FROM pf_cpa_pert_submissions WHERE user_id = :1")),
    ("pf_cpa_experience_time_tracking", sql!("DELETE FROM pf_cpa_experience_time_tracking WHERE user_id = :1")),
    ("pf_cpa_progress_milestones", sql!("DELETE FROM pf_cpa_progress_milestones WHERE user_id = :1")),
    ("pf_cpa_pert_reports", sql!("DELETE FROM pf_cpa_pert_reports WHERE user_id = :1")),
    ("pf_user_analytics", sql!("DELETE FROM pf_user_analytics WHERE user_id = :1")),
    ("pf_user_feature_flags", sql!("DELETE FROM pf_user_feature_flags WHERE user_id = :1")),
    ("pf_user_preferences", sql!("DELETE FROM pf_user_preferences WHERE user_id = :1")),
    ("pf_sso_accounts", sql!("DELETE FROM pf_sso_accounts WHERE user_id = :1")),
    ("pf_user_sessions", sql!("DELETE FROM pf_user_sessions WHERE user_id = :1")),
    ("pf_user_invitations", sql!("DELETE FROM pf_user_invitations WHERE invited_by = :1")),
    ("pf_console_devices", sql!("DELETE FROM pf_console_devices WHERE user_id = :1")),
    ("pf_console_recovery_codes", sql!("DELETE FROM pf_console_recovery_codes WHERE user_id = :1")),
    ("pf_console_login_state", sql!("DELETE FROM pf_console_login_state WHERE user_id = :1")),
    ("pf_console_roles", sql!("DELETE FROM pf_console_roles WHERE user_id = :1")),
];

/// The changed fields as `label: before -> after` (absent: `none`), for audit rows.
fn changes(labels: &[&str], before: &[Option<String>], after: &[Option<&str>]) -> String {
    let said: Vec<String> = labels
        .iter()
        .zip(before.iter().zip(after))
        .filter(|(_, (b, a))| b.as_deref() != **a)
        .map(|(label, (b, a))| format!("{label}: {} -> {}", b.as_deref().unwrap_or("none"), a.unwrap_or("none")))
        .collect();
    if said.is_empty() {
        "no change".into()
    } else {
        said.join("; ")
    }
}

fn preferences_of(c: &mut Conn, user_id: &UserId) -> AppResult<Option<Preferences>> {
    let row = c.query_opt(
        sql!(
            "SELECT notification_preferences, privacy_settings, ui_preferences, communication_preferences,
             feature_preferences FROM pf_user_preferences WHERE user_id = :1"
        ),
        &args![user_id],
    )?;
    row.map(|r| {
        Ok(Preferences {
            notification: r.opt_text(0)?,
            privacy: r.opt_text(1)?,
            ui: r.opt_text(2)?,
            communication: r.opt_text(3)?,
            feature: r.opt_text(4)?,
        })
    })
    .transpose()
}

/// Inserts a validated user and their console roles (granted by `granted_by`), in the
/// caller's transaction.
pub(super) fn insert_user(
    c: &mut Conn,
    user: &NewUser,
    granted_by: Option<&UserId>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    if let Some(group_id) = &user.feature_group_id {
        group_named(c, Some(group_id))?;
    }
    c.execute(
        sql!(
            "INSERT INTO pf_users (user_id, username, email, password_hash, first_name, last_name,
             account_status, created_at, updated_at, feature_group_id) VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10)"
        ),
        &args![
            &user.user_id,
            &user.username,
            &user.email,
            &user.password_hash,
            user.first_name.clone(),
            user.last_name.clone(),
            &user.account_status,
            now,
            now,
            user.feature_group_id.clone(),
        ],
    )
    .map_err(|e| match e {
        AppError::Conflict(_) => AppError::Conflict("That username or email is already taken.".into()),
        other => other,
    })?;
    for role in &user.roles {
        c.execute(
            sql!("INSERT INTO pf_console_roles (user_id, role, granted_by, granted_at) VALUES (:1, :2, :3, :4)"),
            &args![&user.user_id, role.as_str(), granted_by, now],
        )?;
    }
    Ok(())
}

/// The name of the group, if there is one with that id (the seed has no foreign key
/// on `pf_users.feature_group_id`).
/// Walk or candidates: the index that can propose the filter's rows counts them,
/// stopping at the limit.
fn users_access(c: &mut Conn, filter: &UserFilter) -> AppResult<UsersAccess> {
    let Some((source, probe, binds)) = search::candidates_probe(filter, c.dialect()) else {
        return Ok(UsersAccess::Walk);
    };
    Ok(UsersAccess::from_probe(source, c.query_int(&probe, &binds)?))
}

impl UserStore for Store {
    fn create_user(&self, user: &NewUser, audit: &AuditEntry) -> AppResult<()> {
        let user = &user.validated()?;
        self.write_audited(audit, |c| insert_user(c, user, audit.actor.as_ref(), chrono::Utc::now()))
    }

    fn search_users(&self, filter: &UserFilter) -> AppResult<Page<UserSummary>> {
        let items = self.read(|c| {
            let access = users_access(c, filter)?;
            let (query, binds) = search::users_query(filter, c.dialect(), access)?;
            c.query_map(&query, &binds, |r| Ok((summary(r)?, r.text(8)?)))
        })?;
        Ok(search::users_page(items, filter))
    }

    fn user_profile(&self, user_id: &UserId) -> AppResult<UserProfile> {
        self.read(|c| {
            let r = c
                .query_opt(
                    sql!(
                        "SELECT u.user_id, u.username, u.email, u.first_name, u.last_name, u.account_status,
                         u.created_at, u.last_login, u.timezone, u.language, u.current_title, u.current_company,
                         u.email_verified, u.mfa_enabled, u.total_logins, u.last_activity_at, u.phone_number_enc,
                         u.date_of_birth_enc, u.gender_enc, u.nationality_enc, g.group_id, g.group_name
                         FROM pf_users u LEFT JOIN pf_user_groups g ON g.group_id = u.feature_group_id
                         WHERE u.user_id = :1"
                    ),
                    &args![user_id],
                )?
                .ok_or_else(|| AppError::NotFound("That user".into()))?;
            let mut sensitive_present = Vec::new();
            for (i, label) in SensitiveFields::LABELS.iter().enumerate() {
                if r.opt_text(16 + i)?.is_some() {
                    sensitive_present.push(label.to_string());
                }
            }
            Ok(UserProfile {
                summary: summary(&r)?,
                sensitive_present,
                timezone: r.opt_text(8)?,
                language: r.opt_text(9)?,
                current_title: r.opt_text(10)?,
                current_company: r.opt_text(11)?,
                email_verified: r.flag(12)?,
                mfa_enabled: r.flag(13)?,
                total_logins: r.opt_int(14)?.unwrap_or(0),
                last_activity_at: r.opt_time(15)?,
                roles: roles_of(c, user_id.as_str())?,
                group: match (r.opt_text(20)?, r.opt_text(21)?) {
                    (Some(group_id), Some(group_name)) => Some(GroupRef { group_id, group_name }),
                    _ => None,
                },
            })
        })
    }

    fn user_page(&self, user_id: &UserId) -> AppResult<UserDetail> {
        Ok(UserDetail {
            profile: self.user_profile(user_id)?,
            activity: self.user_activity(user_id)?,
            stats_refresh: self.last_stats_refresh()?,
            events: {
                let today = chrono::Utc::now().date_naive();
                pathfinder::storage::AnalyticsStore::user_events(
                    self,
                    user_id,
                    today - chrono::Duration::days(29),
                    today,
                )?
            },
            sso_links: self.sso_links(user_id)?,
            preferences: self.preferences(user_id)?,
        })
    }

    fn user_id_by_username(&self, username: &Username) -> AppResult<Option<UserId>> {
        Ok(self.read(|c| user_id_of(c, username))?.map(UserId))
    }

    fn set_account_status(
        &self,
        user_id: &UserId,
        status: &str,
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<()> {
        if !ACCOUNT_STATUSES.contains(&status) {
            return Err(AppError::invalid(format!("Unknown account status '{status}'.")));
        }
        self.write_audited(audit, |c| {
            let was_admin = lock_admins(c, user_id)?;
            let changed = c.execute(
                sql!("UPDATE pf_users SET account_status = :1, updated_at = :2 WHERE user_id = :3"),
                &args![status, chrono::Utc::now(), user_id],
            )?;
            if changed == 0 {
                return Err(AppError::NotFound("That user".into()));
            }
            if was_admin && status != "active" && !confirmed_lately {
                return Err(fresh_sign_in_needed("Locking an administrator out"));
            }
            // A status that cannot sign in ends the account's sessions now, with the
            // reason in their history: set active again, the old cookie is dead.
            if status != "active" {
                end_sessions_of(c, user_id, audit, &format!("account {status}"), chrono::Utc::now())?;
            }
            keep_an_active_admin(c, was_admin)
        })
    }

    fn users_by_status(&self) -> AppResult<Vec<StatusCount>> {
        self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT COALESCE(account_status, 'active'), COUNT(*) FROM pf_users
                     GROUP BY COALESCE(account_status, 'active') ORDER BY 1"
                ),
                &[],
                |r| Ok(StatusCount { status: r.text(0)?, count: r.int(1)? }),
            )
        })
    }

    fn update_profile(&self, user_id: &UserId, edit: &ProfileEdit, audit: &AuditEntry) -> AppResult<()> {
        let edit = edit.validated()?;
        self.write_audited_with(audit, |c| {
            Store::lock_owner(c, user_id.as_str())?;
            let r = c
                .query_opt(
                    sql!(
                        "SELECT email, first_name, last_name, timezone, language, current_title, current_company
                         FROM pf_users WHERE user_id = :1"
                    ),
                    &args![user_id],
                )?
                .ok_or_else(|| AppError::NotFound("That user".into()))?;
            let mut before = Vec::new();
            for i in 0..7 {
                before.push(r.opt_text(i)?);
            }
            let v = edit.values();
            c.execute(
                sql!(
                    "UPDATE pf_users SET email = :1, first_name = :2, last_name = :3, timezone = :4, language = :5,
                     current_title = :6, current_company = :7, updated_at = :8 WHERE user_id = :9"
                ),
                &args![
                    edit.email.clone(),
                    edit.first_name.clone(),
                    edit.last_name.clone(),
                    edit.timezone.clone(),
                    edit.language.clone(),
                    edit.current_title.clone(),
                    edit.current_company.clone(),
                    chrono::Utc::now(),
                    user_id
                ],
            )?;
            Ok(((), changes(&ProfileEdit::LABELS, &before, &v)))
        })
    }

    fn preferences(&self, user_id: &UserId) -> AppResult<Preferences> {
        self.read(|c| preferences_of(c, user_id)).map(Option::unwrap_or_default)
    }

    fn set_preferences(&self, user_id: &UserId, prefs: &Preferences, audit: &AuditEntry) -> AppResult<()> {
        let prefs = prefs.validated()?;
        self.write_audited_with(audit, |c| {
            Store::lock_owner(c, user_id.as_str())?;
            let now = chrono::Utc::now();
            let old = preferences_of(c, user_id)?;
            let v = prefs.values();
            let values = args![v[0], v[1], v[2], v[3], v[4], now, user_id];
            if old.is_some() {
                c.execute(
                    sql!(
                        "UPDATE pf_user_preferences SET notification_preferences = :1, privacy_settings = :2,
                         ui_preferences = :3, communication_preferences = :4, feature_preferences = :5, updated_at = :6
                         WHERE user_id = :7"
                    ),
                    &values,
                )?;
            } else {
                let mut row = values.to_vec();
                row.insert(0, pathfinder::new_id().into());
                c.execute(
                    sql!(
                        "INSERT INTO pf_user_preferences (preference_id, notification_preferences, privacy_settings,
                         ui_preferences, communication_preferences, feature_preferences, updated_at, user_id)
                         VALUES (:1, :2, :3, :4, :5, :6, :7, :8)"
                    ),
                    &row,
                )?;
            }
            let before: Vec<Option<String>> =
                old.unwrap_or_default().values().iter().map(|v| v.map(str::to_string)).collect();
            Ok(((), changes(&Preferences::LABELS, &before, &v)))
        })
    }

    fn sso_links(&self, user_id: &UserId) -> AppResult<Vec<SsoLink>> {
        self.read(|c| {
            c.query_map(
                sql!("SELECT sso_account_id, provider, provider_user_id, email, linked_at, last_sync_at, is_primary
                        FROM pf_sso_accounts WHERE user_id = :1
                        ORDER BY CASE WHEN is_primary = 'Y' THEN 0 ELSE 1 END, provider, sso_account_id", limit "100"),
                &args![user_id],
                |r| {
                    Ok(SsoLink {
                        sso_account_id: r.text(0)?,
                        provider: r.text(1)?,
                        provider_user_id: r.text(2)?,
                        email: r.opt_text(3)?,
                        linked_at: r.opt_time(4)?,
                        last_sync_at: r.opt_time(5)?,
                        is_primary: r.opt_text(6)?.as_deref() == Some("Y"),
                    })
                },
            )
        })
    }

    fn unlink_sso(&self, user_id: &UserId, sso_account_id: &str, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            let gone = c.execute(
                sql!("DELETE FROM pf_sso_accounts WHERE sso_account_id = :1 AND user_id = :2"),
                &args![sso_account_id, user_id],
            )?;
            if gone == 0 {
                return Err(AppError::NotFound("That SSO link".into()));
            }
            Ok(())
        })
    }

    fn set_primary_sso(&self, user_id: &UserId, sso_account_id: &str, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            let found = c.execute(
                sql!("UPDATE pf_sso_accounts SET is_primary = 'Y' WHERE sso_account_id = :1 AND user_id = :2"),
                &args![sso_account_id, user_id],
            )?;
            if found == 0 {
                return Err(AppError::NotFound("That SSO link".into()));
            }
            c.execute(
                sql!("UPDATE pf_sso_accounts SET is_primary = 'N' WHERE user_id = :1 AND sso_account_id <> :2"),
                &args![user_id, sso_account_id],
            )?;
            Ok(())
        })
    }

    fn delete_user(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited_with(audit, |c| {
            let sets =
                c.query_int(sql!("SELECT COUNT(*) FROM pf_user_table_sets WHERE user_id = :1"), &args![user_id])?;
            if sets > 0 {
                return Err(AppError::Conflict(
                    "That user owns a per-user table set: drop it first, then delete the user.".into(),
                ));
            }
            // The key goes first and explicitly (the cascade would take it too): this
            // is the crypto-shredding the field encryption promises.
            let was_admin = lock_admins(c, user_id)?;
            Store::shred_key(c, user_id.as_str())?;
            let mut went = Vec::new();
            for (table, delete) in USER_ROWS {
                let n = c.execute(*delete, &args![user_id])?;
                if n > 0 {
                    went.push(format!("{table} {n}"));
                }
            }
            match c.execute(sql!("DELETE FROM pf_users WHERE user_id = :1"), &args![user_id])? {
                0 => return Err(AppError::NotFound("That user".into())),
                _ => keep_an_active_admin(c, was_admin)?,
            }
            went.insert(0, "pf_users 1".into());
            Ok(((), format!("removed: {}; data key destroyed", went.join(", "))))
        })
    }

    fn delete_user_and_tables(&self, user_id: &UserId, typed: &str, audit: &AuditEntry) -> AppResult<()> {
        let name = self.user_profile(user_id)?.summary.username;
        if typed.trim() != name {
            return Err(AppError::invalid(format!("Type the username ({name}) to confirm the deletion.")));
        }
        // Their table set goes first, in its own audited (crash-safe) steps: Oracle
        // cannot drop tables inside the deletion's transaction.
        if let Ok(owner) = Username::parse(&name) {
            if self.user_table_set(&owner)?.is_some() {
                let drop = AuditEntry {
                    action: TABLES_DROP.name.into(),
                    entity_type: Some("user_tables".into()),
                    ..audit.clone()
                };
                self.drop_user_tables(&owner, &drop)?;
            }
        }
        self.delete_user(user_id, audit)
    }

    fn bulk_preview(&self, filter: &UserFilter, actor: Option<&UserId>) -> AppResult<usize> {
        Ok(bulk_targets(self, filter)?.into_iter().filter(|id| Some(id) != actor).count())
    }

    fn bulk_apply(
        &self,
        filter: &UserFilter,
        change: &BulkChange,
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<BulkOutcome> {
        if let BulkChange::Group(Some(group)) = change {
            // Refused up front, not once per user.
            self.group(group).map_err(|_| {
                AppError::invalid("That group does not exist (it may have been deleted): choose another.")
            })?;
        }
        let mut outcome = BulkOutcome::default();
        for id in bulk_targets(self, filter)?.into_iter().filter(|id| Some(id) != audit.actor.as_ref()) {
            let row = AuditEntry { entity_type: Some("user".into()), entity_id: Some(id.0.clone()), ..audit.clone() };
            let done = match change {
                BulkChange::Status(status) => self.set_account_status(&id, status, confirmed_lately, &row),
                BulkChange::Group(group) => self.set_user_group(&id, group.as_deref(), &row),
                BulkChange::RevokeSessions => {
                    let only_theirs = SessionFilter { user_id: Some(id.clone()), ..Default::default() };
                    self.revoke_sessions(&only_theirs, "revoked (bulk)", &row).map(|_| ())
                }
            };
            match done {
                Ok(()) => outcome.changed += 1,
                Err(e) => {
                    tracing::warn!(user = %id, error = %e, "a bulk change left a user unchanged");
                    outcome.failed += 1;
                }
            }
        }
        Ok(outcome)
    }
}

/// The ids of the users `filter` matches (every page, in order), at most
/// [`BULK_MAX`]: taken first, so a change that moves users out of the filter (a new
/// status) cannot make the walk skip anyone.
fn bulk_targets(s: &Store, filter: &UserFilter) -> AppResult<Vec<UserId>> {
    let mut filter = UserFilter { limit: pathfinder::filter::PAGE_SIZE_MAX, after: None, ..filter.clone() };
    let mut ids = Vec::new();
    loop {
        let page = s.search_users(&filter)?;
        ids.extend(page.items.into_iter().map(|u| u.user_id));
        if ids.len() > BULK_MAX {
            return Err(AppError::invalid(format!(
                "The filter matches more than {BULK_MAX} users: narrow it for a bulk action."
            )));
        }
        match page.next_cursor {
            Some(c) => filter.after = Some(c),
            None => return Ok(ids),
        }
    }
}
