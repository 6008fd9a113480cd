//! Console accounts: who holds which console role.

use super::{Action, AuditEntry};
use crate::dto::ConsoleAccount;
use crate::{AppResult, Role, UserId};

pub const USER_ROLES: Action = Action::new("user.roles");
/// The console accounts read, audited.
pub const ACCOUNTS_READ: Action = Action::new("read.accounts");

pub trait AccountStore {
    /// Everyone holding a console role, by username (at most 5,000 role rows).
    fn console_accounts(&self) -> AppResult<Vec<ConsoleAccount>>;
    fn count_admins(&self) -> AppResult<i64>;
    /// Replaces the user's console roles (granted by the audit row's actor): one
    /// transaction, audited with before and after; refused when no active
    /// administrator would be left, and a new grant of admin unless the granter
    /// `confirmed_lately` (see [`super::FRESH_SIGN_IN_MINUTES`]). Taking every role
    /// away ends their sessions. Returns the roles before and after.
    fn set_console_roles(
        &self,
        user_id: &UserId,
        roles: &[Role],
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<(Vec<Role>, Vec<Role>)>;
}
