//! Per-user tables' server functions: a user's set, provisioned and dropped from
//! their page.

use leptos::prelude::*;
use pathfinder::dto::TableSetInfo;
use pathfinder::AppError;

/// The user's table set with each table's row count, if they have one.
#[server(prefix = "/api", endpoint = "user_tables")]
pub async fn get_user_tables(user_id: String) -> Result<Option<TableSetInfo>, AppError> {
    crate::server::serve::<GetUserTables, _>(async |c| {
        use pathfinder::storage::USER_TABLES_READ;
        let entity = ("user", Some(user_id.clone()));
        c.read(USER_TABLES_READ, entity, "", move |s| s.tables_of(&pathfinder::UserId(user_id))).await
    })
    .await
}

/// Provisions the user's per-user table set (admins), with the CLI's crash-safe flow.
#[server(prefix = "/api", endpoint = "provision_user_tables")]
pub async fn provision_user_tables(user_id: String) -> Result<(), AppError> {
    use pathfinder::storage::TABLES_PROVISION;
    crate::server::serve::<ProvisionUserTables, _>(async |c| {
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(TABLES_PROVISION, ("user_tables", Some(id.as_str())));
        c.db.call(move |s| s.provision_tables_of(&id, &audit).map(|_| ())).await
    })
    .await
}

/// Drops the user's per-user table set and its rows (admins); `confirm` must repeat
/// the username.
#[server(prefix = "/api", endpoint = "drop_user_tables")]
pub async fn drop_user_tables(user_id: String, confirm: String) -> Result<(), AppError> {
    use pathfinder::storage::TABLES_DROP;
    crate::server::serve::<DropUserTables, _>(async |c| {
        c.require_fresh_sign_in("Dropping a table set")?;
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(TABLES_DROP, ("user_tables", Some(id.as_str())));
        c.db.call(move |s| s.drop_tables_of(&id, &confirm, &audit)).await
    })
    .await
}
