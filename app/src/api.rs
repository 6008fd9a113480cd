//! Server functions: the browser's API. Each one's roles are stated in `policy.rs`
//! under its path (`/api/<endpoint>`); the body asks [`ssr::authorize`] for that
//! path before it touches storage.

use leptos::prelude::*;
use pathfinder::audit::{AuditFacets, AuditJob, AuditPage, AuditParams, AuditRow};
use pathfinder::dto::{
    BulkOutcome, ConsoleAccount, InvitationInfo, InvitationLink, KeyInventory, MfaSetup, MfaState, Overview, Page,
    Preferences, Principal, ProfileEdit, SensitiveFields, UserDetail, UserSummary,
};
use pathfinder::AppError;

/// The signed-in user, or `None`.
#[server(prefix = "/api", endpoint = "me")]
pub async fn me() -> Result<Option<Principal>, AppError> {
    Ok(ssr::principal())
}

/// The overview's counts as the background job last computed them (see `pathfinder::stats`).
#[server(prefix = "/api", endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/overview")?;
        let cache = ssr::overview_cache()?;
        match cache.latest() {
            Some(o) => Ok(o),
            // Only before the job's first run (the server computes it before serving).
            None => {
                let o = ssr::db()?.call(|s| s.overview(chrono::Utc::now())).await?;
                cache.store(o.clone());
                Ok(o)
            }
        }
    })
    .await
}

#[server(prefix = "/api", endpoint = "users")]
pub async fn list_users(
    q: String,
    mode: String,
    status: String,
    sort: String,
    dir: String,
    after: String,
) -> Result<Page<UserSummary>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/users")?;
        let filter = pathfinder::filter::UserFilter::from_query(&q, &mode, &status, &sort, &dir, &after)?;
        ssr::db()?.call(move |s| s.search_users(&filter)).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "user_detail")]
pub async fn get_user_detail(user_id: String) -> Result<UserDetail, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/user_detail")?;
        let id = pathfinder::UserId(user_id);
        let policy = ssr::key_policy()?;
        ssr::db()?
            .call(move |s| {
                let profile = s.user_profile(&id)?;
                let sessions = s.list_sessions(&id)?;
                let tables = match pathfinder::Username::parse(&profile.summary.username) {
                    Ok(name) => s.user_table_set(&name)?,
                    // A legacy name that breaks the rule can have no table set.
                    Err(_) => None,
                };
                let activity = s.user_activity(&id)?;
                let stats_refresh = s.last_stats_refresh()?;
                let key = s.key_of(&id, policy.rotation_days)?;
                let sign_in = s.sign_in_state(&id)?;
                let sso_links = s.sso_links(&id)?;
                let preferences = s.preferences(&id)?;
                Ok(UserDetail {
                    profile,
                    sessions,
                    tables,
                    activity,
                    stats_refresh,
                    key,
                    sign_in,
                    sso_links,
                    preferences,
                })
            })
            .await
    })
    .await
}

/// Sets a user's account status (admins only, never their own), audited with the change.
#[server(prefix = "/api", endpoint = "set_user_status")]
pub async fn set_user_status(user_id: String, status: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/set_user_status")?.ok_or(AppError::Unauthenticated)?;
        if who.user_id.0 == user_id {
            return Err(AppError::invalid("You cannot change the status of your own account."));
        }
        let id = pathfinder::UserId(user_id);
        let action = format!("user.status.{status}");
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), &action, ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.set_account_status(&id, &status, &audit)).await?;
        ssr::overview_cache()?.changed();
        Ok(())
    })
    .await
}

/// A user's sensitive fields in the clear. Each call writes its audit row
/// (`user.sensitive.read`) in the same transaction as the read.
#[server(prefix = "/api", endpoint = "reveal_sensitive")]
pub async fn reveal_sensitive(user_id: String) -> Result<SensitiveFields, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/reveal_sensitive")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let audit =
            ssr::request_meta()?.audit(Some(&who.user_id), "user.sensitive.read", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.read_sensitive_fields(&id, &audit)).await
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
    ssr::answer(async {
        let who = ssr::authorize("/api/set_sensitive")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let fields = SensitiveFields {
            phone_number: Some(phone_number),
            date_of_birth: Some(date_of_birth),
            gender: Some(gender),
            nationality: Some(nationality),
        };
        let audit =
            ssr::request_meta()?.audit(Some(&who.user_id), "user.sensitive.update", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.set_sensitive_fields(&id, &fields, &audit)).await
    })
    .await
}

/// Clears an account's failed sign-ins and lock (admins), audited.
#[server(prefix = "/api", endpoint = "unlock_sign_in")]
pub async fn unlock_sign_in(user_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/unlock_sign_in")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "user.unlock", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.unlock_login(&id, &audit)).await
    })
    .await
}

/// The signed-in user's own second factor.
#[server(prefix = "/api", endpoint = "mfa_state")]
pub async fn get_mfa_state() -> Result<MfaState, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/mfa_state")?.ok_or(AppError::Unauthenticated)?;
        ssr::db()?.call(move |s| s.mfa_state(&who.user_id)).await
    })
    .await
}

/// Starts setting up TOTP for the signed-in user: a new secret, stored encrypted,
/// shown once as a QR code and as text.
#[server(prefix = "/api", endpoint = "start_mfa_setup")]
pub async fn start_mfa_setup() -> Result<MfaSetup, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/start_mfa_setup")?.ok_or(AppError::Unauthenticated)?;
        let secret = pathfinder::mfa::new_secret();
        let qr_svg = pathfinder::mfa::setup_qr(&secret, &who.username)?;
        let id = who.user_id.clone();
        let audit = ssr::request_meta()?.audit(Some(&id), "mfa.setup.start", ("user", Some(id.as_str())), 200);
        let stored = secret.clone();
        ssr::db()?.call(move |s| s.start_mfa_setup(&id, &stored, &audit)).await?;
        Ok(MfaSetup { secret, qr_svg })
    })
    .await
}

/// Turns TOTP on once a first code proves the app has the secret; answers the
/// recovery codes, shown this once (the database keeps their hashes).
#[server(prefix = "/api", endpoint = "confirm_mfa_setup")]
pub async fn confirm_mfa_setup(code: String) -> Result<Vec<String>, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/confirm_mfa_setup")?.ok_or(AppError::Unauthenticated)?;
        let id = who.user_id.clone();
        let audit = ssr::request_meta()?.audit(Some(&id), "mfa.enable", ("user", Some(id.as_str())), 200);
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
        ssr::db()?
            .call(move |s| {
                let secret = s.mfa_secret(&id)?.ok_or_else(|| {
                    AppError::Conflict("Start the setup first: there is no secret to confirm.".into())
                })?;
                let step = pathfinder::mfa::check_code(&secret, &code, now, None)?.ok_or_else(|| {
                    AppError::invalid(
                        "That code is not the current one: check the time on your phone and try the next code.",
                    )
                })?;
                let codes = pathfinder::mfa::new_recovery_codes();
                let hashes: Vec<String> = codes.iter().map(|c| pathfinder::mfa::recovery_hash(c)).collect();
                s.enable_mfa(&id, step, &hashes, &audit)?;
                Ok(codes)
            })
            .await
    })
    .await
}

/// Ends one session of a user (admins), audited; the history keeps who ended it.
#[server(prefix = "/api", endpoint = "revoke_session")]
pub async fn revoke_session(session_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/revoke_session")?.ok_or(AppError::Unauthenticated)?;
        let sid = pathfinder::SessionId(session_id);
        let audit =
            ssr::request_meta()?.audit(Some(&who.user_id), "session.revoke", ("session", Some(sid.as_str())), 200);
        ssr::db()?.call(move |s| s.revoke_session(&sid, "revoked", &audit)).await
    })
    .await
}

/// The filter of a revoke by filter, from its form fields (empty: not given).
#[cfg(feature = "ssr")]
fn session_filter(
    user_id: String,
    inactive_users: Option<String>,
    started_before: String,
    ip_address: String,
) -> Result<pathfinder::storage::SessionFilter, AppError> {
    let started_before = match started_before.trim() {
        "" => None,
        day => Some(
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| AppError::invalid("Give the date as YYYY-MM-DD."))?
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
                .ok_or_else(|| AppError::invalid("Give the date as YYYY-MM-DD."))?,
        ),
    };
    let ip_address = match ip_address.trim() {
        "" => None,
        ip => Some(
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| AppError::invalid(format!("{ip:?} is not an IP address.")))?
                .to_string(),
        ),
    };
    let user_id = Some(user_id.trim()).filter(|u| !u.is_empty()).map(|u| pathfinder::UserId(u.to_string()));
    Ok(pathfinder::storage::SessionFilter {
        user_id,
        inactive_users: inactive_users.is_some(),
        started_before,
        ip_address,
    })
}

/// How many active sessions a revoke by filter would end.
#[server(prefix = "/api", endpoint = "count_sessions")]
pub async fn count_sessions(
    user_id: String,
    inactive_users: Option<String>,
    started_before: String,
    ip_address: String,
) -> Result<i64, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/count_sessions")?;
        let filter = session_filter(user_id, inactive_users, started_before, ip_address)?;
        ssr::db()?.call(move |s| s.count_sessions(&filter)).await
    })
    .await
}

/// Ends every active session the filter matches (a user's, those of users not
/// active, started before a date, from an address): one audit row with the count.
#[server(prefix = "/api", endpoint = "revoke_sessions")]
pub async fn revoke_sessions(
    user_id: String,
    inactive_users: Option<String>,
    started_before: String,
    ip_address: String,
) -> Result<u64, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/revoke_sessions")?.ok_or(AppError::Unauthenticated)?;
        let filter = session_filter(user_id, inactive_users, started_before, ip_address)?;
        let entity = filter.user_id.as_ref().map(|u| ("user", Some(u.as_str()))).unwrap_or(("session", None));
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "session.revoke_many", entity, 200);
        ssr::db()?.call(move |s| s.revoke_sessions(&filter, "revoked", &audit)).await
    })
    .await
}

/// Replaces a user's editable profile fields (admins), audited before -> after.
#[server(prefix = "/api", endpoint = "update_profile")]
pub async fn update_profile(user_id: String, edit: ProfileEdit) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/update_profile")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "user.update", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.update_profile(&id, &edit, &audit)).await
    })
    .await
}

/// Replaces a user's preferences, five JSON objects (admins), audited before -> after.
#[server(prefix = "/api", endpoint = "set_preferences")]
pub async fn set_preferences(user_id: String, prefs: Preferences) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/set_preferences")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let audit =
            ssr::request_meta()?.audit(Some(&who.user_id), "user.preferences", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.set_preferences(&id, &prefs, &audit)).await
    })
    .await
}

/// Removes one of a user's SSO links (admins), audited.
#[server(prefix = "/api", endpoint = "unlink_sso")]
pub async fn unlink_sso(user_id: String, sso_account_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/unlink_sso")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "user.sso.unlink", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.unlink_sso(&id, &sso_account_id, &audit)).await
    })
    .await
}

/// Makes one of a user's SSO links the primary one (admins), audited.
#[server(prefix = "/api", endpoint = "set_primary_sso")]
pub async fn set_primary_sso(user_id: String, sso_account_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/set_primary_sso")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let audit =
            ssr::request_meta()?.audit(Some(&who.user_id), "user.sso.primary", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.set_primary_sso(&id, &sso_account_id, &audit)).await
    })
    .await
}

/// The username of a user, as the per-user table set is named after it.
#[cfg(feature = "ssr")]
fn table_owner(
    s: &dyn pathfinder::storage::Storage,
    id: &pathfinder::UserId,
) -> Result<pathfinder::Username, AppError> {
    let name = s.user_profile(id)?.summary.username;
    pathfinder::Username::parse(&name)
        .map_err(|_| AppError::invalid(format!("{name:?} breaks the username rule, so it can have no table set.")))
}

/// Provisions the user's per-user table set (admins), with the CLI's crash-safe flow.
#[server(prefix = "/api", endpoint = "provision_user_tables")]
pub async fn provision_user_tables(user_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/provision_user_tables")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let audit = ssr::request_meta()?.audit(
            Some(&who.user_id),
            "user_tables.provision",
            ("user_tables", Some(id.as_str())),
            200,
        );
        ssr::db()?
            .call(move |s| {
                let owner = table_owner(s, &id)?;
                s.provision_user_tables(&owner, &audit).map(|_| ())
            })
            .await
    })
    .await
}

/// Drops the user's per-user table set and its rows (admins); `confirm` must repeat
/// the username.
#[server(prefix = "/api", endpoint = "drop_user_tables")]
pub async fn drop_user_tables(user_id: String, confirm: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/drop_user_tables")?.ok_or(AppError::Unauthenticated)?;
        ssr::require_fresh_sign_in(&who, "Dropping a table set")?;
        let id = pathfinder::UserId(user_id);
        let audit =
            ssr::request_meta()?.audit(Some(&who.user_id), "user_tables.drop", ("user_tables", Some(id.as_str())), 200);
        ssr::db()?
            .call(move |s| {
                let owner = table_owner(s, &id)?;
                if confirm.trim() != owner.as_str() {
                    return Err(AppError::invalid(format!(
                        "Type the username ({owner}) to confirm: the tables and their rows are dropped."
                    )));
                }
                s.drop_user_tables(&owner, &audit)
            })
            .await
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
    ssr::answer(async {
        let who = ssr::authorize("/api/create_user")?.ok_or(AppError::Unauthenticated)?;
        if !pathfinder::filter::ACCOUNT_STATUSES.contains(&account_status.as_str()) {
            return Err(AppError::invalid(format!("Unknown account status {account_status:?}.")));
        }
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
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "user.create", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.create_user(&user, &audit)).await?;
        if ssr::is_plain_form_post() {
            leptos_axum::redirect(&format!("/users/{}", id.0));
        }
        Ok(id.0)
    })
    .await
}

/// The feature-flag groups, by name, for the group pickers.
#[server(prefix = "/api", endpoint = "groups")]
pub async fn groups() -> Result<Vec<pathfinder::dto::GroupRef>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/groups")?;
        ssr::db()?.call(|s| s.list_groups()).await
    })
    .await
}

/// Puts a user in a group, or in none (`group_id` empty); audited as
/// `group: before -> after`. A plain form post goes back to the user's page.
#[server(prefix = "/api", endpoint = "set_user_group")]
pub async fn set_user_group(user_id: String, group_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/set_user_group")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "user.group", ("user", Some(id.as_str())), 200);
        let back = format!("/users/{}", id.0);
        ssr::db()?.call(move |s| s.set_user_group(&id, (!group_id.is_empty()).then_some(&group_id), &audit)).await?;
        if ssr::is_plain_form_post() {
            leptos_axum::redirect(&back);
        }
        Ok(())
    })
    .await
}

/// The most users one bulk action may touch: past it, narrow the filter.
pub const BULK_MAX: usize = 10_000;

/// The ids of the users the filter matches (every page, in order), at most
/// [`BULK_MAX`]: taken first, so a change that moves users out of the filter (a new
/// status) cannot make the walk skip anyone.
#[cfg(feature = "ssr")]
fn bulk_targets(
    s: &dyn pathfinder::storage::Storage,
    q: &str,
    mode: &str,
    status: &str,
) -> Result<Vec<pathfinder::UserId>, AppError> {
    let mut filter = pathfinder::filter::UserFilter::from_query(q, mode, status, "", "", "")?;
    filter.limit = pathfinder::filter::PAGE_SIZE_MAX;
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

/// How many users a bulk action on the users filter would touch.
#[server(prefix = "/api", endpoint = "bulk_preview")]
pub async fn bulk_preview(q: String, mode: String, status: String) -> Result<usize, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/bulk_preview")?;
        ssr::db()?.call(move |s| bulk_targets(s, &q, &mode, &status).map(|ids| ids.len())).await
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
    ssr::answer(async {
        let who = ssr::authorize("/api/bulk_apply")?.ok_or(AppError::Unauthenticated)?;
        match action.as_str() {
            "status" if pathfinder::filter::ACCOUNT_STATUSES.contains(&value.as_str()) => {}
            "status" => return Err(AppError::invalid(format!("Unknown account status {value:?}."))),
            "revoke_sessions" | "group" => {}
            _ => return Err(AppError::invalid("Choose an action: a new status, a group, or ending their sessions.")),
        }
        let meta = ssr::request_meta()?;
        let outcome = ssr::db()?
            .call(move |s| {
                let group = (!value.is_empty()).then_some(value.as_str());
                if let (true, Some(g)) = (action == "group", group) {
                    if s.find_group(g)?.is_none() {
                        return Err(AppError::invalid(
                            "That group does not exist (it may have been deleted): choose another.",
                        ));
                    }
                }
                let mut outcome = BulkOutcome::default();
                for id in bulk_targets(s, &q, &mode, &status)?.into_iter().filter(|id| *id != who.user_id) {
                    let done = if action == "status" {
                        let audit =
                            meta.audit(Some(&who.user_id), "user.status.bulk", ("user", Some(id.as_str())), 200);
                        s.set_account_status(&id, &value, &audit)
                    } else if action == "group" {
                        let audit = meta.audit(Some(&who.user_id), "user.group.bulk", ("user", Some(id.as_str())), 200);
                        s.set_user_group(&id, group, &audit)
                    } else {
                        let audit =
                            meta.audit(Some(&who.user_id), "session.revoke_many", ("user", Some(id.as_str())), 200);
                        let filter =
                            pathfinder::storage::SessionFilter { user_id: Some(id.clone()), ..Default::default() };
                        s.revoke_sessions(&filter, "revoked (bulk)", &audit).map(|_| ())
                    };
                    match done {
                        Ok(()) => outcome.changed += 1,
                        Err(e) => {
                            tracing::warn!(user = %id, error = %e, "a bulk action left a user unchanged");
                            outcome.failed += 1;
                        }
                    }
                }
                Ok(outcome)
            })
            .await?;
        ssr::overview_cache()?.changed();
        Ok(outcome)
    })
    .await
}

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

/// The invitations, newest first (admins).
#[server(prefix = "/api", endpoint = "invitations")]
pub async fn get_invitations() -> Result<Vec<InvitationInfo>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/invitations")?;
        ssr::db()?.call(|s| s.list_invitations(chrono::Utc::now())).await
    })
    .await
}

/// Invites someone by email (admins): with a console role or none (`user`) and
/// an optional group; the link is mailed and answered this once (its token is kept only as a hash).
#[server(prefix = "/api", endpoint = "create_invitation")]
pub async fn create_invitation(
    email: String,
    role: String,
    #[server(default)] group_id: String,
) -> Result<InvitationLink, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/create_invitation")?.ok_or(AppError::Unauthenticated)?;
        if role == "admin" {
            ssr::require_fresh_sign_in(&who, "Inviting an administrator")?;
        }
        let token = ssr::new_token();
        let invitation = pathfinder::storage::NewInvitation {
            invitation_id: pathfinder::new_id(),
            email: email.trim().to_string(),
            token_hash: ssr::token_hash(&token),
            invited_by: who.user_id.clone(),
            role,
            expires_at: chrono::Utc::now() + chrono::Duration::days(INVITATION_DAYS),
            feature_group_id: (!group_id.is_empty()).then_some(group_id),
        };
        let id = invitation.invitation_id.clone();
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "invitation.create", ("invitation", Some(&id)), 200);
        let sent = invitation.clone();
        ssr::db()?.call(move |s| s.create_invitation(&sent, &audit)).await?;
        let link = ssr::invitation_link(&token)?;
        ssr::mail_invitation(&invitation.email, &link)?;
        Ok(InvitationLink { invitation_id: id, link })
    })
    .await
}

/// Withdraws a pending invitation (admins): its link answers 410 from then on.
#[server(prefix = "/api", endpoint = "withdraw_invitation")]
pub async fn withdraw_invitation(invitation_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/withdraw_invitation")?.ok_or(AppError::Unauthenticated)?;
        let audit = ssr::request_meta()?.audit(
            Some(&who.user_id),
            "invitation.withdraw",
            ("invitation", Some(&invitation_id)),
            200,
        );
        ssr::db()?.call(move |s| s.withdraw_invitation(&invitation_id, &audit)).await
    })
    .await
}

/// Sends a pending invitation again with a new link and expiry (admins).
#[server(prefix = "/api", endpoint = "resend_invitation")]
pub async fn resend_invitation(invitation_id: String) -> Result<InvitationLink, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/resend_invitation")?.ok_or(AppError::Unauthenticated)?;
        let token = ssr::new_token();
        let hash = ssr::token_hash(&token);
        let expires = chrono::Utc::now() + chrono::Duration::days(INVITATION_DAYS);
        let audit = ssr::request_meta()?.audit(
            Some(&who.user_id),
            "invitation.resend",
            ("invitation", Some(&invitation_id)),
            200,
        );
        let id = invitation_id.clone();
        let email = ssr::db()?.call(move |s| s.renew_invitation(&id, &hash, expires, &audit)).await?;
        let link = ssr::invitation_link(&token)?;
        ssr::mail_invitation(&email, &link)?;
        Ok(InvitationLink { invitation_id, link })
    })
    .await
}

/// What an invitation link names, for its page (anyone holding the link): the email
/// and role, or why it can no longer be used (410).
#[server(prefix = "/api", endpoint = "invitation_preview")]
pub async fn invitation_preview(token: String) -> Result<InvitationInfo, AppError> {
    ssr::answer(async {
        let hash = ssr::token_hash(&token);
        let found = ssr::db()?.call(move |s| s.invitation_by_token(&hash, chrono::Utc::now())).await?;
        let invitation = found.ok_or_else(InvitationInfo::unknown)?;
        match invitation.gone() {
            Some(gone) => Err(gone),
            None => Ok(InvitationInfo { invited_by: None, ..invitation }),
        }
    })
    .await
}

/// How recent a sign-in must be for the actions that could lock someone out or
/// hand over an account.
pub const FRESH_SIGN_IN_MINUTES: i64 = 5;

/// Everyone holding a console role: roles, second factor, last sign-in, lock.
#[server(prefix = "/api", endpoint = "console_accounts")]
pub async fn get_console_accounts() -> Result<Vec<ConsoleAccount>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/console_accounts")?;
        ssr::db()?.call(|s| s.console_accounts()).await
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
    ssr::answer(async {
        let who = ssr::authorize("/api/set_console_roles")?.ok_or(AppError::Unauthenticated)?;
        if who.user_id.0 == user_id {
            return Err(AppError::invalid("You cannot change your own console roles: ask another admin."));
        }
        let wanted: Vec<pathfinder::Role> = [
            (admin, pathfinder::Role::Admin),
            (sre, pathfinder::Role::Sre),
            (compliance, pathfinder::Role::Compliance),
        ]
        .into_iter()
        .filter_map(|(ticked, role)| ticked.map(|_| role))
        .collect();
        let id = pathfinder::UserId(user_id);
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "user.roles", ("user", Some(id.as_str())), 200);
        let db = ssr::db()?;
        let check = id.clone();
        let current = db.call(move |s| s.user_profile(&check)).await?.roles;
        if wanted.contains(&pathfinder::Role::Admin) && !current.contains(&pathfinder::Role::Admin) {
            ssr::require_fresh_sign_in(&who, "Granting the admin role")?;
        }
        db.call(move |s| s.set_console_roles(&id, &wanted, &audit).map(|_| ())).await
    })
    .await
}

/// Turns another user's second factor off (admins; never their own; only within
/// five minutes of their own sign-in), audited.
#[server(prefix = "/api", endpoint = "reset_mfa")]
pub async fn reset_mfa(user_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/reset_mfa")?.ok_or(AppError::Unauthenticated)?;
        if who.user_id.0 == user_id {
            return Err(AppError::invalid("You cannot reset your own two-factor sign-in: ask another admin."));
        }
        ssr::require_fresh_sign_in(&who, "Resetting two-factor sign-in")?;
        let id = pathfinder::UserId(user_id);
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "mfa.reset", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.reset_mfa(&id, &audit)).await
    })
    .await
}

/// Replaces a user's data key and re-encrypts their fields (one transaction), audited.
#[server(prefix = "/api", endpoint = "rotate_user_key")]
pub async fn rotate_user_key(user_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/rotate_user_key")?.ok_or(AppError::Unauthenticated)?;
        let id = pathfinder::UserId(user_id);
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "key.rotate", ("user", Some(id.as_str())), 200);
        ssr::db()?.call(move |s| s.rotate_user_key(&id, &audit).map(|_| ())).await
    })
    .await
}

/// Deletes a user (never oneself) and destroys their data key. `confirm` must repeat
/// the username, so a stray click cannot delete anyone.
#[server(prefix = "/api", endpoint = "delete_user")]
pub async fn delete_user(user_id: String, confirm: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/delete_user")?.ok_or(AppError::Unauthenticated)?;
        if who.user_id.0 == user_id {
            return Err(AppError::invalid("You cannot delete your own account."));
        }
        ssr::require_fresh_sign_in(&who, "Deleting a user")?;
        let id = pathfinder::UserId(user_id);
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "user.delete", ("user", Some(id.as_str())), 200);
        let meta = ssr::request_meta()?;
        let actor = who.user_id.clone();
        ssr::db()?
            .call(move |s| {
                let profile = s.user_profile(&id)?;
                if confirm.trim() != profile.summary.username {
                    return Err(AppError::invalid(format!(
                        "Type the username ({}) to confirm the deletion.",
                        profile.summary.username
                    )));
                }
                // Their table set goes first, in its own audited (crash-safe) steps:
                // Oracle cannot drop tables inside the deletion's transaction.
                if let Ok(owner) = pathfinder::Username::parse(&profile.summary.username) {
                    if s.user_table_set(&owner)?.is_some() {
                        let drop =
                            meta.audit(Some(&actor), "user_tables.drop", ("user_tables", Some(id.as_str())), 200);
                        s.drop_user_tables(&owner, &drop)?;
                    }
                }
                s.delete_user(&id, &audit)
            })
            .await?;
        ssr::overview_cache()?.changed();
        Ok(())
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
    ssr::answer(async {
        use pathfinder::storage::RotationScope;
        let who = ssr::authorize("/api/start_key_rotation")?.ok_or(AppError::Unauthenticated)?;
        let days = ssr::key_policy()?.rotation_days;
        let db = ssr::db()?;
        let inv = db.call(move |s| s.key_inventory(days, None, 1)).await?;
        let (scope, count, what) = match scope.as_str() {
            "overdue" => (RotationScope::Overdue { rotation_days: days }, inv.overdue, "overdue keys"),
            "all" => (RotationScope::All, inv.total, "keys"),
            other => return Err(AppError::invalid(format!("Rotate 'overdue' or 'all' keys, not '{other}'."))),
        };
        if inv.rotation_running_since.is_some() {
            return Err(AppError::Conflict("A key rotation is already running.".into()));
        }
        if count == 0 {
            return Ok(format!("There are no {what}: nothing to rotate."));
        }
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "key.rotation_run", ("encryption_keys", None), 200);
        db.detach("key rotation run", move |s| s.rotate_keys(scope, &audit, &mut |_, _| true));
        Ok(format!("Rotating {count} {what} in the background."))
    })
    .await
}

/// The key inventory: totals and the keys longest without rotation first.
#[server(prefix = "/api", endpoint = "key_inventory")]
pub async fn get_key_inventory(after: String) -> Result<KeyInventory, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/key_inventory")?;
        let policy = ssr::key_policy()?;
        ssr::db()?.call(move |s| s.key_inventory(policy.rotation_days, Some(after.as_str()), 100)).await
    })
    .await
}

/// One page of the audit log's search; each search is itself audited (who looked
/// at what filter).
#[server(prefix = "/api", endpoint = "audit_search")]
pub async fn audit_search(params: AuditParams) -> Result<AuditPage, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/audit_search")?.ok_or(AppError::Unauthenticated)?;
        let filter = pathfinder::audit::AuditFilter::from_params(&params, chrono::Utc::now())?;
        let mut audit = ssr::request_meta()?.audit(Some(&who.user_id), "audit.search", ("audit_log", None), 200);
        audit.error_message = Some(params.describe());
        ssr::db()?
            .call(move |s| {
                let page = s.search_audit(&filter)?;
                s.append_audit(&audit)?;
                Ok(page)
            })
            .await
    })
    .await
}

/// How many events the filter matches, by action, outcome and actor.
#[server(prefix = "/api", endpoint = "audit_facets")]
pub async fn get_audit_facets(params: AuditParams) -> Result<AuditFacets, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/audit_facets")?;
        let filter = pathfinder::audit::AuditFilter::from_params(&params.first_page(), chrono::Utc::now())?;
        ssr::db()?.call(move |s| s.audit_facets(&filter)).await
    })
    .await
}

/// One event, every column; looking is audited.
#[server(prefix = "/api", endpoint = "audit_event")]
pub async fn audit_event(id: String) -> Result<AuditRow, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/audit_event")?.ok_or(AppError::Unauthenticated)?;
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "audit.event.view", ("audit_event", Some(&id)), 200);
        ssr::db()?
            .call(move |s| {
                let event = s.audit_event(&id)?.ok_or_else(|| AppError::NotFound("The event".into()))?;
                s.append_audit(&audit)?;
                Ok(event)
            })
            .await
    })
    .await
}

/// Starts a verification of the chain or an exact count of a filter in the
/// background; the job's id, to follow with `audit_job`.
#[server(prefix = "/api", endpoint = "start_audit_job")]
pub async fn start_audit_job(kind: String, params: AuditParams) -> Result<String, AppError> {
    ssr::answer(async {
        use pathfinder::audit::AuditJobKind;
        let who = ssr::authorize("/api/start_audit_job")?.ok_or(AppError::Unauthenticated)?;
        let kind = AuditJobKind::parse(&kind)?;
        let filter = pathfinder::audit::AuditFilter::from_params(&params.first_page(), chrono::Utc::now())?;
        let described = match kind {
            AuditJobKind::Verify => "the whole chain".to_string(),
            AuditJobKind::Count => params.describe(),
        };
        let action = format!("audit.{}", kind.as_str());
        let mut audit = ssr::request_meta()?.audit(Some(&who.user_id), &action, ("audit_log", None), 200);
        audit.error_message = Some(described.clone());
        let key = use_context::<pathfinder::audit::AuditKey>().map(|k| k.0);
        let db = ssr::db()?;
        let begin = pathfinder::storage::AuditEntry { action: format!("{action}.begin"), ..audit.clone() };
        let id = db.call(move |s| s.start_audit_job(kind, &described, &begin)).await?;
        let job = id.clone();
        db.detach("audit job", move |s| s.run_audit_job(&job, kind, &filter, key.as_deref(), &audit));
        Ok(id)
    })
    .await
}

/// A background job's progress and result.
#[server(prefix = "/api", endpoint = "audit_job")]
pub async fn get_audit_job(id: String) -> Result<AuditJob, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/audit_job")?;
        ssr::db()?.call(move |s| s.audit_job(&id)).await
    })
    .await
}

// ---- Feature flags (issue 11) ----

use pathfinder::flags::{ApiKey, Evaluation, Flag, FlagPage, Group, GroupPage, NewApiKey, Override};

/// Flags whose key or name contains `q`, of a type, system-wide or not, in an
/// order (admins and SREs).
#[server(prefix = "/api", endpoint = "flags")]
pub async fn get_flags(
    q: String,
    #[server(default)] flag_type: String,
    #[server(default)] system_wide: String,
    #[server(default)] sort: String,
) -> Result<Vec<Flag>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/flags")?;
        let query = pathfinder::flags::FlagQuery::from_query(&q, &flag_type, &system_wide, &sort)?;
        ssr::db()?.call(move |s| Ok(query.apply(s.flags(&query.text)?))).await
    })
    .await
}

/// How many overrides a flag's page lists at a time.
pub const OVERRIDES_PAGE: u32 = 50;

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
    ssr::answer(async {
        ssr::authorize("/api/flag")?;
        let filter = pathfinder::flags::OverrideFilter::from_query(&holders, &state, &holder, &after)?;
        ssr::db()?
            .call(move |s| {
                let flag = s.flag(&key)?;
                let now = chrono::Utc::now();
                let overrides = s.overrides_of_flag(&key, &filter, now, OVERRIDES_PAGE)?;
                let override_count = s.override_count(&key)?;
                let filter = pathfinder::audit::AuditFilter {
                    entity_id: Some(flag.flag_id.clone()),
                    ..pathfinder::audit::AuditFilter::from_params(&Default::default(), now)?
                };
                let history = s.search_audit(&filter)?.events.into_iter().take(20).collect();
                Ok(FlagPage { flag, overrides, override_count, history })
            })
            .await
    })
    .await
}

/// How many members a group's page lists at a time.
pub const MEMBERS_PAGE: u32 = 50;

/// A group with a page of its members (after the username `after`) and its
/// overrides (admins and SREs).
#[server(prefix = "/api", endpoint = "flag_group")]
pub async fn get_flag_group(group_id: String, #[server(default)] after: String) -> Result<GroupPage, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/flag_group")?;
        ssr::db()?
            .call(move |s| {
                let group = s.group(&group_id)?;
                let after = (!after.is_empty()).then_some(after.as_str());
                let mut members = s.group_members(&group_id, after, MEMBERS_PAGE + 1)?;
                let next = (members.len() > MEMBERS_PAGE as usize).then(|| {
                    members.truncate(MEMBERS_PAGE as usize);
                    members.last().map(|m| m.username.clone())
                });
                let overrides = s.overrides_held(&pathfinder::flags::Target::Group(group_id.clone()))?;
                Ok(GroupPage { size: s.group_size(&group_id)?, group, members, next: next.flatten(), overrides })
            })
            .await
    })
    .await
}

/// Puts one user (by username) in a group (admins); audited as a change of the
/// user's group, as on their page.
#[server(prefix = "/api", endpoint = "add_group_member")]
pub async fn add_group_member(group_id: String, username: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/add_group_member")?.ok_or(AppError::Unauthenticated)?;
        let meta = ssr::request_meta()?;
        ssr::db()?
            .call(move |s| {
                let name = pathfinder::Username::parse(username.trim())?;
                let id = s
                    .user_id_by_username(&name)?
                    .ok_or_else(|| AppError::invalid(format!("No user is named '{}'.", username.trim())))?;
                let audit = meta.audit(Some(&who.user_id), "user.group", ("user", Some(id.as_str())), 200);
                s.set_user_group(&id, Some(&group_id), &audit)
            })
            .await
    })
    .await
}

/// The overrides a user holds themselves (admins).
#[server(prefix = "/api", endpoint = "user_overrides")]
pub async fn get_user_overrides(user_id: String) -> Result<Vec<Override>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/user_overrides")?;
        ssr::db()?.call(move |s| s.overrides_held(&pathfinder::flags::Target::User(user_id))).await
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
    ssr::answer(async {
        let who = ssr::authorize("/api/save_flag")?.ok_or(AppError::Unauthenticated)?;
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
        let action = if original.is_empty() { "flag.create" } else { "flag.update" };
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), action, ("feature_flag", None), 200);
        ssr::db()?
            .call(move |s| {
                if original.is_empty() {
                    s.create_flag(&edit, &audit)
                } else {
                    s.update_flag(&original, &edit, &audit)
                }
            })
            .await
    })
    .await
}

/// Deletes a flag and its overrides (admins); the answer says how many went.
#[server(prefix = "/api", endpoint = "delete_flag")]
pub async fn delete_flag(key: String) -> Result<u64, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/delete_flag")?.ok_or(AppError::Unauthenticated)?;
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "flag.delete", ("feature_flag", None), 200);
        ssr::db()?.call(move |s| s.delete_flag(&key, &audit)).await
    })
    .await
}

/// Sets a flag's override for a user (`target` a username or id) or a group
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
    ssr::answer(async {
        let who = ssr::authorize("/api/set_override")?.ok_or(AppError::Unauthenticated)?;
        let target = match (user.trim(), group_id.trim()) {
            ("", "") => return Err(AppError::invalid("Name a user or choose a group for the override.")),
            (u, "") => pathfinder::flags::Target::User(u.to_string()),
            ("", g) => pathfinder::flags::Target::Group(g.to_string()),
            _ => return Err(AppError::invalid("An override is for one user or one group, not both.")),
        };
        let edit =
            pathfinder::flags::OverrideEdit { value, reason, expires_at: pathfinder::flags::expiry_of(&expires_at)? };
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "flag.override.set", ("feature_flag", None), 200);
        ssr::db()?.call(move |s| s.set_override(&key, &target, &edit, &audit).map(|_| ())).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "delete_override")]
pub async fn delete_override(override_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/delete_override")?.ok_or(AppError::Unauthenticated)?;
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "flag.override.delete", ("feature_flag", None), 200);
        ssr::db()?.call(move |s| s.delete_override(&override_id, &audit)).await
    })
    .await
}

/// A flag's value for a user, and why (admins and SREs).
#[server(prefix = "/api", endpoint = "evaluate_flag")]
pub async fn evaluate_flag(key: String, user: String) -> Result<Evaluation, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/evaluate_flag")?;
        ssr::db()?
            .call(move |s| {
                let user = user.trim().to_lowercase();
                let known = pathfinder::Username::parse(&user)
                    .ok()
                    .map(|u| s.user_id_by_username(&u))
                    .transpose()?
                    .flatten()
                    .is_some();
                if !known {
                    return Err(AppError::invalid(format!("No user is named '{user}'.")));
                }
                s.evaluate(&key, Some(&user), chrono::Utc::now())
            })
            .await
    })
    .await
}

/// Every flag's value for one user, and where each came from (admins).
#[server(prefix = "/api", endpoint = "user_flags")]
pub async fn get_user_flags(user_id: String) -> Result<Vec<Evaluation>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/user_flags")?;
        ssr::db()?.call(move |s| s.evaluate_all(Some(&user_id), chrono::Utc::now())).await
    })
    .await
}

/// The groups, highest priority first (admins and SREs).
#[server(prefix = "/api", endpoint = "flag_groups")]
pub async fn get_flag_groups() -> Result<Vec<Group>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/flag_groups")?;
        ssr::db()?.call(|s| s.groups()).await
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
    ssr::answer(async {
        let who = ssr::authorize("/api/save_group")?.ok_or(AppError::Unauthenticated)?;
        let priority = match priority.trim() {
            "" => 0,
            p => p.parse().map_err(|_| AppError::invalid("A group's priority is a whole number."))?,
        };
        let edit = pathfinder::flags::GroupEdit { name, description, is_default: is_default.is_some(), priority };
        let action = if group_id.is_empty() { "group.create" } else { "group.update" };
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), action, ("user_group", None), 200);
        ssr::db()?.call(move |s| s.save_group((!group_id.is_empty()).then_some(group_id.as_str()), &edit, &audit)).await
    })
    .await
}

/// Deletes a group: its members leave it, its overrides go (admins).
#[server(prefix = "/api", endpoint = "delete_group")]
pub async fn delete_group(group_id: String) -> Result<(u64, u64), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/delete_group")?.ok_or(AppError::Unauthenticated)?;
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "group.delete", ("user_group", None), 200);
        ssr::db()?.call(move |s| s.delete_group(&group_id, &audit)).await
    })
    .await
}

/// The evaluation API's keys (admins).
#[server(prefix = "/api", endpoint = "api_keys")]
pub async fn get_api_keys() -> Result<Vec<ApiKey>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/api_keys")?;
        ssr::db()?.call(|s| s.api_keys()).await
    })
    .await
}

/// Makes a key for a service (admins): its secret is answered this once.
#[server(prefix = "/api", endpoint = "create_api_key")]
pub async fn create_api_key(name: String) -> Result<NewApiKey, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/create_api_key")?.ok_or(AppError::Unauthenticated)?;
        let (secret, hash, prefix) = pathfinder::secret::new_api_key();
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), "flag.api_key.create", ("api_key", None), 200);
        let key = ssr::db()?.call(move |s| s.create_api_key(&name, &hash, &prefix, &audit)).await?;
        Ok(NewApiKey { key, secret })
    })
    .await
}

#[server(prefix = "/api", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(key_id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/revoke_api_key")?.ok_or(AppError::Unauthenticated)?;
        let audit =
            ssr::request_meta()?.audit(Some(&who.user_id), "flag.api_key.revoke", ("api_key", Some(&key_id)), 200);
        ssr::db()?.call(move |s| s.revoke_api_key(&key_id, &audit)).await
    })
    .await
}

// ---- Operations (issue 12) ----

/// This instance's pool (its newest sample and percentiles since it started) and
/// the database's own view (administrators and SREs).
#[server(prefix = "/api", endpoint = "pool")]
pub async fn get_pool() -> Result<pathfinder::pool::PoolPage, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/pool")?;
        let history = use_context::<std::sync::Arc<pathfinder::pool::PoolHistory>>()
            .ok_or_else(|| AppError::internal("pool history missing from the server function context"))?;
        let (backend, stats, database) =
            ssr::db()?.call(|s| Ok((s.backend_name().to_string(), s.pool_stats(), s.database_view()?))).await?;
        let recent = history.samples(false);
        let (acquire, usage, acquired) = history.since_start();
        Ok(pathfinder::pool::PoolPage {
            backend,
            max: stats.max,
            min: stats.min,
            now: recent.last().copied(),
            acquire,
            usage,
            acquired,
            samples: recent.len(),
            database,
        })
    })
    .await
}

/// This instance's storage operations by name with their times, and its slowest
/// calls of the last hour (administrators and SREs).
#[server(prefix = "/api", endpoint = "queries")]
pub async fn get_queries() -> Result<pathfinder::queries::QueriesPage, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/queries")?;
        ssr::db()?.call(|s| Ok(s.operations())).await
    })
    .await
}

/// The latest storage sample, growth and thresholds (administrators and SREs).
#[server(prefix = "/api", endpoint = "storage")]
pub async fn get_storage() -> Result<pathfinder::usage::StoragePage, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/storage")?;
        let policy = ssr::storage_policy()?;
        ssr::db()?.call(move |s| s.storage_page(&policy)).await
    })
    .await
}

/// Samples the storage now, audited (another instance sampling is a conflict).
#[server(prefix = "/api", endpoint = "storage_sample")]
pub async fn sample_storage_now() -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/storage_sample")?.ok_or(AppError::Unauthenticated)?;
        let policy = ssr::storage_policy()?;
        let audit =
            ssr::request_meta()?.audit(Some(&who.user_id), pathfinder::usage::SAMPLE_ACTION, ("storage", None), 200);
        let now = pathfinder::storage::RefreshWhen::Now;
        ssr::db()?.call(move |s| s.sample_storage(now, &policy, &audit)).await.map(|_| ())
    })
    .await
}

/// Gathers the optimizer statistics now where they are stale, audited.
#[server(prefix = "/api", endpoint = "gather_statistics")]
pub async fn gather_statistics_now() -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/gather_statistics")?.ok_or(AppError::Unauthenticated)?;
        let audit = ssr::request_meta()?.audit(
            Some(&who.user_id),
            pathfinder::usage::STATISTICS_ACTION,
            ("statistics", None),
            200,
        );
        let now = pathfinder::storage::RefreshWhen::Now;
        ssr::db()?.call(move |s| s.gather_statistics(now, &audit)).await.map(|_| ())
    })
    .await
}

/// The retention policies and the last run (administrators).
#[server(prefix = "/api", endpoint = "retention")]
pub async fn get_retention() -> Result<pathfinder::retention::RetentionPage, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/retention")?;
        ssr::db()?.call(|s| s.retention_page()).await
    })
    .await
}

/// Adds a retention policy (`id` empty) or changes one; validated and audited.
#[server(prefix = "/api", endpoint = "save_retention")]
pub async fn save_retention_policy(
    #[server(default)] id: String,
    table_pattern: String,
    retention_days: String,
    #[server(default)] archive: Option<String>,
    #[server(default)] delete: Option<String>,
) -> Result<pathfinder::retention::RetentionPolicy, AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/save_retention")?.ok_or(AppError::Unauthenticated)?;
        let days =
            retention_days.trim().parse::<i64>().map_err(|_| AppError::invalid("Days is a whole number of days."))?;
        let edit = pathfinder::retention::PolicyEdit {
            table_pattern,
            retention_days: days,
            archive_enabled: archive.is_some(),
            delete_enabled: delete.is_some(),
        };
        let (action, entity) = match id.as_str() {
            "" => ("retention.policy.create", None),
            id => ("retention.policy.update", Some(id)),
        };
        let audit = ssr::request_meta()?.audit(Some(&who.user_id), action, ("retention_policy", entity), 200);
        let id = (!id.is_empty()).then_some(id);
        ssr::db()?.call(move |s| s.save_retention_policy(id.as_deref(), &edit, &audit)).await
    })
    .await
}

/// Removes a retention policy, audited.
#[server(prefix = "/api", endpoint = "delete_retention")]
pub async fn delete_retention_policy(id: String) -> Result<(), AppError> {
    ssr::answer(async {
        let who = ssr::authorize("/api/delete_retention")?.ok_or(AppError::Unauthenticated)?;
        let audit = ssr::request_meta()?.audit(
            Some(&who.user_id),
            "retention.policy.delete",
            ("retention_policy", Some(&id)),
            200,
        );
        ssr::db()?.call(move |s| s.delete_retention_policy(&id, &audit)).await
    })
    .await
}

/// A dry run's summary (what a run would archive and delete, nothing changed); or
/// a real run started in the background (`None`: the page shows its progress).
#[server(prefix = "/api", endpoint = "run_retention")]
pub async fn run_retention_now(
    #[server(default)] dry_run: Option<String>,
) -> Result<Option<pathfinder::retention::RetentionSummary>, AppError> {
    use pathfinder::storage::{RefreshWhen, RetentionRequest};
    ssr::answer(async {
        let who = ssr::authorize("/api/run_retention")?.ok_or(AppError::Unauthenticated)?;
        let audit =
            ssr::request_meta()?.audit(Some(&who.user_id), pathfinder::retention::RUN_ACTION, ("retention", None), 200);
        let key = use_context::<pathfinder::audit::AuditKey>().map(|k| k.0);
        let dry = dry_run.is_some();
        let run = move |s: &dyn pathfinder::storage::Storage| {
            let req = RetentionRequest {
                dry_run: dry,
                when: RefreshWhen::Now,
                now: chrono::Utc::now(),
                audit_key: key.as_deref(),
            };
            s.run_retention(&req, &audit, &mut |_| true)
        };
        let db = ssr::db()?;
        if dry {
            return db.call(run).await;
        }
        db.detach("retention run", move |s| run(s).map(|_| ()));
        Ok(None)
    })
    .await
}

/// The backups the console took, newest first, and whether the platform takes them
/// instead (Oracle).
#[server(prefix = "/api", endpoint = "backups")]
pub async fn get_backups() -> Result<pathfinder::backup::BackupsView, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/backups")?;
        ssr::db()?
            .call(|s| {
                Ok(pathfinder::backup::BackupsView {
                    platform_takes_them: s.backend_name() == "oracle",
                    asked_at: chrono::Utc::now(),
                    backups: s.backups(50)?,
                })
            })
            .await
    })
    .await
}

/// This instance and its database: versions, schema, clocks, pool, settings (secrets
/// as set or unset) and the background jobs' last runs (administrators and SREs).
#[server(prefix = "/api", endpoint = "diagnostics")]
pub async fn get_diagnostics() -> Result<pathfinder::diagnostics::Diagnostics, AppError> {
    use pathfinder::diagnostics::{Diagnostics, JobFact};
    ssr::answer(async {
        ssr::authorize("/api/diagnostics")?;
        let settings = use_context::<std::sync::Arc<[pathfinder::diagnostics::Setting]>>()
            .ok_or_else(|| AppError::internal("settings missing from the server function context"))?;
        let asked = chrono::Utc::now();
        let (database, backend, pool, latest_schema) = ssr::db()?
            .call(|s| {
                Ok((s.database_facts()?, s.backend_name().to_string(), s.pool_stats(), s.latest_schema_version()))
            })
            .await?;
        let answered = chrono::Utc::now();
        let midpoint = asked + (answered - asked) / 2;
        let (stats, statistics, sample, verify, newest_backup) = ssr::db()?
            .call(|s| {
                let newest_backup = s.backups(1)?.into_iter().next();
                Ok((
                    s.last_stats_refresh()?,
                    s.last_statistics()?,
                    s.last_storage_sample()?,
                    s.last_chain_verify()?,
                    newest_backup,
                ))
            })
            .await?;
        let job = |name: &str, run: pathfinder::dto::JobRun| JobFact {
            name: name.into(),
            finished_at: run.finished_at,
            status: run.status,
            detail: run.duration_ms.map(|ms| format!("took {ms} ms")).unwrap_or_default(),
        };
        let (finished_at, status, detail) = match newest_backup {
            _ if backend == "oracle" => (
                None,
                None,
                "taken by the platform (Autonomous Database: automatic backups, point-in-time recovery)".into(),
            ),
            Some(b) => (
                b.finished_at,
                Some(b.status),
                format!("{}; verification: {}", b.location, b.verify_status.as_deref().unwrap_or("not verified yet")),
            ),
            None => (None, None, "none yet: pathfinder-admin backup create".into()),
        };
        let backup = JobFact { name: "Backup".into(), finished_at, status, detail };
        let jobs = vec![
            job("User statistics refresh", stats),
            job("Optimizer statistics", statistics),
            job("Storage sample", sample),
            JobFact {
                name: "Audit chain verification".into(),
                finished_at: verify.as_ref().and_then(|v| v.finished_at),
                status: verify.as_ref().and_then(|v| v.outcome.clone()),
                detail: verify.and_then(|v| v.result).unwrap_or_else(|| "run it from the Audit page".into()),
            },
            backup,
        ];
        Ok(Diagnostics {
            console_version: env!("CARGO_PKG_VERSION").into(),
            build: format!(
                "{}, {} {}",
                if cfg!(debug_assertions) { "debug" } else { "release" },
                std::env::consts::ARCH,
                std::env::consts::OS
            ),
            backend,
            clock_difference_ms: (database.now - midpoint).num_milliseconds(),
            database,
            latest_schema,
            pool_max: pool.max,
            pool_min: pool.min,
            pool_open: pool.open,
            settings: settings.to_vec(),
            jobs,
        })
    })
    .await
}

/// Compares the live schema with the migrations' (administrators and SREs): the
/// differences, one sentence each.
#[server(prefix = "/api", endpoint = "schema_check")]
pub async fn run_schema_check() -> Result<Vec<String>, AppError> {
    ssr::answer(async {
        ssr::authorize("/api/schema_check")?;
        let drift = ssr::db()?.call(|s| s.schema_check()).await?;
        Ok(drift.into_iter().map(|d| d.0).collect())
    })
    .await
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::policy::{access_for, Access};
    use leptos::prelude::*;
    use pathfinder::db::Db;
    use pathfinder::dto::Principal;
    use pathfinder::request::RequestMeta;
    use pathfinder::stats::OverviewCache;
    use pathfinder::AppError;

    /// The principal the server's access layer attached to this request.
    pub fn principal() -> Option<Principal> {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Option<Principal>>().cloned())
            .flatten()
    }

    /// Checks the current request's principal against the policy entry of `path`.
    pub fn authorize(path: &str) -> Result<Option<Principal>, AppError> {
        let who = principal();
        match access_for(path) {
            Some(Access::Public) => Ok(who),
            Some(Access::Roles(roles)) => match who {
                None => Err(AppError::Unauthenticated),
                Some(p) if p.mfa_pending => Err(crate::policy::second_factor_first()),
                Some(p) if p.has_any(roles) => Ok(Some(p)),
                Some(_) => Err(AppError::Forbidden),
            },
            Some(Access::Account) => who.map(Some).ok_or(AppError::Unauthenticated),
            Some(Access::ApiKey) | None => Err(AppError::Forbidden),
        }
    }

    /// Dangerous actions need the caller to have signed in (or confirmed their
    /// password) within the last few minutes.
    pub fn require_fresh_sign_in(who: &Principal, what: &str) -> Result<(), AppError> {
        let fresh = chrono::Utc::now() - chrono::Duration::minutes(super::FRESH_SIGN_IN_MINUTES);
        if who.confirmed_at.is_some_and(|t| t > fresh) {
            return Ok(());
        }
        Err(AppError::invalid(format!(
            "Confirm it is you first: {what} needs your password (and code) within the last {} minutes.",
            super::FRESH_SIGN_IN_MINUTES
        )))
    }

    pub use pathfinder::secret::{new_token, token_hash};

    /// The invitation page's address, absolute (for mail).
    pub fn invitation_link(token: &str) -> Result<String, AppError> {
        let outbox = use_context::<pathfinder::mail::Outbox>()
            .ok_or_else(|| AppError::internal("the outbox is missing from the server function context"))?;
        let base = match outbox.public_url {
            Some(url) => url,
            None => {
                let host = use_context::<axum::http::request::Parts>()
                    .and_then(|p| p.headers.get(axum::http::header::HOST)?.to_str().ok().map(str::to_string))
                    .unwrap_or_else(|| "localhost".into());
                format!("{}://{host}", if outbox.https { "https" } else { "http" })
            }
        };
        Ok(format!("{base}/invite/{token}"))
    }

    pub fn mail_invitation(to: &str, link: &str) -> Result<(), AppError> {
        let outbox = use_context::<pathfinder::mail::Outbox>()
            .ok_or_else(|| AppError::internal("the outbox is missing from the server function context"))?;
        let body = format!(
            "You are invited to Pathfinder. Choose a username and a password here (the link works for {} days, once):\n\n{link}",
            super::INVITATION_DAYS
        );
        outbox.mailer.send(to, "Your invitation to Pathfinder", &body)
    }

    /// A browser's form post without the page's code (it accepts HTML): its answer
    /// is a redirect, not data.
    pub fn is_plain_form_post() -> bool {
        // A page load (GET) accepts HTML too: its server functions run during the
        // render, and their errors give the page its status.
        use_context::<axum::http::request::Parts>().is_some_and(|p| {
            p.method == axum::http::Method::POST
                && p.headers
                    .get(axum::http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/html"))
        })
    }

    /// The server function's result, answered with the status that goes with the
    /// error (a server function answers 500 for every error otherwise). A plain
    /// form post is redirected back to its page instead, error and all.
    pub async fn answer<T>(body: impl std::future::Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let result = body.await;
        if let (false, Err(e), Some(response)) =
            (is_plain_form_post(), &result, use_context::<leptos_axum::ResponseOptions>())
        {
            response.set_status(
                axum::http::StatusCode::from_u16(e.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        result
    }

    pub fn storage_policy() -> Result<pathfinder::usage::StoragePolicy, AppError> {
        use_context::<pathfinder::usage::StoragePolicy>()
            .ok_or_else(|| AppError::internal("storage policy missing from the server function context"))
    }

    pub fn db() -> Result<Db, AppError> {
        use_context::<Db>().ok_or_else(|| AppError::internal("storage missing from the server function context"))
    }

    pub fn overview_cache() -> Result<std::sync::Arc<OverviewCache>, AppError> {
        use_context::<std::sync::Arc<OverviewCache>>()
            .ok_or_else(|| AppError::internal("overview cache missing from the server function context"))
    }

    pub fn key_policy() -> Result<pathfinder::storage::KeyPolicy, AppError> {
        use_context::<pathfinder::storage::KeyPolicy>()
            .ok_or_else(|| AppError::internal("key policy missing from the server function context"))
    }

    /// What the access layer recorded about this request (for its audit row).
    pub fn request_meta() -> Result<RequestMeta, AppError> {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestMeta>().cloned())
            .ok_or_else(|| AppError::internal("request metadata missing from the server function context"))
    }
}
