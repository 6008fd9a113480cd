//! Users (`pf_users` and what hangs off it): create, search, profile, status,
//! preferences, SSO links, deletion.

use super::{Action, AuditEntry};
use crate::dto::{
    BulkOutcome, Page, Preferences, ProfileEdit, SsoLink, StatusCount, UserDetail, UserProfile, UserSummary,
};
use crate::filter::UserFilter;
use crate::{AppResult, Role, UserId, Username};

pub const USER_CREATE: Action = Action::new("user.create");
pub const USER_UPDATE: Action = Action::new("user.update");
pub const USER_PREFERENCES: Action = Action::new("user.preferences");
pub const USER_SSO_UNLINK: Action = Action::new("user.sso.unlink");
pub const USER_SSO_PRIMARY: Action = Action::new("user.sso.primary");
pub const USER_DELETE: Action = Action::new("user.delete");
/// A status set by a bulk change (one row per user).
pub const USER_STATUS_BULK: Action = Action::new("user.status.bulk");
pub const USERS_EXPORT: Action = Action::new("users.export");
/// Reads of people, each audited (`audited_read`): a user's page, and a search of users.
pub const USER_READ: Action = Action::new("read.user");
pub const USERS_SEARCH: Action = Action::new("read.users");

impl super::Returned for UserDetail {
    fn rows(&self) -> usize {
        1
    }
}

/// The action of setting a user's status to `status` (`user.status.<status>`), or
/// `None` for a status that does not exist.
pub fn user_status(status: &str) -> Option<Action> {
    Some(Action::new(match status {
        "active" => "user.status.active",
        "pending" => "user.status.pending",
        "suspended" => "user.status.suspended",
        "deactivated" => "user.status.deactivated",
        "deleted" => "user.status.deleted",
        _ => return None,
    }))
}

/// A console user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub user_id: UserId,
    pub username: Username,
    pub email: String,
    pub password_hash: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub account_status: String,
    pub roles: Vec<Role>,
    /// The feature-flag group, which must exist.
    pub feature_group_id: Option<String>,
}

impl NewUser {
    /// The user with its fields checked and normalized (trimmed; empty text absent).
    /// Both backends store only what this returns.
    pub fn validated(&self) -> AppResult<NewUser> {
        use crate::validation::{email, optional_text, NAME_MAX_BYTES};
        if !crate::filter::ACCOUNT_STATUSES.contains(&self.account_status.as_str()) {
            return Err(crate::AppError::Invalid(format!("Unknown account status '{}'.", self.account_status)));
        }
        Ok(NewUser {
            email: email(&self.email)?,
            first_name: optional_text("first name", self.first_name.as_deref(), NAME_MAX_BYTES)?,
            last_name: optional_text("last name", self.last_name.as_deref(), NAME_MAX_BYTES)?,
            ..self.clone()
        })
    }
}

/// What a bulk change does to each user a users filter matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkChange {
    /// A new account status.
    Status(String),
    /// A group (which must exist), or none.
    Group(Option<String>),
    /// Their active sessions end.
    RevokeSessions,
}

impl BulkChange {
    /// The change a bulk form asks for: `status` to `value`, `group` (to the group
    /// `value`, or none when empty) or `revoke_sessions`.
    pub fn parse(action: &str, value: &str) -> AppResult<BulkChange> {
        match action {
            "status" if crate::filter::ACCOUNT_STATUSES.contains(&value) => Ok(BulkChange::Status(value.into())),
            "status" => Err(crate::AppError::invalid(format!("Unknown account status {value:?}."))),
            "group" => Ok(BulkChange::Group((!value.is_empty()).then(|| value.to_string()))),
            "revoke_sessions" => Ok(BulkChange::RevokeSessions),
            _ => Err(crate::AppError::invalid("Choose an action: a new status, a group, or ending their sessions.")),
        }
    }
}

/// The most users one bulk change may touch: past it, narrow the filter.
pub const BULK_MAX: usize = 10_000;

pub trait UserStore {
    fn create_user(&self, user: &NewUser, audit: &AuditEntry) -> AppResult<()>;
    fn search_users(&self, filter: &UserFilter) -> AppResult<Page<UserSummary>>;
    fn user_profile(&self, user_id: &UserId) -> AppResult<UserProfile>;
    /// A user's page: their profile, preferences, SSO links and statistics.
    fn user_page(&self, user_id: &UserId) -> AppResult<UserDetail>;
    fn user_id_by_username(&self, username: &Username) -> AppResult<Option<UserId>>;
    /// Sets the account's status. Every status but `active` ends the account's
    /// sessions. Locking out an administrator (any status but `active`) needs the
    /// caller's password within the last few minutes (`confirmed_lately`), as
    /// granting the role does.
    fn set_account_status(
        &self,
        user_id: &UserId,
        status: &str,
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<()>;
    fn users_by_status(&self) -> AppResult<Vec<StatusCount>>;
    /// Replaces the user's editable profile fields; the audit row lists each change
    /// as before -> after.
    fn update_profile(&self, user_id: &UserId, edit: &ProfileEdit, audit: &AuditEntry) -> AppResult<()>;
    fn preferences(&self, user_id: &UserId) -> AppResult<Preferences>;
    /// Replaces the user's preferences (a row is made when they have none); the audit
    /// row lists each changed document as before -> after.
    fn set_preferences(&self, user_id: &UserId, prefs: &Preferences, audit: &AuditEntry) -> AppResult<()>;
    /// The user's SSO links, primary first (at most 100).
    fn sso_links(&self, user_id: &UserId) -> AppResult<Vec<SsoLink>>;
    /// Removes one of the user's SSO links (its tokens go with it).
    fn unlink_sso(&self, user_id: &UserId, sso_account_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Makes one of the user's SSO links the primary one (and no other).
    fn set_primary_sso(&self, user_id: &UserId, sso_account_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Deletes the user and everything that cascades from them, and destroys their
    /// data key first (crypto-shredding: their encrypted fields are unreadable at
    /// once, wherever a copy of them lies). Refused while they own a table set.
    fn delete_user(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<()>;
    /// The console's deletion: `typed` must repeat the username (a stray click
    /// deletes nobody); their table set is dropped first, in its own audited steps
    /// (Oracle cannot drop tables inside the deletion's transaction), then the user
    /// is deleted as [`UserStore::delete_user`] does.
    fn delete_user_and_tables(&self, user_id: &UserId, typed: &str, audit: &AuditEntry) -> AppResult<()>;
    /// How many users a bulk change of `filter` would touch (the caller, the audit
    /// row's actor, left out); refused past [`BULK_MAX`].
    fn bulk_preview(&self, filter: &UserFilter, actor: Option<&UserId>) -> AppResult<usize>;
    /// Applies `change` to every user `filter` matches but the audit row's actor,
    /// each in a transaction of their own with their own audit row (`audit` is the
    /// template; its action the change's). The users are taken first, so a change
    /// that moves them out of the filter (a new status) cannot make the walk skip
    /// anyone; at most [`BULK_MAX`]. A user the change fails for is counted and
    /// logged, the others go on.
    /// `confirmed_lately` as for [`UserStore::set_account_status`]: without it an
    /// administrator among the users is left as they are (counted as failed).
    fn bulk_apply(
        &self,
        filter: &UserFilter,
        change: &BulkChange,
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<BulkOutcome>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_status_has_its_action_and_nothing_else_has_one() {
        for status in crate::filter::ACCOUNT_STATUSES {
            assert_eq!(user_status(status).map(|a| a.name.to_string()), Some(format!("user.status.{status}")));
        }
        assert_eq!(user_status("banana"), None);
        assert_eq!(user_status(""), None);
    }
}
