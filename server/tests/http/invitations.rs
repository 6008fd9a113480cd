//! Invitations: sent, accepted once, refused when over.

use crate::harness::*;

/// Invitations: an admin invites (the link is mailed to the outbox and shown once;
/// only its hash is stored), the invitee makes their account with its console role
/// in one step; a used, withdrawn or expired link answers 410; bad input changes
/// nothing; sending again makes a new link and the old one stops working.
#[tokio::test]
async fn invitations_are_sent_accepted_once_and_refused_when_over() {
    let c = Console::new();
    let token = c.token("root").await;
    let invite = |email: &str, role: &str| {
        let body = format!("email={email}&role={role}");
        let (c, token) = (&c, &token);
        async move { c.post("/api/create_invitation", Some(token), &body).await }
    };
    sqlite_exec(
        &c,
        "INSERT INTO pf_user_groups (group_id, group_name) VALUES ('01JGROUPPILOTS000000000000', 'pilots')",
    );
    let r = invite("ivy%40example.com", "sre&group_id=01JNOSUCHGROUP").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "an unknown group: {}", r.body);
    let r = invite("ivy%40example.com", "sre&group_id=01JGROUPPILOTS000000000000").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link: pathfinder::dto::InvitationLink = serde_json::from_str(&r.body).unwrap();
    assert!(link.link.starts_with(&format!("{PUBLIC_URL}/invite/")), "the configured address: {}", link.link);
    // A Host header of the caller's choosing never makes the link.
    let hostile = format!("{HOST}:666");
    let r = c.post_to(&hostile, "/api/create_invitation", Some(&token), "email=hoster%40example.com&role=user").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains(":666") && r.body.contains(PUBLIC_URL), "{}", r.body);
    sqlite_exec(&c, "DELETE FROM pf_user_invitations WHERE email = 'hoster@example.com'");
    let secret = link.link.rsplit('/').next().unwrap().to_string();
    let outbox = std::fs::read_to_string(c.dir.path().join("outbox.txt")).unwrap();
    assert!(outbox.contains("To: ivy@example.com") && outbox.contains(&link.link), "{outbox}");
    let stored: String = rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .query_row("SELECT invitation_token FROM pf_user_invitations WHERE email = 'ivy@example.com'", [], |r| r.get(0))
        .unwrap();
    use sha2::Digest;
    assert_eq!(stored, hex::encode(sha2::Sha256::digest(secret.as_bytes())), "only the secret's SHA-256 is kept");
    assert_eq!(invite("root%40example.com", "user").await.status, StatusCode::CONFLICT, "has an account");
    assert_eq!(invite("ivy2%40example.com", "owner").await.status, StatusCode::BAD_REQUEST);

    let page = c.send(Method::GET, &format!("/invite/{secret}"), None, None, "").await;
    assert!(page.status == StatusCode::OK && page.body.contains("ivy@example.com"), "{}", page.body);
    let accept = |name: &str, pw: &str, t: &str| {
        let body = format!("token={t}&username={name}&password={}", pw.replace(' ', "+"));
        let c = &c;
        async move { c.post("/auth/accept_invitation", None, &body).await }
    };
    let short = accept("ivy_new", "short", &secret).await;
    assert!(short.headers[header::LOCATION].to_str().unwrap().contains("__err=invalid"), "too short a password");
    let r = accept("ivy_new", PASSWORD, &secret).await;
    assert_eq!(r.headers[header::LOCATION], "/login?invited=1");
    let ivy = c.user_id("ivy_new");
    assert_eq!(c.storage.user_profile(&ivy).unwrap().roles, vec![Role::Sre]);
    assert_eq!(c.storage.user_profile(&ivy).unwrap().group.unwrap().group_name, "pilots", "in the invitation's group");
    assert_eq!(c.login("ivy_new", PASSWORD).await.headers[header::LOCATION], "/", "they sign in");
    let again = accept("ivy_other", PASSWORD, &secret).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("used already"), "{}", again.body);
    assert_eq!(c.send(Method::GET, &format!("/invite/{secret}"), None, None, "").await.status, StatusCode::GONE);

    // Sent again: a new link; the old one is no more. Withdrawn: 410. Expired: 410.
    let first: pathfinder::dto::InvitationLink =
        serde_json::from_str(&invite("jo%40example.com", "user").await.body).unwrap();
    let r = c.post("/api/resend_invitation", Some(&token), &format!("invitation_id={}", first.invitation_id)).await;
    let second: pathfinder::dto::InvitationLink = serde_json::from_str(&r.body).unwrap();
    assert_ne!(first.link, second.link);
    let old = first.link.rsplit('/').next().unwrap();
    assert_eq!(accept("jo_new", PASSWORD, old).await.status, StatusCode::GONE);
    let r = c.post("/api/withdraw_invitation", Some(&token), &format!("invitation_id={}", first.invitation_id)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let withdrawn = accept("jo_new", PASSWORD, second.link.rsplit('/').next().unwrap()).await;
    assert_eq!(withdrawn.status, StatusCode::GONE);
    let late: pathfinder::dto::InvitationLink =
        serde_json::from_str(&invite("kim%40example.com", "user").await.body).unwrap();
    sqlite_exec(
        &c,
        "UPDATE pf_user_invitations SET expires_at = '2000-01-01 00:00:00.000000' WHERE email = 'kim@example.com'",
    );
    assert_eq!(accept("kim_new", PASSWORD, late.link.rsplit('/').next().unwrap()).await.status, StatusCode::GONE);
    let list: Vec<pathfinder::dto::InvitationInfo> =
        serde_json::from_str(&c.post("/api/invitations", Some(&token), "").await.body).unwrap();
    let states: Vec<&str> = list.iter().map(|i| i.state.as_str()).collect();
    assert_eq!(states, ["expired", "withdrawn", "accepted"]);
    assert_eq!(list[2].group_name.as_deref(), Some("pilots"));

    // A group deleted before the invitation is accepted: the account is made without it.
    sqlite_exec(&c, "INSERT INTO pf_user_groups (group_id, group_name) VALUES ('01JGROUPGONE00000000000000', 'gone')");
    let r = invite("gus%40example.com", "user&group_id=01JGROUPGONE00000000000000").await;
    let gus: pathfinder::dto::InvitationLink = serde_json::from_str(&r.body).unwrap();
    sqlite_exec(&c, "DELETE FROM pf_user_groups WHERE group_id = '01JGROUPGONE00000000000000'");
    let r = accept("gus_new", PASSWORD, gus.link.rsplit('/').next().unwrap()).await;
    assert_eq!(r.headers[header::LOCATION], "/login?invited=1");
    assert_eq!(c.storage.user_profile(&c.user_id("gus_new")).unwrap().group, None);
    assert!(c.actions().contains(&"invitation.accept".to_string()));
}
