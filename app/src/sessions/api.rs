//! Sessions' server functions: who is signed in, a user's sessions, ending them one
//! by one or by filter, and an account's sign-in lock.

use leptos::prelude::*;
use pathfinder::dto::{Principal, UserSessions};
use pathfinder::AppError;

/// The signed-in user, or `None`.
#[server(prefix = "/api", endpoint = "me")]
pub async fn me() -> Result<Option<Principal>, AppError> {
    crate::server::serve_anyone::<Me, _>(async |who, _, _| Ok(who)).await
}

/// A user's sessions and their console sign-in's guard (their page's section).
#[server(prefix = "/api", endpoint = "user_sessions")]
pub async fn get_user_sessions(user_id: String) -> Result<UserSessions, AppError> {
    crate::server::serve::<GetUserSessions, _>(async |c| {
        use pathfinder::storage::USER_SESSIONS_READ;
        let entity = ("user", Some(user_id.clone()));
        c.read(USER_SESSIONS_READ, entity, "", move |s| s.user_sessions(&pathfinder::UserId(user_id))).await
    })
    .await
}

/// Ends one session of a user (admins), audited; the history keeps who ended it.
#[server(prefix = "/api", endpoint = "revoke_session")]
pub async fn revoke_session(session_id: String) -> Result<(), AppError> {
    use pathfinder::storage::SESSION_REVOKE;
    crate::server::serve::<RevokeSession, _>(async |c| {
        let sid = pathfinder::SessionId(session_id);
        let audit = c.audit(SESSION_REVOKE, ("session", Some(sid.as_str())));
        c.db.call(move |s| s.revoke_session(&sid, "revoked", &audit)).await
    })
    .await
}

/// How many active sessions a revoke by filter would end.
#[server(prefix = "/api", endpoint = "count_sessions")]
pub async fn count_sessions(
    user_id: String,
    inactive_users: Option<String>,
    started_before: String,
    ip_address: String,
) -> Result<i64, AppError> {
    crate::server::serve::<CountSessions, _>(async |c| {
        let filter = pathfinder::storage::SessionFilter::from_form(
            &user_id,
            inactive_users.is_some(),
            &started_before,
            &ip_address,
        )?;
        c.db.call(move |s| s.count_sessions(&filter)).await
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
    use pathfinder::storage::SESSION_REVOKE_MANY;
    crate::server::serve::<RevokeSessions, _>(async |c| {
        let filter = pathfinder::storage::SessionFilter::from_form(
            &user_id,
            inactive_users.is_some(),
            &started_before,
            &ip_address,
        )?;
        let entity = filter.user_id.as_ref().map(|u| ("user", Some(u.as_str()))).unwrap_or(("session", None));
        let audit = c.audit(SESSION_REVOKE_MANY, entity);
        c.db.call(move |s| s.revoke_sessions(&filter, "revoked", &audit)).await
    })
    .await
}

/// Clears an account's failed sign-ins and lock (admins), audited.
#[server(prefix = "/api", endpoint = "unlock_sign_in")]
pub async fn unlock_sign_in(user_id: String) -> Result<(), AppError> {
    use pathfinder::storage::USER_UNLOCK;
    crate::server::serve::<UnlockSignIn, _>(async |c| {
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(USER_UNLOCK, ("user", Some(id.as_str())));
        c.db.call(move |s| s.unlock_login(&id, &audit)).await
    })
    .await
}
