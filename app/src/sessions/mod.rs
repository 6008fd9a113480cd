//! Sign-in and sessions: the sign-in page, ending sessions by filter, a user's
//! sessions and sign-in lock on their page. The sign-in form itself posts to the
//! server's own `/auth/*` endpoints (`server/src/http/session.rs`).

pub mod api;
mod login;
mod page;
mod section;

pub use login::LoginPage;
pub use page::SessionsPage;
pub use section::UserSessionsSection;

use crate::policy::{api, endpoint, page, reads, unlisted, Access, Capability, Section, ADMIN};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "sessions",
    rules: &[
        unlisted("/login", Access::Public, "the sign-in page: the console sends there whoever is not signed in"),
        page("/sessions", Access::Roles(ADMIN), Section::People, "Sessions"),
        api::<Me>(Access::Public),
        reads::<GetUserSessions>(Access::Roles(ADMIN)),
        api::<RevokeSession>(Access::Roles(ADMIN)),
        api::<CountSessions>(Access::Roles(ADMIN)),
        api::<RevokeSessions>(Access::Roles(ADMIN)),
        api::<UnlockSignIn>(Access::Roles(ADMIN)),
        endpoint("/auth/login", Access::Public),
        endpoint("/auth/logout", Access::Public),
        endpoint("/auth/confirm", Access::Account),
    ],
};
