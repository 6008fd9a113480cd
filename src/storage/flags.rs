//! Feature flags, groups, overrides, evaluation and the evaluation API's keys.

use super::{Action, AuditEntry};
use crate::dto::{Page, Timestamp, UserSummary};
use crate::flags::{
    ApiKey, Evaluation, Flag, FlagEdit, FlagPage, FlagQuery, Group, GroupEdit, GroupPage, Override, OverrideEdit,
    OverrideFilter, Target,
};
use crate::{AppResult, UserId};

pub const FLAG_CREATE: Action = Action::new("flag.create");
pub const FLAG_UPDATE: Action = Action::new("flag.update");
pub const FLAG_DELETE: Action = Action::new("flag.delete");
pub const OVERRIDE_SET: Action = Action::new("flag.override.set");
pub const OVERRIDE_DELETE: Action = Action::new("flag.override.delete");
/// An override removed by the expiry job when its time ran out.
pub const OVERRIDE_EXPIRED: Action = Action::new("flag.override.expired");
/// Reads of who holds what, each audited: a user's flags, their overrides, one
/// flag's value for them; a flag's page (its holders) and a group's (its members).
pub const USER_FLAGS_READ: Action = Action::new("read.user.flags");
pub const USER_OVERRIDES_READ: Action = Action::new("read.user.overrides");
pub const USER_FLAG_READ: Action = Action::new("read.user.flag");
pub const FLAG_READ: Action = Action::new("read.flag");
pub const GROUP_READ: Action = Action::new("read.group");

impl super::Returned for crate::flags::Evaluation {
    fn rows(&self) -> usize {
        1
    }
}

impl super::Returned for crate::flags::FlagPage {
    fn rows(&self) -> usize {
        self.overrides.items.len()
    }
}

impl super::Returned for crate::flags::GroupPage {
    fn rows(&self) -> usize {
        self.members.items.len() + self.overrides.len()
    }
}
pub const GROUP_CREATE: Action = Action::new("group.create");
pub const GROUP_UPDATE: Action = Action::new("group.update");
pub const GROUP_DELETE: Action = Action::new("group.delete");
/// A user put in a group, or taken out of theirs.
pub const USER_GROUP: Action = Action::new("user.group");
/// Likewise, by a bulk change (one row per user).
pub const USER_GROUP_BULK: Action = Action::new("user.group.bulk");
pub const API_KEY_CREATE: Action = Action::new("flag.api_key.create");
pub const API_KEY_REVOKE: Action = Action::new("flag.api_key.revoke");

/// Feature flags, groups, overrides and their evaluation (issue 11). Every change
/// is audited with its before and after (JSON) in the same transaction, the flag's
/// or group's id as the entity.
pub trait FlagStore {
    /// The flags `query` admits (text in key or name, type, system-wide), in its
    /// order: filtered and sorted by the database, in one place.
    fn flags(&self, query: &FlagQuery) -> AppResult<Vec<Flag>>;
    fn flag(&self, key: &str) -> AppResult<Flag>;
    /// A flag's page: the flag, a page of `limit` of the overrides `filter` admits
    /// at `now`, how many overrides it has, and its newest history.
    fn flag_page(&self, key: &str, filter: &OverrideFilter, now: Timestamp, limit: u32) -> AppResult<FlagPage>;
    fn create_flag(&self, edit: &FlagEdit, audit: &AuditEntry) -> AppResult<Flag>;
    /// Changes everything but the key; refused while overrides hold values the new
    /// type or allowed values refuse.
    fn update_flag(&self, key: &str, edit: &FlagEdit, audit: &AuditEntry) -> AppResult<Flag>;
    /// Deletes the flag and its overrides; returns how many overrides went.
    fn delete_flag(&self, key: &str, audit: &AuditEntry) -> AppResult<u64>;
    fn override_count(&self, key: &str) -> AppResult<i64>;
    /// Groups, highest priority first, then by name.
    fn groups(&self) -> AppResult<Vec<Group>>;
    fn group(&self, group_id: &str) -> AppResult<Group>;
    /// Creates (no id) or changes a group; making it the default takes that from
    /// any other.
    fn save_group(&self, group_id: Option<&str>, edit: &GroupEdit, audit: &AuditEntry) -> AppResult<Group>;
    /// Deletes a group: its members leave it, its overrides go. Returns (members,
    /// overrides).
    fn delete_group(&self, group_id: &str, audit: &AuditEntry) -> AppResult<(u64, u64)>;
    fn group_size(&self, group_id: &str) -> AppResult<i64>;
    /// A group's page: the group, its size, a page of `limit` of its members after
    /// the username `after`, and its overrides.
    fn group_page(&self, group_id: &str, after: Option<&str>, limit: u32) -> AppResult<GroupPage>;
    /// Puts the user in a group (which must exist), or in none; the audit row says
    /// `group: before -> after` by name.
    fn set_user_group(&self, user_id: &UserId, group_id: Option<&str>, audit: &AuditEntry) -> AppResult<()>;
    /// Puts the user named `username` in a group, as [`FlagStore::set_user_group`]
    /// does; refused with a sentence when nobody is named so.
    fn add_group_member(&self, group_id: &str, username: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Sets the override of a flag for a user (id or username) or a group: creates
    /// it, or replaces the one there is.
    fn set_override(&self, key: &str, target: &Target, edit: &OverrideEdit, audit: &AuditEntry) -> AppResult<Override>;
    fn delete_override(&self, override_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// A flag's overrides that `filter` admits at `now`, in creation order, a page
    /// of `limit`.
    fn overrides_of_flag(
        &self,
        key: &str,
        filter: &OverrideFilter,
        now: Timestamp,
        limit: u32,
    ) -> AppResult<Page<Override>>;
    /// Every override a user (by id) or a group holds, by flag key.
    fn overrides_held(&self, holder: &Target) -> AppResult<Vec<Override>>;
    /// A group's members by username, a page of `limit` after the username `after`.
    fn group_members(&self, group_id: &str, after: Option<&str>, limit: u32) -> AppResult<Page<UserSummary>>;
    /// One flag's value for a user (id or username; unknown or none: as nobody's).
    fn evaluate(&self, key: &str, user: Option<&str>, now: Timestamp) -> AppResult<Evaluation>;
    /// One flag's value for the user named `username` (the flag page's evaluator):
    /// refused with a sentence when nobody is named so.
    fn evaluate_for(&self, key: &str, username: &str, now: Timestamp) -> AppResult<Evaluation>;
    /// Every flag's value for a user, by key.
    fn evaluate_all(&self, user: Option<&str>, now: Timestamp) -> AppResult<Vec<Evaluation>>;
    /// Removes up to `limit` overrides expired by `now`, one audit row each (what it
    /// was); returns how many. Safe on several instances at once.
    fn expire_overrides(&self, now: Timestamp, limit: u32, audit: &AuditEntry) -> AppResult<u64>;
    /// The evaluation API's keys, newest first (never their secrets).
    fn api_keys(&self) -> AppResult<Vec<ApiKey>>;
    /// Records a new key by its secret's SHA-256 and first characters.
    fn create_api_key(&self, name: &str, secret_hash: &str, prefix: &str, audit: &AuditEntry) -> AppResult<ApiKey>;
    fn revoke_api_key(&self, key_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// The key whose secret has this SHA-256 (revoked ones too: the caller tells
    /// them apart); its last use is kept to the minute.
    fn api_key_by_hash(&self, secret_hash: &str, now: Timestamp) -> AppResult<Option<ApiKey>>;
}
