//! Invitations: invite, list, send again (the old link stops working), withdraw,
//! accept once (the account made with the invitation's email, role and group), and
//! every way a link can be over.

use crate::common::{add_user, audit, new_user};
use crate::{count, Harness};
use chrono::{TimeDelta, Utc};
use pathfinder::flags::GroupEdit;
use pathfinder::storage::NewInvitation;
use pathfinder::{AppError, Role, UserId};

checks!(
    invitations_are_accepted_once,
    invitations_that_are_over_say_why,
    an_admin_invitation_needs_what_creating_one_needs
);

/// Sending an administrator's invitation again is issuing a new credential: it needs
/// a fresh sign-in, as creating one does. And an invitation is refused at
/// acceptance once its sender may no longer invite (suspended, or the admin role
/// taken away): nobody is made.
fn an_admin_invitation_needs_what_creating_one_needs(h: &Harness) {
    let s = h.s();
    add_user(s, "inv_spare_admin", "active", &[Role::Admin]);
    let admin2 = add_user(s, "inv_admin3", "active", &[Role::Admin]);
    let boss = invitation(&admin2, "boss@example.com", "p", "admin");
    s.create_invitation(&boss, &audit("invitation.create")).unwrap();
    let later = Utc::now() + TimeDelta::days(7);
    let stale = s.renew_invitation(&boss.invitation_id, &"q".repeat(64), later, false, &audit("invitation.resend"));
    assert!(matches!(&stale, Err(AppError::Invalid(m)) if m.contains("Confirm it is you")), "{stale:?}");
    assert!(s.invitation_by_token(&"q".repeat(64), Utc::now()).unwrap().is_none(), "no new link was made");
    s.renew_invitation(&boss.invitation_id, &"q".repeat(64), later, true, &audit("invitation.resend")).unwrap();

    // admin2 loses every role: the link they sent makes nobody.
    s.set_console_roles(&admin2, &[], true, &audit("user.roles")).unwrap();
    let person = new_user("would_be_boss", "Would", "Be", "active", &[]);
    gone(
        s.accept_invitation(&"q".repeat(64), &person, Utc::now(), &audit("invitation.accept")),
        "can no longer invite",
    );
    assert!(matches!(s.user_profile(&person.user_id), Err(AppError::NotFound(_))), "nobody was made");
    // Its link's page and the list say so before anyone fills the form.
    let void = s.invitation_by_token(&"q".repeat(64), Utc::now()).unwrap().unwrap();
    assert_eq!(void.state, "void");
    gone(void.gone().map_or(Ok(()), Err), "can no longer invite");
    assert!(s.list_invitations(Utc::now()).unwrap().iter().any(|i| i.email == "boss@example.com" && i.state == "void"));
    // A suspended inviter likewise; given back the role and active, the link works.
    s.set_console_roles(&admin2, &[Role::Admin], true, &audit("user.roles")).unwrap();
    s.set_account_status(&admin2, "suspended", true, &audit("user.status")).unwrap();
    gone(
        s.accept_invitation(&"q".repeat(64), &person, Utc::now(), &audit("invitation.accept")),
        "can no longer invite",
    );
    s.set_account_status(&admin2, "active", true, &audit("user.status")).unwrap();
    assert_eq!(s.invitation_by_token(&"q".repeat(64), Utc::now()).unwrap().unwrap().state, "pending");
    // Sent again by another administrator, a void invitation is theirs and good.
    s.set_console_roles(&admin2, &[], true, &audit("user.roles")).unwrap();
    let spare = s.user_id_by_username(&pathfinder::Username::parse("inv_spare_admin").unwrap()).unwrap().unwrap();
    let by_spare = pathfinder::storage::AuditEntry { actor: Some(spare), ..audit("invitation.resend") };
    s.renew_invitation(&boss.invitation_id, &"r".repeat(64), later, true, &by_spare).unwrap();
    let renewed = s.invitation_by_token(&"r".repeat(64), Utc::now()).unwrap().unwrap();
    assert_eq!((renewed.state.as_str(), renewed.invited_by.as_deref()), ("pending", Some("inv_spare_admin")));
    s.accept_invitation(&"r".repeat(64), &person, Utc::now(), &audit("invitation.accept")).unwrap();
    assert_eq!(s.user_profile(&person.user_id).unwrap().roles, vec![Role::Admin]);
}

fn invitation(inviter: &UserId, email: &str, token: &str, role: &str) -> NewInvitation {
    NewInvitation {
        invitation_id: pathfinder::new_id(),
        email: email.into(),
        token_hash: token.repeat(64),
        invited_by: inviter.clone(),
        role: role.into(),
        expires_at: Utc::now() + TimeDelta::days(7),
        feature_group_id: None,
    }
}

fn gone<T: std::fmt::Debug>(r: Result<T, AppError>, says: &str) {
    assert!(matches!(&r, Err(AppError::Gone(m)) if m.contains(says)), "{says}: {r:?}");
}

fn invitations_are_accepted_once(h: &Harness) {
    let s = h.s();
    let inviter = add_user(s, "inv_admin", "active", &[Role::Admin]);
    let edit = GroupEdit { name: "inv_pilots".into(), description: String::new(), is_default: false, priority: 1 };
    let group = s.save_group(None, &edit, &audit("group.create")).unwrap();

    // Bad input and a taken email: refused, nothing written.
    let before = s.recent_audit(1000).unwrap().len();
    let bad_role = invitation(&inviter, "ivy@example.com", "a", "owner");
    assert!(matches!(s.create_invitation(&bad_role, &audit("invitation.create")), Err(AppError::Invalid(_))));
    let bad_email = invitation(&inviter, "not an email", "a", "user");
    assert!(matches!(s.create_invitation(&bad_email, &audit("invitation.create")), Err(AppError::Invalid(_))));
    let taken = invitation(&inviter, "inv_admin@Example.com", "a", "user");
    assert!(matches!(s.create_invitation(&taken, &audit("invitation.create")), Err(AppError::Conflict(_))));
    assert_eq!(s.recent_audit(1000).unwrap().len(), before);
    assert!(s.list_invitations(Utc::now()).unwrap().is_empty());

    let ivy = NewInvitation {
        feature_group_id: Some(group.group_id.clone()),
        ..invitation(&inviter, "ivy@example.com", "a", "sre")
    };
    s.create_invitation(&ivy, &audit("invitation.create")).unwrap();
    let listed = s.list_invitations(Utc::now()).unwrap();
    assert_eq!(listed.len(), 1);
    let info = &listed[0];
    assert_eq!((info.email.as_str(), info.role.as_str(), info.state.as_str()), ("ivy@example.com", "sre", "pending"));
    assert_eq!((info.invited_by.as_deref(), info.group_name.as_deref()), (Some("inv_admin"), Some("inv_pilots")));
    assert_eq!(s.invitation_by_token(&"a".repeat(64), Utc::now()).unwrap().as_ref(), Some(info));
    assert_eq!(s.invitation_by_token(&"z".repeat(64), Utc::now()).unwrap(), None);

    // Sent again: a new token; the old one names nothing.
    let later = Utc::now() + TimeDelta::days(14);
    let email =
        s.renew_invitation(&ivy.invitation_id, &"b".repeat(64), later, false, &audit("invitation.resend")).unwrap();
    assert_eq!(email, "ivy@example.com");
    assert_eq!(s.invitation_by_token(&"a".repeat(64), Utc::now()).unwrap(), None);
    let renewed = s.invitation_by_token(&"b".repeat(64), Utc::now()).unwrap().expect("the new token");
    assert!(renewed.reminder_sent_at.is_some());
    assert_eq!(renewed.expires_at.timestamp(), later.timestamp());

    // Accepted with the invitation's email, role and group, whatever the form says.
    let person = new_user("ivy", "Ivy", "Invited", "active", &[Role::Admin]);
    gone(s.accept_invitation(&"a".repeat(64), &person, Utc::now(), &audit("invitation.accept")), "not valid");
    s.accept_invitation(&"b".repeat(64), &person, Utc::now(), &audit("invitation.accept")).unwrap();
    let profile = s.user_profile(&person.user_id).unwrap();
    assert_eq!(profile.summary.email, "ivy@example.com");
    assert_eq!(profile.roles, vec![Role::Sre], "the invitation's role, not the form's");
    assert_eq!(profile.group.map(|g| g.group_name).as_deref(), Some("inv_pilots"));
    assert_eq!(s.list_invitations(Utc::now()).unwrap()[0].state, "accepted");
    assert_eq!(count(s, "invitation.accept"), 1);

    // Used up: a second acceptance makes nobody.
    let again = new_user("ivy_again", "Ivy", "Again", "active", &[]);
    gone(s.accept_invitation(&"b".repeat(64), &again, Utc::now(), &audit("invitation.accept")), "used already");
    assert!(matches!(s.user_profile(&again.user_id), Err(AppError::NotFound(_))));
    let resend = s.renew_invitation(&ivy.invitation_id, &"c".repeat(64), later, true, &audit("invitation.resend"));
    assert!(matches!(resend, Err(AppError::Conflict(_))), "{resend:?}");
    assert_eq!(count(s, "invitation.accept"), 1);
}

fn invitations_that_are_over_say_why(h: &Harness) {
    let s = h.s();
    let inviter = add_user(s, "inv_admin2", "active", &[Role::Admin]);
    let withdrawn = invitation(&inviter, "wes@example.com", "w", "user");
    let expired = invitation(&inviter, "exa@example.com", "x", "user");
    for i in [&withdrawn, &expired] {
        s.create_invitation(i, &audit("invitation.create")).unwrap();
    }
    s.withdraw_invitation(&withdrawn.invitation_id, &audit("invitation.withdraw")).unwrap();
    let again = s.withdraw_invitation(&withdrawn.invitation_id, &audit("invitation.withdraw"));
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
    assert_eq!(count(s, "invitation.withdraw"), 1);

    let after_expiry = expired.expires_at + TimeDelta::seconds(1);
    let state = |token: &str, at| s.invitation_by_token(&token.repeat(64), at).unwrap().expect("listed").state;
    assert_eq!((state("w", Utc::now()), state("x", Utc::now())), ("withdrawn".into(), "pending".into()));
    assert_eq!(state("x", after_expiry), "expired");

    let person = new_user("late_person", "Late", "Person", "active", &[]);
    gone(s.accept_invitation(&"w".repeat(64), &person, Utc::now(), &audit("invitation.accept")), "withdrawn");
    gone(s.accept_invitation(&"x".repeat(64), &person, after_expiry, &audit("invitation.accept")), "expired");
    assert!(matches!(s.user_profile(&person.user_id), Err(AppError::NotFound(_))), "nobody was made");
    assert_eq!(count(s, "invitation.accept"), 0);
}
