//! Users' server functions: the list and its bulk changes, one user's page, and
//! the changes made there.

use leptos::prelude::*;
use pathfinder::dto::{BulkOutcome, Page, Preferences, ProfileEdit, UserDetail, UserSummary};
use pathfinder::AppError;

#[server(prefix = "/api", endpoint = "users")]
pub async fn list_users(
    q: String,
    mode: String,
    status: String,
    sort: String,
    dir: String,
    after: String,
) -> Result<Page<UserSummary>, AppError> {
    crate::server::serve::<ListUsers, _>(async |c| {
        use pathfinder::storage::USERS_SEARCH;
        let filter = pathfinder::filter::UserFilter::from_query(&q, &mode, &status, &sort, &dir, &after)?;
        c.read(USERS_SEARCH, ("users", None), &filter.describe(), move |s| s.search_users(&filter)).await
    })
    .await
}

/// The head of a user's page; its sections load their own.
#[server(prefix = "/api", endpoint = "user_detail")]
pub async fn get_user_detail(user_id: String) -> Result<UserDetail, AppError> {
    crate::server::serve::<GetUserDetail, _>(async |c| {
        use pathfinder::storage::USER_READ;
        c.read(USER_READ, ("user", Some(user_id.clone())), "", move |s| s.user_page(&pathfinder::UserId(user_id))).await
    })
    .await
}

/// Sets a user's account status (admins, never their own), audited with the change.
#[server(prefix = "/api", endpoint = "set_user_status")]
pub async fn set_user_status(user_id: String, status: String) -> Result<(), AppError> {
    crate::server::serve::<SetUserStatus, _>(async |c| {
        if c.is(&user_id) {
            return Err(AppError::invalid("You cannot change the status of your own account."));
        }
        let action = pathfinder::storage::user_status(&status)
            .ok_or_else(|| AppError::invalid(format!("Unknown account status '{status}'.")))?;
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(action, ("user", Some(id.as_str())));
        let confirmed = c.signed_in_lately();
        c.db.call(move |s| s.set_account_status(&id, &status, confirmed, &audit)).await?;
        crate::overview::api::counts_changed()?;
        Ok(())
    })
    .await
}

/// What a user made from the console has for a password: no Argon2 hash, so no
/// password signs in with it (the product's own reset sets one).
pub const NO_PASSWORD: &str = "!";

/// Creates a user (admins): the seed's profile fields, validated, a status and
/// an optional group; audited. A plain form post goes on to the new user's page.
#[server(prefix = "/api", endpoint = "create_user")]
pub async fn create_user(
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    account_status: String,
    #[server(default)] group_id: String,
) -> Result<String, AppError> {
    use pathfinder::storage::USER_CREATE;
    crate::server::serve::<CreateUser, _>(async |c| {
        let user = pathfinder::storage::NewUser {
            user_id: pathfinder::UserId::new(),
            username: pathfinder::Username::parse(&username)?,
            email,
            password_hash: NO_PASSWORD.into(),
            first_name: Some(first_name),
            last_name: Some(last_name),
            account_status,
            roles: vec![],
            feature_group_id: (!group_id.is_empty()).then_some(group_id),
        }
        .validated()?;
        let id = user.user_id.clone();
        let audit = c.audit(USER_CREATE, ("user", Some(id.as_str())));
        c.db.call(move |s| s.create_user(&user, &audit)).await?;
        crate::server::after_form_go_to(&format!("/users/{id}"));
        Ok(id.0)
    })
    .await
}

/// How many users a bulk action on the users filter would touch (the caller left out).
#[server(prefix = "/api", endpoint = "bulk_preview")]
pub async fn bulk_preview(q: String, mode: String, status: String) -> Result<usize, AppError> {
    crate::server::serve::<BulkPreview, _>(async |c| {
        let filter = pathfinder::filter::UserFilter::from_query(&q, &mode, &status, "", "", "")?;
        let me = c.who.user_id.clone();
        c.db.call(move |s| s.bulk_preview(&filter, Some(&me))).await
    })
    .await
}

/// Applies one action to every user the users filter matches (admins): `status`
/// (to `value`), `group` (to the group `value`, or none when empty) or
/// `revoke_sessions`; each user in a transaction of their own with their own audit
/// row; never the caller. A soft delete (`deleted`) is a status.
#[server(prefix = "/api", endpoint = "bulk_apply")]
pub async fn bulk_apply(
    q: String,
    mode: String,
    status: String,
    action: String,
    value: String,
) -> Result<BulkOutcome, AppError> {
    use pathfinder::storage::{BulkChange, SESSION_REVOKE_MANY, USER_GROUP_BULK, USER_STATUS_BULK};
    crate::server::serve::<BulkApply, _>(async |c| {
        let change = BulkChange::parse(&action, &value)?;
        let filter = pathfinder::filter::UserFilter::from_query(&q, &mode, &status, "", "", "")?;
        let audit = c.audit(
            match change {
                BulkChange::Status(_) => USER_STATUS_BULK,
                BulkChange::Group(_) => USER_GROUP_BULK,
                BulkChange::RevokeSessions => SESSION_REVOKE_MANY,
            },
            ("user", None),
        );
        let confirmed = c.signed_in_lately();
        let outcome = c.db.call(move |s| s.bulk_apply(&filter, &change, confirmed, &audit)).await?;
        crate::overview::api::counts_changed()?;
        Ok(outcome)
    })
    .await
}

/// Replaces a user's editable profile fields (admins), audited before -> after.
#[server(prefix = "/api", endpoint = "update_profile")]
pub async fn update_profile(user_id: String, edit: ProfileEdit) -> Result<(), AppError> {
    use pathfinder::storage::USER_UPDATE;
    crate::server::serve::<UpdateProfile, _>(async |c| {
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(USER_UPDATE, ("user", Some(id.as_str())));
        c.db.call(move |s| s.update_profile(&id, &edit, &audit)).await
    })
    .await
}

/// Replaces a user's preferences, five JSON objects (admins), audited before -> after.
#[server(prefix = "/api", endpoint = "set_preferences")]
pub async fn set_preferences(user_id: String, prefs: Preferences) -> Result<(), AppError> {
    use pathfinder::storage::USER_PREFERENCES;
    crate::server::serve::<SetPreferences, _>(async |c| {
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(USER_PREFERENCES, ("user", Some(id.as_str())));
        c.db.call(move |s| s.set_preferences(&id, &prefs, &audit)).await
    })
    .await
}

/// Removes one of a user's SSO links (admins), audited.
#[server(prefix = "/api", endpoint = "unlink_sso")]
pub async fn unlink_sso(user_id: String, sso_account_id: String) -> Result<(), AppError> {
    use pathfinder::storage::USER_SSO_UNLINK;
    crate::server::serve::<UnlinkSso, _>(async |c| {
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(USER_SSO_UNLINK, ("user", Some(id.as_str())));
        c.db.call(move |s| s.unlink_sso(&id, &sso_account_id, &audit)).await
    })
    .await
}

/// Makes one of a user's SSO links the primary one (admins), audited.
#[server(prefix = "/api", endpoint = "set_primary_sso")]
pub async fn set_primary_sso(user_id: String, sso_account_id: String) -> Result<(), AppError> {
    use pathfinder::storage::USER_SSO_PRIMARY;
    crate::server::serve::<SetPrimarySso, _>(async |c| {
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(USER_SSO_PRIMARY, ("user", Some(id.as_str())));
        c.db.call(move |s| s.set_primary_sso(&id, &sso_account_id, &audit)).await
    })
    .await
}

/// Deletes a user (never oneself), their table set first, and destroys their data
/// key. `confirm` must repeat the username, so a stray click cannot delete anyone.
#[server(prefix = "/api", endpoint = "delete_user")]
pub async fn delete_user(user_id: String, confirm: String) -> Result<(), AppError> {
    use pathfinder::storage::USER_DELETE;
    crate::server::serve::<DeleteUser, _>(async |c| {
        if c.is(&user_id) {
            return Err(AppError::invalid("You cannot delete your own account."));
        }
        c.require_fresh_sign_in("Deleting a user")?;
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(USER_DELETE, ("user", Some(id.as_str())));
        c.db.call(move |s| s.delete_user_and_tables(&id, &confirm, &audit)).await?;
        crate::overview::api::counts_changed()?;
        Ok(())
    })
    .await
}
