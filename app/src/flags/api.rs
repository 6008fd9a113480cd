//! Feature flags' server functions: flags, overrides, evaluation, groups and
//! their members, and the evaluation API's keys.

use leptos::prelude::*;
use pathfinder::flags::{ApiKey, Evaluation, Flag, FlagPage, Group, GroupPage, NewApiKey, Override};
use pathfinder::AppError;

/// How many overrides a flag's page lists at a time.
pub const OVERRIDES_PAGE: u32 = 50;

/// How many members a group's page lists at a time.
pub const MEMBERS_PAGE: u32 = 50;

/// Flags whose key or name contains `q`, of a type, system-wide or not, in an
/// order (admins and SREs).
#[server(prefix = "/api", endpoint = "flags")]
pub async fn get_flags(
    q: String,
    #[server(default)] flag_type: String,
    #[server(default)] system_wide: String,
    #[server(default)] sort: String,
) -> Result<Vec<Flag>, AppError> {
    crate::server::serve::<GetFlags, _>(async |c| {
        let query = pathfinder::flags::FlagQuery::from_query(&q, &flag_type, &system_wide, &sort)?;
        c.db.call(move |s| s.flags(&query)).await
    })
    .await
}

/// One flag with a page of the overrides the filter admits and its newest
/// history (admins and SREs).
#[server(prefix = "/api", endpoint = "flag")]
pub async fn get_flag(
    key: String,
    #[server(default)] holders: String,
    #[server(default)] state: String,
    #[server(default)] holder: String,
    #[server(default)] after: String,
) -> Result<FlagPage, AppError> {
    crate::server::serve::<GetFlag, _>(async |c| {
        use pathfinder::storage::FLAG_READ;
        let filter = pathfinder::flags::OverrideFilter::from_query(&holders, &state, &holder, &after)?;
        let what = format!("holders {holders:?}, state {state:?}, holder {holder:?}");
        let entity = ("flag", Some(key.clone()));
        c.read(FLAG_READ, entity, &what, move |s| s.flag_page(&key, &filter, chrono::Utc::now(), OVERRIDES_PAGE)).await
    })
    .await
}

/// Creates a flag (`original` empty) or changes one (admins); audited with before
/// and after.
#[server(prefix = "/api", endpoint = "save_flag")]
pub async fn save_flag(
    #[server(default)] original: String,
    key: String,
    name: String,
    #[server(default)] description: String,
    flag_type: String,
    #[server(default)] default_value: String,
    #[server(default)] allowed_values: String,
    #[server(default)] system_wide: Option<String>,
    #[server(default)] requires_restart: Option<String>,
) -> Result<Flag, AppError> {
    use pathfinder::storage::{FLAG_CREATE, FLAG_UPDATE};
    crate::server::serve::<SaveFlag, _>(async |c| {
        let edit = pathfinder::flags::FlagEdit {
            key: key.trim().to_string(),
            name,
            description,
            flag_type,
            default_value,
            allowed_values,
            system_wide: system_wide.is_some(),
            requires_restart: requires_restart.is_some(),
        };
        let action = if original.is_empty() { FLAG_CREATE } else { FLAG_UPDATE };
        let audit = c.audit(action, ("feature_flag", None));
        c.db.call(move |s| match original.as_str() {
            "" => s.create_flag(&edit, &audit),
            key => s.update_flag(key, &edit, &audit),
        })
        .await
    })
    .await
}

/// Deletes a flag and its overrides (admins); the answer says how many went.
#[server(prefix = "/api", endpoint = "delete_flag")]
pub async fn delete_flag(key: String) -> Result<u64, AppError> {
    use pathfinder::storage::FLAG_DELETE;
    crate::server::serve::<DeleteFlag, _>(async |c| {
        let audit = c.audit(FLAG_DELETE, ("feature_flag", None));
        c.db.call(move |s| s.delete_flag(&key, &audit)).await
    })
    .await
}

/// Sets a flag's override for a user (`user`, a username or id) or a group
/// (`group_id`), with a reason and an optional expiry in UTC (admins).
#[server(prefix = "/api", endpoint = "set_override")]
pub async fn set_override(
    key: String,
    #[server(default)] user: String,
    #[server(default)] group_id: String,
    value: String,
    reason: String,
    #[server(default)] expires_at: String,
) -> Result<(), AppError> {
    use pathfinder::flags::{OverrideEdit, Target};
    use pathfinder::storage::OVERRIDE_SET;
    crate::server::serve::<SetOverride, _>(async |c| {
        let target = Target::from_form(&user, &group_id)?;
        let edit = OverrideEdit { value, reason, expires_at: pathfinder::flags::expiry_of(&expires_at)? };
        let audit = c.audit(OVERRIDE_SET, ("feature_flag", None));
        c.db.call(move |s| s.set_override(&key, &target, &edit, &audit).map(|_| ())).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "delete_override")]
pub async fn delete_override(override_id: String) -> Result<(), AppError> {
    use pathfinder::storage::OVERRIDE_DELETE;
    crate::server::serve::<DeleteOverride, _>(async |c| {
        let audit = c.audit(OVERRIDE_DELETE, ("feature_flag", None));
        c.db.call(move |s| s.delete_override(&override_id, &audit)).await
    })
    .await
}

/// A flag's value for a user, and why (admins and SREs).
#[server(prefix = "/api", endpoint = "evaluate_flag")]
pub async fn evaluate_flag(key: String, user: String) -> Result<Evaluation, AppError> {
    crate::server::serve::<EvaluateFlag, _>(async |c| {
        use pathfinder::storage::USER_FLAG_READ;
        let what = format!("flag {key} for {user}");
        c.read(USER_FLAG_READ, ("user", None), &what, move |s| s.evaluate_for(&key, &user, chrono::Utc::now())).await
    })
    .await
}

/// Every flag's value for one user, and where each came from (admins).
#[server(prefix = "/api", endpoint = "user_flags")]
pub async fn get_user_flags(user_id: String) -> Result<Vec<Evaluation>, AppError> {
    crate::server::serve::<GetUserFlags, _>(async |c| {
        use pathfinder::storage::USER_FLAGS_READ;
        let entity = ("user", Some(user_id.clone()));
        c.read(USER_FLAGS_READ, entity, "", move |s| s.evaluate_all(Some(&user_id), chrono::Utc::now())).await
    })
    .await
}

/// The overrides a user holds themselves (admins).
#[server(prefix = "/api", endpoint = "user_overrides")]
pub async fn get_user_overrides(user_id: String) -> Result<Vec<Override>, AppError> {
    crate::server::serve::<GetUserOverrides, _>(async |c| {
        use pathfinder::storage::USER_OVERRIDES_READ;
        let entity = ("user", Some(user_id.clone()));
        c.read(USER_OVERRIDES_READ, entity, "", move |s| s.overrides_held(&pathfinder::flags::Target::User(user_id)))
            .await
    })
    .await
}

/// The groups, highest priority first (admins and SREs; the group pickers too).
#[server(prefix = "/api", endpoint = "flag_groups")]
pub async fn get_flag_groups() -> Result<Vec<Group>, AppError> {
    crate::server::serve::<GetFlagGroups, _>(async |c| c.db.call(|s| s.groups()).await).await
}

/// A group with a page of its members (after the username `after`) and its
/// overrides (admins and SREs).
#[server(prefix = "/api", endpoint = "flag_group")]
pub async fn get_flag_group(group_id: String, #[server(default)] after: String) -> Result<GroupPage, AppError> {
    crate::server::serve::<GetFlagGroup, _>(async |c| {
        use pathfinder::storage::GROUP_READ;
        let entity = ("group", Some(group_id.clone()));
        let what = if after.is_empty() { "members from the first" } else { "members, a later page" };
        c.read(GROUP_READ, entity, what, move |s| {
            s.group_page(&group_id, Some(after.as_str()).filter(|a| !a.is_empty()), MEMBERS_PAGE)
        })
        .await
    })
    .await
}

/// Creates (`group_id` empty) or changes a group (admins).
#[server(prefix = "/api", endpoint = "save_group")]
pub async fn save_group(
    #[server(default)] group_id: String,
    name: String,
    #[server(default)] description: String,
    #[server(default)] priority: String,
    #[server(default)] is_default: Option<String>,
) -> Result<Group, AppError> {
    use pathfinder::storage::{GROUP_CREATE, GROUP_UPDATE};
    crate::server::serve::<SaveGroup, _>(async |c| {
        let priority = match priority.trim() {
            "" => 0,
            p => p.parse().map_err(|_| AppError::invalid("A group's priority is a whole number."))?,
        };
        let edit = pathfinder::flags::GroupEdit { name, description, is_default: is_default.is_some(), priority };
        let action = if group_id.is_empty() { GROUP_CREATE } else { GROUP_UPDATE };
        let audit = c.audit(action, ("user_group", None));
        c.db.call(move |s| s.save_group(Some(group_id.as_str()).filter(|g| !g.is_empty()), &edit, &audit)).await
    })
    .await
}

/// Deletes a group: its members leave it, its overrides go (admins).
#[server(prefix = "/api", endpoint = "delete_group")]
pub async fn delete_group(group_id: String) -> Result<(u64, u64), AppError> {
    use pathfinder::storage::GROUP_DELETE;
    crate::server::serve::<DeleteGroup, _>(async |c| {
        let audit = c.audit(GROUP_DELETE, ("user_group", None));
        c.db.call(move |s| s.delete_group(&group_id, &audit)).await
    })
    .await
}

/// Puts a user in a group, or in none (`group_id` empty); audited as
/// `group: before -> after`. A plain form post goes back to the user's page.
#[server(prefix = "/api", endpoint = "set_user_group")]
pub async fn set_user_group(user_id: String, group_id: String) -> Result<(), AppError> {
    use pathfinder::storage::USER_GROUP;
    crate::server::serve::<SetUserGroup, _>(async |c| {
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(USER_GROUP, ("user", Some(id.as_str())));
        let back = format!("/users/{id}");
        c.db.call(move |s| s.set_user_group(&id, Some(group_id.as_str()).filter(|g| !g.is_empty()), &audit)).await?;
        crate::server::after_form_go_to(&back);
        Ok(())
    })
    .await
}

/// Puts one user (by username) in a group (admins); audited as a change of the
/// user's group, as on their page.
#[server(prefix = "/api", endpoint = "add_group_member")]
pub async fn add_group_member(group_id: String, username: String) -> Result<(), AppError> {
    use pathfinder::storage::USER_GROUP;
    crate::server::serve::<AddGroupMember, _>(async |c| {
        let audit = c.audit(USER_GROUP, ("user", None));
        c.db.call(move |s| s.add_group_member(&group_id, &username, &audit)).await
    })
    .await
}

/// The evaluation API's keys (admins).
#[server(prefix = "/api", endpoint = "api_keys")]
pub async fn get_api_keys() -> Result<Vec<ApiKey>, AppError> {
    crate::server::serve::<GetApiKeys, _>(async |c| c.db.call(|s| s.api_keys()).await).await
}

/// Makes a key for a service (admins): its secret is answered this once.
#[server(prefix = "/api", endpoint = "create_api_key")]
pub async fn create_api_key(name: String) -> Result<NewApiKey, AppError> {
    use pathfinder::storage::API_KEY_CREATE;
    crate::server::serve::<CreateApiKey, _>(async |c| {
        let (secret, hash, prefix) = pathfinder::secret::new_api_key();
        let audit = c.audit(API_KEY_CREATE, ("api_key", None));
        let key = c.db.call(move |s| s.create_api_key(&name, &hash, &prefix, &audit)).await?;
        Ok(NewApiKey { key, secret })
    })
    .await
}

#[server(prefix = "/api", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(key_id: String) -> Result<(), AppError> {
    use pathfinder::storage::API_KEY_REVOKE;
    crate::server::serve::<RevokeApiKey, _>(async |c| {
        let audit = c.audit(API_KEY_REVOKE, ("api_key", Some(&key_id)));
        c.db.call(move |s| s.revoke_api_key(&key_id, &audit)).await
    })
    .await
}
