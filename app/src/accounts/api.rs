//! Console accounts' server functions: who holds a console role, and granting or
//! taking roles away.

use leptos::prelude::*;
use pathfinder::dto::ConsoleAccount;
use pathfinder::AppError;

/// Everyone holding a console role: roles, second factor, last sign-in, lock.
#[server(prefix = "/api", endpoint = "console_accounts")]
pub async fn get_console_accounts() -> Result<Vec<ConsoleAccount>, AppError> {
    use pathfinder::storage::ACCOUNTS_READ;
    crate::server::serve::<GetConsoleAccounts, _>(async |c| {
        c.read(ACCOUNTS_READ, ("console_accounts", None), "", |s| s.console_accounts()).await
    })
    .await
}

/// Sets a user's console roles (admins; never their own; granting admin only
/// within five minutes of one's own sign-in), audited with before and after.
/// Checkboxes: a role's field is present when it is ticked.
#[server(prefix = "/api", endpoint = "set_console_roles")]
pub async fn set_console_roles(
    user_id: String,
    admin: Option<String>,
    sre: Option<String>,
    compliance: Option<String>,
) -> Result<(), AppError> {
    use pathfinder::storage::USER_ROLES;
    use pathfinder::Role;
    crate::server::serve::<SetConsoleRoles, _>(async |c| {
        if c.is(&user_id) {
            return Err(AppError::invalid("You cannot change your own console roles: ask another admin."));
        }
        let wanted: Vec<Role> = [(admin, Role::Admin), (sre, Role::Sre), (compliance, Role::Compliance)]
            .into_iter()
            .filter_map(|(ticked, role)| ticked.map(|_| role))
            .collect();
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(USER_ROLES, ("user", Some(id.as_str())));
        let confirmed = c.signed_in_lately();
        c.db.call(move |s| s.set_console_roles(&id, &wanted, confirmed, &audit).map(|_| ())).await
    })
    .await
}
