//! `pf_user_invitations`: invitations to the platform (and, with a console role, to
//! the console). The token is stored as its SHA-256 only.

use super::driver::{Conn, ReadRow, Row};
use super::rows::{group_name, group_named};
use super::store::Store;
use super::users::insert_user;
use crate::{args, sql};
use pathfinder::dto::{InvitationInfo, Timestamp};
use pathfinder::storage::{fresh_sign_in_needed, AuditEntry, InvitationStore, NewInvitation, NewUser};
use pathfinder::{AppError, AppResult};

/// Reads an invitation from the columns `invitation_id, email, role, <inviter>,
/// created_at, expires_at, accepted_at, declined_at, reminder_sent_at, <group name>`.
fn info(r: &dyn Row, now: Timestamp) -> AppResult<InvitationInfo> {
    let expires_at = r.time(5)?;
    let state = if r.opt_time(6)?.is_some() {
        "accepted"
    } else if r.opt_time(7)?.is_some() {
        "withdrawn"
    } else if expires_at <= now {
        "expired"
    } else {
        "pending"
    };
    Ok(InvitationInfo {
        invitation_id: r.text(0)?,
        email: r.text(1)?,
        role: r.opt_text(2)?.unwrap_or_else(|| "user".into()),
        invited_by: r.opt_text(3)?,
        created_at: r.opt_time(4)?,
        expires_at,
        reminder_sent_at: r.opt_time(8)?,
        state: state.into(),
        group_name: r.opt_text(9)?,
    })
}

/// [`info`] of a row that also says (column 10) whether its sender may still invite:
/// a pending invitation whose sender may not is `void` (acceptance refuses it). The
/// rule, `sender_may_invite` (an active administrator), is spelled alike in each
/// statement that reads it: `sql!` takes whole literals only.
fn info_with_sender(r: &dyn Row, now: Timestamp) -> AppResult<InvitationInfo> {
    let mut i = info(r, now)?;
    if i.state == "pending" && r.int(10)? == 0 {
        i.state = "void".into();
    }
    Ok(i)
}

fn pending_or_gone(c: &mut Conn, invitation_id: &str, now: Timestamp) -> AppResult<()> {
    let row = c.query_opt(
        sql!(
            "SELECT i.invitation_id, i.email, i.role, u.username, i.created_at, i.expires_at, i.accepted_at,
             i.declined_at, i.reminder_sent_at, NULL AS group_name
             FROM pf_user_invitations i LEFT JOIN pf_users u ON u.user_id = i.invited_by WHERE i.invitation_id = :1"
        ),
        &args![invitation_id],
    )?;
    let row = row.ok_or_else(|| AppError::NotFound("That invitation".into()))?;
    match info(&row, now)?.state.as_str() {
        "pending" => Ok(()),
        state => Err(AppError::Conflict(format!("That invitation is {state}."))),
    }
}

impl InvitationStore for Store {
    fn create_invitation(&self, inv: &NewInvitation, audit: &AuditEntry) -> AppResult<()> {
        let email = pathfinder::validation::email(&inv.email)?;
        if !["user", "admin", "sre", "compliance"].contains(&inv.role.as_str()) {
            return Err(AppError::invalid(format!("Unknown role {:?}: user, admin, sre or compliance.", inv.role)));
        }
        self.write_audited(audit, |c| {
            let taken = c.query_opt(sql!("SELECT 1 FROM pf_users WHERE email = :1"), &args![&email])?;
            if taken.is_some() {
                return Err(AppError::Conflict("Someone already has an account with that email.".into()));
            }
            group_named(c, inv.feature_group_id.as_deref())?;
            c.execute(
                sql!(
                    "INSERT INTO pf_user_invitations (invitation_id, email, invitation_token, invited_by, role,
                     expires_at, created_at, feature_group_id) VALUES (:1, :2, :3, :4, :5, :6, :7, :8)"
                ),
                &args![
                    &inv.invitation_id,
                    &email,
                    &inv.token_hash,
                    &inv.invited_by,
                    &inv.role,
                    inv.expires_at,
                    chrono::Utc::now(),
                    inv.feature_group_id.clone()
                ],
            )?;
            Ok(())
        })
    }

    fn list_invitations(&self, now: Timestamp) -> AppResult<Vec<InvitationInfo>> {
        self.read(|c| {
            let mut out = Vec::new();
            c.query_each(
                sql!("SELECT i.invitation_id, i.email, i.role, u.username, i.created_at, i.expires_at,
                        i.accepted_at, i.declined_at, i.reminder_sent_at, g.group_name,
                        CASE WHEN COALESCE(u.account_status, 'active') = 'active' AND EXISTS (SELECT 1 FROM pf_console_roles r
                        WHERE r.user_id = i.invited_by AND r.role = 'admin') THEN 1 ELSE 0 END AS sender_may_invite
                        FROM pf_user_invitations i LEFT JOIN pf_users u ON u.user_id = i.invited_by
                        LEFT JOIN pf_user_groups g ON g.group_id = i.feature_group_id
                        ORDER BY i.created_at DESC, i.invitation_id DESC", limit "200"),
                &[],
                |r: &dyn Row| {
                    out.push(info_with_sender(r, now)?);
                    Ok(())
                },
            )?;
            Ok(out)
        })
    }

    fn invitation_by_token(&self, token_hash: &str, now: Timestamp) -> AppResult<Option<InvitationInfo>> {
        self.read(|c| {
            let row = c.query_opt(
                sql!(
                    "SELECT i.invitation_id, i.email, i.role, u.username, i.created_at, i.expires_at, i.accepted_at,
                     i.declined_at, i.reminder_sent_at, g.group_name,
                     CASE WHEN COALESCE(u.account_status, 'active') = 'active' AND EXISTS (SELECT 1 FROM pf_console_roles r
                     WHERE r.user_id = i.invited_by AND r.role = 'admin') THEN 1 ELSE 0 END AS sender_may_invite
                     FROM pf_user_invitations i LEFT JOIN pf_users u ON u.user_id = i.invited_by
                     LEFT JOIN pf_user_groups g ON g.group_id = i.feature_group_id
                     WHERE i.invitation_token = :1"
                ),
                &args![token_hash],
            )?;
            row.map(|r| info_with_sender(&r, now)).transpose()
        })
    }

    fn withdraw_invitation(&self, invitation_id: &str, audit: &AuditEntry) -> AppResult<()> {
        let now = chrono::Utc::now();
        self.write_audited(audit, |c| {
            pending_or_gone(c, invitation_id, now)?;
            c.execute(
                sql!(
                    "UPDATE pf_user_invitations SET declined_at = :1 WHERE invitation_id = :2 AND accepted_at IS NULL"
                ),
                &args![now, invitation_id],
            )?;
            Ok(())
        })
    }

    fn renew_invitation(
        &self,
        invitation_id: &str,
        token_hash: &str,
        expires_at: Timestamp,
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<String> {
        let now = chrono::Utc::now();
        self.write_audited(audit, |c| {
            pending_or_gone(c, invitation_id, now)?;
            let role = c.query_opt(
                sql!("SELECT role FROM pf_user_invitations WHERE invitation_id = :1"),
                &args![invitation_id],
            )?;
            if role.map(|r| r.opt_text(0)).transpose()?.flatten().as_deref() == Some("admin") && !confirmed_lately {
                return Err(fresh_sign_in_needed("Sending an administrator's invitation again"));
            }
            c.execute(
                sql!(
                    "UPDATE pf_user_invitations SET invitation_token = :1, expires_at = :2, reminder_sent_at = :3,
                     invited_by = COALESCE(:4, invited_by) WHERE invitation_id = :5"
                ),
                // Who sends it again issues the new link: they stand behind it now.
                &args![token_hash, expires_at, now, audit.actor.as_ref(), invitation_id],
            )?;
            let email = c.query_opt(
                sql!("SELECT email FROM pf_user_invitations WHERE invitation_id = :1"),
                &args![invitation_id],
            )?;
            email.map(|r| r.text(0)).transpose()?.ok_or_else(|| AppError::NotFound("That invitation".into()))
        })
    }

    fn accept_invitation(&self, token_hash: &str, user: &NewUser, now: Timestamp, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            // Used up first, atomically: of two acceptances at once, one finds it used.
            let taken = c.execute(
                sql!(
                    "UPDATE pf_user_invitations SET accepted_at = :1
                     WHERE invitation_token = :2 AND accepted_at IS NULL AND declined_at IS NULL AND expires_at > :3"
                ),
                &args![now, token_hash, now],
            )?;
            let row = c.query_opt(
                sql!(
                    "SELECT i.invitation_id, i.email, i.role, i.invited_by, i.created_at, i.expires_at, i.accepted_at,
                     i.declined_at, i.reminder_sent_at, NULL AS group_name, i.feature_group_id,
                     CASE WHEN COALESCE(u.account_status, 'active') = 'active' AND EXISTS (SELECT 1 FROM pf_console_roles r
                     WHERE r.user_id = i.invited_by AND r.role = 'admin') THEN 1 ELSE 0 END AS sender_may_invite
                     FROM pf_user_invitations i LEFT JOIN pf_users u ON u.user_id = i.invited_by
                     WHERE i.invitation_token = :1"
                ),
                &args![token_hash],
            )?;
            let row = row.ok_or_else(InvitationInfo::unknown)?;
            if taken == 0 {
                // Not pending (used, withdrawn, expired): it says which.
                return Err(info(&row, now)?.gone().unwrap_or_else(InvitationInfo::unknown));
            }
            let role = row.opt_text(2)?.and_then(|r| r.parse::<pathfinder::Role>().ok());
            let inviter = row.opt_text(3)?.map(pathfinder::UserId);
            // An invitation is only as good as its sender's right to send it now:
            // one whose inviter was suspended or lost the admin role makes nobody.
            if row.int(11)? == 0 {
                return Err(InvitationInfo::sender_cannot_invite());
            }
            let account = NewUser {
                email: row.text(1)?,
                roles: role.into_iter().collect(),
                feature_group_id: None,
                ..user.clone()
            }
            .validated()?;
            insert_user(c, &account, inviter.as_ref(), now)?;
            // A group deleted since the invitation was sent is left out.
            let group = match row.opt_text(10)? {
                Some(id) => group_name(c, &id)?.map(|_| id),
                None => None,
            };
            c.execute(
                sql!(
                    "UPDATE pf_users SET invited_by = :1, invitation_accepted_at = :2, feature_group_id = :3
                     WHERE user_id = :4"
                ),
                &args![inviter.map(|i| i.0), now, group, &account.user_id],
            )?;
            Ok(())
        })
    }
}
