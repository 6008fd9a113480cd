//! Two-factor sign-in: set up before anything else, codes not replayed, an administrator's reset.

use crate::harness::*;

/// TOTP: an admin (whose role requires it) sees only their account page until they
/// set it up; then sign-in needs a code, a code is accepted once, a recovery code
/// once, and a wrong code counts like a wrong password.
#[tokio::test]
async fn admins_set_up_totp_before_anything_else_and_codes_are_not_replayed() {
    let c = Console::configured(|c| c.session_policy.mfa_required = vec![Role::Admin]);
    let token = c.token("root").await;
    let page = c.send(Method::GET, "/users", Some(&token), None, "").await;
    assert_eq!((page.status, page.headers[header::LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/account"));
    let api = c.post("/api/users", Some(&token), "q=&mode=&status=&sort=&dir=&after=").await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    assert!(api.body.contains("two-factor"), "{}", api.body);
    assert_eq!(c.send(Method::GET, "/account", Some(&token), None, "").await.status, StatusCode::OK);
    // Another role that does not require it is not held back.
    let sre = c.token("sre_sam").await;
    assert_eq!(c.post("/api/overview", Some(&sre), "").await.status, StatusCode::OK);

    let setup = c.post("/api/start_mfa_setup", Some(&token), "").await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let setup: pathfinder::dto::MfaSetup = serde_json::from_str(&setup.body).unwrap();
    assert!(setup.qr_svg.contains("<svg"), "the QR code is drawn on the server");
    let wrong = c.post("/api/confirm_mfa_setup", Some(&token), "code=000000").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    let code = pathfinder::mfa::current_code(&setup.secret, now_secs()).unwrap();
    let codes = c.post("/api/confirm_mfa_setup", Some(&token), &format!("code={code}")).await;
    assert_eq!(codes.status, StatusCode::OK, "{}", codes.body);
    let codes: Vec<String> = serde_json::from_str(&codes.body).unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(c.actions()[0], "mfa.enable");
    assert_eq!(c.post("/api/users", Some(&token), "q=&mode=&status=&sort=&dir=&after=").await.status, StatusCode::OK);
    let stored: Option<String> = rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .query_row("SELECT mfa_secret FROM pf_users WHERE username = 'root'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, None, "the secret is kept only encrypted");

    let login = |code: String| {
        let body = format!("{}&code={code}", login_form("root", PASSWORD));
        let c = &c;
        async move { c.post("/auth/login", None, &body).await.headers[header::LOCATION].to_str().unwrap().to_string() }
    };
    let root = c.user_id("root");
    assert_eq!(login(String::new()).await, "/login?error=credentials", "a code is needed");
    assert_eq!(login(code.clone()).await, "/login?error=credentials", "the setup's code is used up");
    assert_eq!(c.storage.sign_in_state(&root).unwrap().guard.failed_attempts, 2, "wrong codes count");
    let next = pathfinder::mfa::current_code(&setup.secret, now_secs() + 30).unwrap();
    assert_eq!(login(next.clone()).await, "/", "the next step's code, within the skew");
    assert_eq!(login(next).await, "/login?error=credentials", "never twice");
    assert_eq!(login(codes[3].to_uppercase()).await, "/", "a recovery code");
    assert_eq!(login(codes[3].clone()).await, "/login?error=credentials", "once");
    let state: pathfinder::dto::MfaState =
        serde_json::from_str(&c.post("/api/mfa_state", Some(&token), "").await.body).unwrap();
    assert_eq!((state.enabled, state.recovery_codes_left), (true, 9));
    let again = c.post("/api/start_mfa_setup", Some(&token), "").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "no new secret while it is on: {}", again.body);
}

/// An admin resets another user's second factor (audited), only with a fresh
/// sign-in of their own, never their own.
#[tokio::test]
async fn admins_reset_anothers_totp_with_a_fresh_sign_in_never_their_own() {
    let c = Console::new();
    let root = c.user_id("root");
    let secret = pathfinder::mfa::new_secret();
    c.storage.start_mfa_setup(&root, &secret, &common::audit("mfa.setup.start")).unwrap();
    c.storage.enable_mfa(&root, 1, &["a".repeat(64)], &common::audit("mfa.enable")).unwrap();
    c.add_admin("other_admin");
    let other = c.user_id("other_admin");
    let token = c.token("other_admin").await;
    let own = c.post("/api/reset_mfa", Some(&token), &format!("user_id={}", other.0)).await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST, "{}", own.body);
    rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .execute(
            "UPDATE pf_user_sessions SET confirmed_at = '2000-01-01 00:00:00.000000' WHERE user_id = ?1",
            [&other.0],
        )
        .unwrap();
    let stale = c.post("/api/reset_mfa", Some(&token), &format!("user_id={}", root.0)).await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST, "{}", stale.body);
    assert!(stale.body.contains("Confirm it is you"), "{}", stale.body);
    // The password again, on the page: a wrong one counts like one at sign-in.
    let confirm = |pw: &str| format!("password={}&code=&next=/users/{}", pw.replace(' ', "+"), root.0);
    let r = c.post("/auth/confirm", Some(&token), &confirm("not it")).await;
    assert_eq!(r.headers[header::LOCATION].to_str().unwrap(), format!("/users/{}?confirm=failed", root.0));
    assert_eq!(c.storage.sign_in_state(&other).unwrap().guard.failed_attempts, 1);
    let away = c.post("/auth/confirm", Some(&token), "password=x&code=&next=//evil.example/").await;
    assert_eq!(away.headers[header::LOCATION].to_str().unwrap(), "/account?confirm=failed", "never another site");
    // Browsers read `/\\host` as `//host` and drop tabs and newlines in a URL.
    for next in ["/%5Cevil.example", "/%5C%5Cevil.example", "/%09/evil.example", "https://evil.example/"] {
        let away = c
            .post("/auth/confirm", Some(&token), &format!("password={}&code=&next={next}", PASSWORD.replace(' ', "+")))
            .await;
        let to = away.headers[header::LOCATION].to_str().unwrap();
        assert_eq!(to, "/account?confirm=ok", "{next}: went to {to}");
    }
    let r = c.post("/auth/confirm", Some(&token), &confirm(PASSWORD)).await;
    assert_eq!(r.headers[header::LOCATION].to_str().unwrap(), format!("/users/{}?confirm=ok", root.0));
    assert_eq!(c.actions()[0], "session.confirm");
    let r = c.post("/api/reset_mfa", Some(&token), &format!("user_id={}", root.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.entity_id.as_deref()), ("mfa.reset", Some(root.0.as_str())));
    let state = c.storage.mfa_state(&root).unwrap();
    assert_eq!(state, pathfinder::dto::MfaState::default());
    assert_eq!(c.storage.mfa_secret(&root).unwrap(), None);
    assert_eq!(c.login("root", PASSWORD).await.headers[header::LOCATION], "/", "a password alone again");
}
