//! Access reviews: a campaign's lines as the roles stood, every decision's rules
//! (own account, decided already, closed, past the deadline, a comment, a fresh
//! sign-in for admin, the last active administrator), revocation removing the role
//! and ending sessions in the decision's transaction, closing when all is decided
//! or at the deadline with the open lines reported, reminders claimed once, and
//! reviewers on two instances deciding one line once.

use crate::common::{add_user, audit};
use crate::Harness;
use chrono::{TimeDelta, Utc};
use pathfinder::access_reviews::{CloseReason, Decision, NewCampaign};
use pathfinder::storage::{AuditEntry, NewSession, Storage};
use pathfinder::{AppError, Role, SessionId, UserId};

checks! {
    a_campaign_runs_from_start_to_its_close,
    a_deadline_closes_a_campaign_with_its_open_lines_reported,
    two_reviewers_deciding_at_once_decide_each_line_once,
}

/// On Oracle (one database for every check) campaigns and console roles others left.
fn start_afresh(h: &Harness) {
    (h.raw)("DELETE FROM pf_access_review_lines");
    (h.raw)("DELETE FROM pf_access_reviews");
    (h.raw)("DELETE FROM pf_security_findings");
    if h.oracle {
        (h.raw)("DELETE FROM pf_console_roles");
    }
}

fn by(who: &UserId, action: &str) -> AuditEntry {
    AuditEntry { actor: Some(who.clone()), ..audit(action) }
}

fn campaign(role: Option<Role>, days: i64) -> NewCampaign {
    NewCampaign {
        name: format!("Q4 {}", role.map_or("all", Role::as_str)),
        role,
        deadline: Utc::now() + TimeDelta::days(days),
    }
}

/// The line of `username`'s `role` in a campaign.
fn line(s: &dyn Storage, review_id: &str, username: &str, role: Role) -> pathfinder::access_reviews::Line {
    let view = s.access_review(review_id).unwrap().expect("the campaign");
    view.lines.into_iter().find(|l| l.username == username && l.role == role).expect("the line")
}

fn signed_in(s: &dyn Storage, user: &UserId) -> SessionId {
    let sid = SessionId::new();
    let now = Utc::now();
    let session = NewSession {
        session_id: sid.clone(),
        user_id: user.clone(),
        token_hash: "b".repeat(64),
        created_at: now,
        expires_at: now + TimeDelta::hours(1),
        ip_address: None,
        user_agent: None,
    };
    s.record_login_success(&session, &crate::sessions::success("b"), &audit("login.success")).unwrap();
    sid
}

fn actions_on(s: &dyn Storage, action: &str) -> Vec<AuditEntry> {
    s.recent_audit(100_000)
        .unwrap()
        .into_iter()
        .filter(|a| a.action == action)
        .map(|a| AuditEntry { detail: a.detail, entity_id: a.entity_id, ..audit(&a.action) })
        .collect()
}

fn a_campaign_runs_from_start_to_its_close(h: &Harness) {
    start_afresh(h);
    let s = h.s();
    let refused = s.start_access_review(&campaign(Some(Role::Compliance), 14), &audit("access_review.start"));
    assert!(matches!(&refused, Err(AppError::Invalid(m)) if m.contains("nothing to review")), "{refused:?}");

    let admin = add_user(s, "ar_admin", "active", &[Role::Admin]);
    let comp = add_user(s, "ar_comp", "active", &[Role::Compliance]);
    let sre = add_user(s, "ar_sre", "active", &[Role::Sre]);
    let two = add_user(s, "ar_two", "active", &[Role::Admin, Role::Sre]);
    add_user(s, "ar_nobody", "active", &[]);
    (h.raw)(&format!(
        "INSERT INTO pf_security_findings (finding_id, check_name, severity, subject, names, detail, first_seen_at,
         last_seen_at) VALUES ('01ARFINDING000000000000000', 'no_second_factor', 'medium', '{}', 'ar_sre', 'none',
         CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        sre.0
    ));

    let c = s.start_access_review(&campaign(None, 14), &by(&comp, "access_review.start")).unwrap();
    assert_eq!((c.lines, c.kept, c.revoked, c.is_closed()), (5, 0, 0, false), "{c:?}");
    assert_eq!(c.started_by.as_deref(), Some("ar_comp"));
    let only_sre = s.start_access_review(&campaign(Some(Role::Sre), 14), &by(&comp, "access_review.start")).unwrap();
    assert_eq!(only_sre.lines, 2, "one role's holders only");
    let list = s.access_reviews(100).unwrap();
    assert_eq!(list.iter().map(|c| c.lines).collect::<Vec<_>>(), vec![2, 5], "newest first");

    let view = s.access_review(&c.review_id).unwrap().unwrap();
    let keys: Vec<(String, &str)> = view.lines.iter().map(|l| (l.username.clone(), l.role.as_str())).collect();
    assert_eq!(
        keys,
        [("ar_admin", "admin"), ("ar_comp", "compliance"), ("ar_sre", "sre"), ("ar_two", "admin"), ("ar_two", "sre")]
            .map(|(u, r)| (u.to_string(), r))
    );
    let sre_line = line(s, &c.review_id, "ar_sre", Role::Sre);
    assert!(sre_line.findings.contains("second factor"), "the findings naming it: {sre_line:?}");
    assert!(!sre_line.second_factor && sre_line.granted_at.is_some() && sre_line.decision.is_none());
    assert!(s.access_review("no such campaign").unwrap().is_none());

    // Nobody reviews their own account; a comment is required; nothing changes.
    let own = line(s, &c.review_id, "ar_comp", Role::Compliance);
    let refused = s.decide_access_line(&own.line_id, Decision::Keep, "fine", true, &by(&comp, "access_review.keep"));
    assert!(matches!(&refused, Err(AppError::Invalid(m)) if m.contains("own account")), "{refused:?}");
    let admin_line = line(s, &c.review_id, "ar_admin", Role::Admin);
    let refused = s.decide_access_line(&admin_line.line_id, Decision::Keep, "  ", true, &by(&comp, "x"));
    assert!(matches!(refused, Err(AppError::Invalid(_))));
    assert!(line(s, &c.review_id, "ar_admin", Role::Admin).decision.is_none());

    let kept = s
        .decide_access_line(&admin_line.line_id, Decision::Keep, "on call", false, &by(&comp, "access_review.keep"))
        .unwrap();
    assert!(!kept.closed && !kept.role_removed);
    let again = s.decide_access_line(&admin_line.line_id, Decision::Revoke, "no", true, &by(&two, "x"));
    assert!(matches!(&again, Err(AppError::Conflict(m)) if m.contains("ar_comp")), "{again:?}");
    let decided = line(s, &c.review_id, "ar_admin", Role::Admin);
    assert_eq!(
        (decided.decision, decided.comment.as_deref(), decided.decided_by.as_deref()),
        (Some(Decision::Keep), Some("on call"), Some("ar_comp"))
    );

    // Revoking removes the role and ends the account's sessions, in one step.
    let sid = signed_in(s, &sre);
    let sre_line = line(s, &c.review_id, "ar_sre", Role::Sre);
    let revoked = s
        .decide_access_line(
            &sre_line.line_id,
            Decision::Revoke,
            "left the team",
            false,
            &by(&comp, "access_review.revoke"),
        )
        .unwrap();
    assert_eq!((revoked.role_removed, revoked.sessions_ended), (true, 1));
    assert!(s.user_profile(&sre).unwrap().roles.is_empty());
    let now = Utc::now();
    assert!(s.session_principal(&sid, &"b".repeat(64), now, now - TimeDelta::minutes(30)).unwrap().is_none());

    // Taking admin away needs a fresh sign-in; refused, the line stays open.
    let two_admin = line(s, &c.review_id, "ar_two", Role::Admin);
    let refused = s.decide_access_line(&two_admin.line_id, Decision::Revoke, "too many", false, &by(&comp, "x"));
    assert!(matches!(&refused, Err(AppError::Invalid(m)) if m.contains("Confirm it is you")), "{refused:?}");
    assert!(line(s, &c.review_id, "ar_two", Role::Admin).decision.is_none(), "a refused decision leaves nothing");
    assert_eq!(s.user_profile(&two).unwrap().roles, vec![Role::Admin, Role::Sre]);
    s.decide_access_line(
        &two_admin.line_id,
        Decision::Revoke,
        "too many admins",
        true,
        &by(&comp, "access_review.revoke"),
    )
    .unwrap();
    assert_eq!(s.user_profile(&two).unwrap().roles, vec![Role::Sre]);

    s.decide_access_line(&own.line_id, Decision::Keep, "runs the reviews", false, &by(&admin, "access_review.keep"))
        .unwrap();
    let last = line(s, &c.review_id, "ar_two", Role::Sre);
    let closing = s
        .decide_access_line(&last.line_id, Decision::Keep, "on call", false, &by(&comp, "access_review.keep"))
        .unwrap();
    assert!(closing.closed, "the last decision closes the campaign");
    let view = s.access_review(&c.review_id).unwrap().unwrap();
    let closed = &view.campaign;
    assert_eq!(
        (closed.close_reason, closed.kept, closed.revoked, closed.undecided()),
        (Some(CloseReason::Decided), 3, 2, 0)
    );
    let after = s.decide_access_line(&last.line_id, Decision::Revoke, "late", true, &by(&admin, "x"));
    assert!(matches!(&after, Err(AppError::Conflict(m)) if m.contains("closed")), "{after:?}");

    // Every step audited, the decisions naming the account.
    if !h.oracle {
        assert_eq!(actions_on(s, "access_review.start").len(), 2);
        assert_eq!(actions_on(s, "access_review.keep").len(), 3);
        let revokes = actions_on(s, "access_review.revoke");
        assert_eq!(revokes.len(), 2);
        assert!(revokes.iter().any(|r| r.entity_id.as_deref() == Some(sre.as_str())
            && r.detail
                .as_deref()
                .is_some_and(|d| d.contains("revoked sre from ar_sre, 1 sessions ended: left the team"))));
        let close = actions_on(s, "access_review.close");
        assert_eq!(close.len(), 1);
        assert_eq!(close[0].entity_id.as_deref(), Some(c.review_id.as_str()));
    }
}

/// The last active administrator keeps the role; a campaign past its deadline
/// refuses decisions, closes with its open lines reported, and reminders are
/// claimed once, two days before.
fn a_deadline_closes_a_campaign_with_its_open_lines_reported(h: &Harness) {
    start_afresh(h);
    let s = h.s();
    let admin = add_user(s, "dl_admin", "active", &[Role::Admin]);
    let comp = add_user(s, "dl_comp", "active", &[Role::Compliance]);
    add_user(s, "dl_sre", "active", &[Role::Sre]);
    let c = s.start_access_review(&campaign(Some(Role::Admin), 14), &by(&comp, "access_review.start")).unwrap();
    let only = line(s, &c.review_id, "dl_admin", Role::Admin);
    let refused = s.decide_access_line(&only.line_id, Decision::Revoke, "nobody", true, &by(&comp, "x"));
    assert!(matches!(&refused, Err(AppError::Conflict(m)) if m.contains("last active administrator")), "{refused:?}");
    assert_eq!(s.user_profile(&admin).unwrap().roles, vec![Role::Admin]);
    assert!(line(s, &c.review_id, "dl_admin", Role::Admin).decision.is_none());

    // Reminders: two days before, once; a campaign that short from the start is not
    // reminded (its start's mail said the deadline).
    let soon = s.start_access_review(&campaign(None, 1), &by(&comp, "access_review.start")).unwrap();
    let now = Utc::now();
    assert!(s.access_reviews_to_remind(now, &audit("access_review.remind")).unwrap().is_empty());
    let later = s.access_reviews_to_remind(now + TimeDelta::days(13), &audit("access_review.remind")).unwrap();
    assert_eq!(later.iter().map(|c| c.review_id.as_str()).collect::<Vec<_>>(), vec![c.review_id.as_str()]);
    assert!(s.access_reviews_to_remind(now + TimeDelta::days(13), &audit("access_review.remind")).unwrap().is_empty());
    assert!(s.access_review(&soon.review_id).unwrap().is_some());

    // Nothing is due yet; past the deadline both close, their open lines reported.
    assert!(s.close_overdue_access_reviews(now, &audit("access_review.close")).unwrap().is_empty());
    let closed = s.close_overdue_access_reviews(now + TimeDelta::days(15), &audit("access_review.close")).unwrap();
    assert_eq!(closed.len(), 2);
    assert!(closed.iter().all(|c| c.close_reason == Some(CloseReason::Deadline) && c.undecided() > 0), "{closed:?}");
    let view = s.access_review(&c.review_id).unwrap().unwrap();
    assert_eq!((view.campaign.undecided(), view.lines[0].decision), (1, None), "left open, not kept");
    let late = s.decide_access_line(&only.line_id, Decision::Keep, "late", true, &by(&comp, "x"));
    assert!(matches!(late, Err(AppError::Conflict(_))));
    if !h.oracle {
        let rows = actions_on(s, "access_review.close");
        assert!(
            rows.iter().any(|r| r.detail.as_deref().is_some_and(|d| d.contains("1 lines left open: dl_admin (admin)"))),
            "{rows:?}"
        );
        assert_eq!(actions_on(s, "access_review.remind").len(), 1, "once");
    }
    assert!(s
        .close_overdue_access_reviews(now + TimeDelta::days(16), &audit("access_review.close"))
        .unwrap()
        .is_empty());
}

/// Reviewers on two instances deciding the same line: one decision stands, the
/// other is told it was decided; deciding a campaign's last two lines at once
/// closes it once.
fn two_reviewers_deciding_at_once_decide_each_line_once(h: &Harness) {
    start_afresh(h);
    let s = h.s();
    let rev_a = add_user(s, "race_a", "active", &[Role::Compliance]);
    let rev_b = add_user(s, "race_b", "active", &[Role::Admin]);
    add_user(s, "race_x", "active", &[Role::Sre]);
    add_user(s, "race_y", "active", &[Role::Sre]);
    for round in 0..3 {
        let c = s.start_access_review(&campaign(Some(Role::Sre), 14), &by(&rev_a, "access_review.start")).unwrap();
        let lines = s.access_review(&c.review_id).unwrap().unwrap().lines;
        // Both reviewers on one line, then each on one of the two lines left... the same one.
        let target = lines[0].line_id.clone();
        let racers: Vec<_> = [(rev_a.clone(), Decision::Keep), (rev_b.clone(), Decision::Revoke)]
            .into_iter()
            .map(|(who, d)| {
                let (s, line) = ((h.another_instance)(), target.clone());
                std::thread::spawn(move || s.decide_access_line(&line, d, "race", true, &by(&who, d.as_str())))
            })
            .collect();
        let outcomes: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "round {round}: {outcomes:?}");
        assert!(outcomes.iter().any(|o| matches!(o, Err(AppError::Conflict(_)))), "{outcomes:?}");
        // The other line: both at once again; the one that stands closes the campaign.
        let other = lines[1].line_id.clone();
        let racers: Vec<_> = [rev_a.clone(), rev_b.clone()]
            .into_iter()
            .map(|who| {
                let (s, line) = ((h.another_instance)(), other.clone());
                std::thread::spawn(move || s.decide_access_line(&line, Decision::Keep, "race", true, &by(&who, "keep")))
            })
            .collect();
        let closed: Vec<bool> = racers.into_iter().filter_map(|r| r.join().unwrap().ok()).map(|d| d.closed).collect();
        assert_eq!(closed, vec![true], "round {round}");
        let view = s.access_review(&c.review_id).unwrap().unwrap();
        assert_eq!(view.campaign.close_reason, Some(CloseReason::Decided));
        assert_eq!(view.campaign.kept + view.campaign.revoked, 2);
        // A revocation that stood took the role; the next round reviews who is left.
        if view.campaign.revoked > 0 {
            let gone = &view.lines.iter().find(|l| l.decision == Some(Decision::Revoke)).unwrap().user_id;
            s.set_console_roles(&UserId(gone.clone()), &[Role::Sre], true, &audit("user.roles")).unwrap();
        }
    }
    if !h.oracle {
        assert_eq!(actions_on(s, "access_review.close").len(), 3, "each campaign closed once");
    }
}
