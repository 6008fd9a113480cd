//! Field encryption's server functions: the key inventory and rotation runs, one
//! user's key and their sensitive fields.

use leptos::prelude::*;
use pathfinder::dto::{KeyInfo, KeyInventoryPage, SensitiveFields};
use pathfinder::AppError;

/// The key inventory: the counts as the overview's job last counted them (they read
/// every key), and a page of the keys longest without rotation first.
#[server(prefix = "/api", endpoint = "key_inventory")]
pub async fn get_key_inventory(after: String) -> Result<KeyInventoryPage, AppError> {
    crate::server::serve::<GetKeyInventory, _>(async |c| {
        // A page of the inventory.
        const KEYS: u32 = 100;
        let counts = crate::overview::api::latest(&c.db).await?.keys;
        let days = counts.rotation_days;
        use pathfinder::storage::KEY_INVENTORY_READ;
        let what = if after.is_empty() { "the first page" } else { "a later page" };
        c.read(KEY_INVENTORY_READ, ("encryption_keys", None), what, move |s| {
            let inventory = s.key_inventory(days, Some(after.as_str()), KEYS)?;
            Ok(KeyInventoryPage { counts, inventory })
        })
        .await
    })
    .await
}

/// Starts a rotation run in the background and says so: `scope` is `overdue` (the
/// keys the policy calls overdue) or `all` (after a suspected exposure of data keys).
/// The Keys page shows it running, then its outcome. One run at a time across
/// console instances (the job's lease in `pf_console_jobs`); each key is its own
/// transaction.
#[server(prefix = "/api", endpoint = "start_key_rotation")]
pub async fn start_key_rotation(scope: String) -> Result<String, AppError> {
    use pathfinder::storage::{RotationScope, KEY_ROTATION_RUN};
    crate::server::serve::<StartKeyRotation, _>(async |c| {
        let days = crate::server::context::<pathfinder::storage::KeyPolicy>()?.rotation_days;
        let scope = match scope.as_str() {
            "overdue" => RotationScope::Overdue { rotation_days: days },
            "all" => RotationScope::All,
            other => return Err(AppError::invalid(format!("Rotate 'overdue' or 'all' keys, not '{other}'."))),
        };
        let count = c.db.call(move |s| s.rotation_due(scope)).await?;
        let what = if scope == RotationScope::All { "keys" } else { "overdue keys" };
        if count == 0 {
            return Ok(format!("There are no {what}: nothing to rotate."));
        }
        let audit = c.audit(KEY_ROTATION_RUN, ("encryption_keys", None));
        let go_on = c.db.go_on();
        let overview = crate::server::context::<std::sync::Arc<pathfinder::stats::OverviewCache>>()?;
        c.db.detach("key rotation run", move |s| {
            let run = s.rotate_keys(scope, &audit, &mut |_, _| go_on());
            overview.changed();
            run
        });
        Ok(format!("Rotating {count} {what} in the background."))
    })
    .await
}

/// A user's data key (the keys section of their page).
#[server(prefix = "/api", endpoint = "user_key")]
pub async fn get_user_key(user_id: String) -> Result<Option<KeyInfo>, AppError> {
    crate::server::serve::<GetUserKey, _>(async |c| {
        let days = crate::server::context::<pathfinder::storage::KeyPolicy>()?.rotation_days;
        use pathfinder::storage::USER_KEY_READ;
        let entity = ("user", Some(user_id.clone()));
        c.read(USER_KEY_READ, entity, "", move |s| s.key_of(&pathfinder::UserId(user_id), days)).await
    })
    .await
}

/// Replaces a user's data key and re-encrypts their fields (one transaction), audited.
#[server(prefix = "/api", endpoint = "rotate_user_key")]
pub async fn rotate_user_key(user_id: String) -> Result<(), AppError> {
    use pathfinder::storage::KEY_ROTATE;
    crate::server::serve::<RotateUserKey, _>(async |c| {
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(KEY_ROTATE, ("user", Some(id.as_str())));
        c.db.call(move |s| s.rotate_user_key(&id, &audit).map(|_| ())).await?;
        crate::overview::api::counts_changed()?;
        Ok(())
    })
    .await
}

/// A user's sensitive fields in the clear. Each call writes its audit row
/// (`read.user.sensitive`) in the same transaction as the read.
#[server(prefix = "/api", endpoint = "reveal_sensitive")]
pub async fn reveal_sensitive(user_id: String) -> Result<SensitiveFields, AppError> {
    use pathfinder::storage::SENSITIVE_READ;
    crate::server::serve::<RevealSensitive, _>(async |c| {
        let entity = ("user", Some(user_id.clone()));
        c.read_with_row(SENSITIVE_READ, entity, move |s, row| {
            s.read_sensitive_fields(&pathfinder::UserId(user_id), row)
        })
        .await
    })
    .await
}

/// Replaces a user's sensitive fields (an empty one is cleared), encrypted, audited.
#[server(prefix = "/api", endpoint = "set_sensitive")]
pub async fn set_sensitive(
    user_id: String,
    phone_number: String,
    date_of_birth: String,
    gender: String,
    nationality: String,
) -> Result<(), AppError> {
    use pathfinder::storage::SENSITIVE_UPDATE;
    crate::server::serve::<SetSensitive, _>(async |c| {
        let id = pathfinder::UserId(user_id);
        let fields = SensitiveFields {
            phone_number: Some(phone_number),
            date_of_birth: Some(date_of_birth),
            gender: Some(gender),
            nationality: Some(nationality),
        };
        let audit = c.audit(SENSITIVE_UPDATE, ("user", Some(id.as_str())));
        c.db.call(move |s| s.set_sensitive_fields(&id, &fields, &audit)).await?;
        // A user's first sensitive field makes their data key.
        crate::overview::api::counts_changed()?;
        Ok(())
    })
    .await
}
