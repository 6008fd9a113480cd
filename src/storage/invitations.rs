//! Invitations (`pf_user_invitations`).

use super::{Action, AuditEntry, NewUser};
use crate::dto::{InvitationInfo, Timestamp};
use crate::{AppResult, UserId};

pub const INVITATION_CREATE: Action = Action::new("invitation.create");
pub const INVITATION_RESEND: Action = Action::new("invitation.resend");
pub const INVITATION_WITHDRAW: Action = Action::new("invitation.withdraw");
/// The invitations read, and one read by the holder of its link; audited.
pub const INVITATIONS_READ: Action = Action::new("read.invitations");
pub const INVITATION_READ: Action = Action::new("read.invitation");

impl super::Returned for InvitationInfo {
    fn rows(&self) -> usize {
        1
    }
}
/// The invitee made their account: its answer is the redirect to sign in.
pub const INVITATION_ACCEPT: Action = Action::with_status("invitation.accept", 303);

/// A new invitation to write: the token only as its hash.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub invitation_id: String,
    pub email: String,
    pub token_hash: String,
    pub invited_by: UserId,
    pub role: String,
    pub expires_at: Timestamp,
    /// The feature-flag group the account joins, which must exist.
    pub feature_group_id: Option<String>,
}

/// `pf_user_invitations`: invite, list, withdraw, send again, accept.
pub trait InvitationStore {
    fn create_invitation(&self, invitation: &NewInvitation, audit: &AuditEntry) -> AppResult<()>;
    /// The newest first (at most 200).
    fn list_invitations(&self, now: Timestamp) -> AppResult<Vec<InvitationInfo>>;
    /// The invitation a token names, if any.
    fn invitation_by_token(&self, token_hash: &str, now: Timestamp) -> AppResult<Option<InvitationInfo>>;
    /// Withdraws a pending invitation (its link answers 410 from then on).
    fn withdraw_invitation(&self, invitation_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// A new token and expiry for a pending invitation (the old link stops working),
    /// `reminder_sent_at` now. Returns its email. A new link is a new credential:
    /// an administrator's invitation needs `confirmed_lately`, as creating one does.
    fn renew_invitation(
        &self,
        invitation_id: &str,
        token_hash: &str,
        expires_at: Timestamp,
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<String>;
    /// In one transaction: the invitation used up, the account made with its email
    /// (and its console role), audited. `Gone` when the link was used, has expired
    /// or was withdrawn; nothing changes then, nor on bad input.
    fn accept_invitation(&self, token_hash: &str, user: &NewUser, now: Timestamp, audit: &AuditEntry) -> AppResult<()>;
}
