//! Invitations: invite by email with a console role (or none), see what became of
//! each, send again, withdraw; and the invitee's page, where the link's holder makes
//! their account (posted to the server's `/auth/accept_invitation`).

pub mod api;
mod invite;
mod page;

pub use invite::InvitePage;
pub use page::InvitationsPage;

use crate::policy::{api, endpoint, page, reads, unlisted, Access, Capability, Section, ADMIN};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "invitations",
    rules: &[
        page("/invitations", Access::Roles(ADMIN), Section::People, "Invitations"),
        // The link's token is the key.
        unlisted("/invite/:token", Access::Public, "the invitee's page, reached from the link in their mail"),
        reads::<GetInvitations>(Access::Roles(ADMIN)),
        api::<CreateInvitation>(Access::Roles(ADMIN)),
        api::<ResendInvitation>(Access::Roles(ADMIN)),
        api::<WithdrawInvitation>(Access::Roles(ADMIN)),
        reads::<InvitationPreview>(Access::Public),
        endpoint("/auth/accept_invitation", Access::Public),
    ],
};
