//! One file per page.

mod account;
mod accounts;
mod audit;
mod backups;
mod diagnostics;
pub(crate) mod flags;
mod invitations;
mod invite;
mod keys;
mod login;
mod overview;
mod pool;
mod retention;
mod sessions;
mod storage;
mod user_detail;
mod users;

pub use account::AccountPage;
pub use accounts::AccountsPage;
pub use audit::{AuditEventPage, AuditPage};
pub use backups::BackupsPage;
pub use diagnostics::DiagnosticsPage;
pub use flags::{FlagDetailPage, FlagsPage, GroupPage, GroupsPage};
pub use invitations::InvitationsPage;
pub use invite::InvitePage;
pub use keys::KeysPage;
pub use login::Login;
pub use overview::OverviewPage;
pub use pool::{PoolPage, QueriesPage};
pub use retention::RetentionPage;
pub use sessions::SessionsPage;
pub use storage::StoragePage;
pub use user_detail::UserDetailPage;
pub use users::UsersPage;

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! { <h1>"Page not found"</h1> <p>"There is no such page in the console."</p> }
}

/// Formats an optional UTC timestamp, saying `none` when absent.
pub(crate) fn when_or(t: &Option<chrono::DateTime<chrono::Utc>>, none: &str) -> String {
    t.as_ref().map(when).unwrap_or_else(|| none.to_string())
}

/// Formats a UTC timestamp for tables.
pub(crate) fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    // By hand: chrono's format strings would add their parser to the wasm bundle.
    use chrono::{Datelike, Timelike};
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), t.month(), t.day(), t.hour(), t.minute())
}
