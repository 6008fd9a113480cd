//! Server functions: the browser's API. Each one's roles are stated in `policy.rs`
//! under its path (`/api/<endpoint>`); the body asks [`ssr::authorize`] for that
//! path before it touches storage.

use leptos::prelude::*;
use pathfinder::dto::{Overview, Page, Principal, UserDetail, UserSummary};
use pathfinder::AppError;

/// The signed-in user, or `None`.
#[server(prefix = "/api", endpoint = "me")]
pub async fn me() -> Result<Option<Principal>, AppError> {
    Ok(ssr::principal())
}

#[server(prefix = "/api", endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    ssr::authorize("/api/overview")?;
    ssr::db()?.call(|s| s.overview(chrono::Utc::now())).await
}

#[server(prefix = "/api", endpoint = "users")]
pub async fn list_users(
    q: String,
    status: String,
    sort: String,
    dir: String,
    after: String,
) -> Result<Page<UserSummary>, AppError> {
    ssr::authorize("/api/users")?;
    let filter = pathfinder::filter::UserFilter::from_query(&q, &status, &sort, &dir, &after)?;
    ssr::db()?.call(move |s| s.search_users(&filter)).await
}

#[server(prefix = "/api", endpoint = "user_detail")]
pub async fn get_user_detail(user_id: String) -> Result<UserDetail, AppError> {
    ssr::authorize("/api/user_detail")?;
    let id = pathfinder::UserId(user_id);
    ssr::db()?
        .call(move |s| {
            let profile = s.user_profile(&id)?;
            let sessions = s.list_sessions(&id)?;
            let tables = match pathfinder::Username::parse(&profile.summary.username) {
                Ok(name) => s.user_table_set(&name)?,
                // A legacy name that breaks the rule can have no table set.
                Err(_) => None,
            };
            Ok(UserDetail { profile, sessions, tables })
        })
        .await
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::policy::{access_for, Access};
    use leptos::prelude::*;
    use pathfinder::db::Db;
    use pathfinder::dto::Principal;
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
                Some(p) if p.has_any(roles) => Ok(Some(p)),
                Some(_) => Err(AppError::Forbidden),
            },
            None => Err(AppError::Forbidden),
        }
    }

    pub fn db() -> Result<Db, AppError> {
        use_context::<Db>().ok_or_else(|| AppError::internal("storage missing from the server function context"))
    }
}
