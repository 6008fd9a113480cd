//! Invitations' server functions: invite, list, send again, withdraw, and what a
//! link names (for its page, anyone holding it).

use leptos::prelude::*;
use pathfinder::dto::{InvitationInfo, InvitationLink};
use pathfinder::AppError;

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

/// The invitations, newest first (admins).
#[server(prefix = "/api", endpoint = "invitations")]
pub async fn get_invitations() -> Result<Vec<InvitationInfo>, AppError> {
    use pathfinder::storage::INVITATIONS_READ;
    crate::server::serve::<GetInvitations, _>(async |c| {
        c.read(INVITATIONS_READ, ("invitations", None), "", |s| s.list_invitations(chrono::Utc::now())).await
    })
    .await
}

/// Invites someone by email (admins): with a console role or none (`user`) and
/// an optional group; the link is mailed and answered this once (its token is kept
/// only as a hash).
#[server(prefix = "/api", endpoint = "create_invitation")]
pub async fn create_invitation(
    email: String,
    role: String,
    #[server(default)] group_id: String,
) -> Result<InvitationLink, AppError> {
    use pathfinder::storage::INVITATION_CREATE;
    crate::server::serve::<CreateInvitation, _>(async |c| {
        if role == "admin" {
            c.require_fresh_sign_in("Inviting an administrator")?;
        }
        let token = pathfinder::secret::new_token();
        let invitation = pathfinder::storage::NewInvitation {
            invitation_id: pathfinder::new_id(),
            email: email.trim().to_string(),
            token_hash: pathfinder::secret::token_hash(&token),
            invited_by: c.who.user_id.clone(),
            role,
            expires_at: chrono::Utc::now() + chrono::Duration::days(INVITATION_DAYS),
            feature_group_id: (!group_id.is_empty()).then_some(group_id),
        };
        let id = invitation.invitation_id.clone();
        let audit = c.audit(INVITATION_CREATE, ("invitation", Some(&id)));
        let to = invitation.email.clone();
        c.db.call(move |s| s.create_invitation(&invitation, &audit)).await?;
        let link = mail::send(&to, &token).await?;
        Ok(InvitationLink { invitation_id: id, link })
    })
    .await
}

/// Withdraws a pending invitation (admins): its link answers 410 from then on.
#[server(prefix = "/api", endpoint = "withdraw_invitation")]
pub async fn withdraw_invitation(invitation_id: String) -> Result<(), AppError> {
    use pathfinder::storage::INVITATION_WITHDRAW;
    crate::server::serve::<WithdrawInvitation, _>(async |c| {
        let audit = c.audit(INVITATION_WITHDRAW, ("invitation", Some(&invitation_id)));
        c.db.call(move |s| s.withdraw_invitation(&invitation_id, &audit)).await
    })
    .await
}

/// Sends a pending invitation again with a new link and expiry (admins).
#[server(prefix = "/api", endpoint = "resend_invitation")]
pub async fn resend_invitation(invitation_id: String) -> Result<InvitationLink, AppError> {
    use pathfinder::storage::INVITATION_RESEND;
    crate::server::serve::<ResendInvitation, _>(async |c| {
        let token = pathfinder::secret::new_token();
        let hash = pathfinder::secret::token_hash(&token);
        let expires = chrono::Utc::now() + chrono::Duration::days(INVITATION_DAYS);
        let audit = c.audit(INVITATION_RESEND, ("invitation", Some(&invitation_id)));
        let id = invitation_id.clone();
        let confirmed = c.signed_in_lately();
        let email = c.db.call(move |s| s.renew_invitation(&id, &hash, expires, confirmed, &audit)).await?;
        let link = mail::send(&email, &token).await?;
        Ok(InvitationLink { invitation_id, link })
    })
    .await
}

/// What an invitation link names, for its page (anyone holding the link): the email
/// and role, or why it can no longer be used (410).
#[server(prefix = "/api", endpoint = "invitation_preview")]
pub async fn invitation_preview(token: String) -> Result<InvitationInfo, AppError> {
    use pathfinder::storage::INVITATION_READ;
    crate::server::serve_anyone::<InvitationPreview, _>(async |_, meta, db| {
        let hash = pathfinder::secret::token_hash(&token);
        // Its holder reads it (no console user): the row names the link's hash. An
        // unknown link is refused before any row (a guess writes nothing).
        let row = meta.audit(None, INVITATION_READ, ("invitation", None)).with_detail(format!("link {}", &hash[..12]));
        let invitation = crate::server::read_people(&db, &meta, row, "", move |s| {
            s.invitation_by_token(&hash, chrono::Utc::now())?.ok_or_else(InvitationInfo::unknown)
        })
        .await?;
        match invitation.gone() {
            Some(gone) => Err(gone),
            None => Ok(InvitationInfo { invited_by: None, ..invitation }),
        }
    })
    .await
}

/// The invitation's mail, with its link.
#[cfg(feature = "ssr")]
mod mail {
    use pathfinder::AppError;

    /// Mails the link of `token` to `to`; the link, absolute.
    pub async fn send(to: &str, token: &str) -> Result<String, AppError> {
        let outbox = crate::server::context::<pathfinder::mail::Outbox>()?;
        let link = format!("{}/invite/{token}", outbox.public_url);
        let body = format!(
            "You are invited to Pathfinder. Choose a username and a password here (the link works for {} days, once):\n\n{link}",
            super::INVITATION_DAYS
        );
        outbox.send(to, "Your invitation to Pathfinder", &body).await?;
        Ok(link)
    }
}
