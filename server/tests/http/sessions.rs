//! Sign-in and sessions: the session's cookie and row, idle and absolute ends, HTTPS cookies, the throttle and the lockout, bad tokens, sign-out and suspension, the cross-site check, ending sessions by filter.

use crate::harness::*;
use jsonwebtoken::{encode, EncodingKey, Header};

#[tokio::test]
async fn sign_in_opens_a_session_and_writes_the_audit_row() {
    let c = Console::new();
    let token = c.token("root").await;
    let audit = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(audit.action, "login.success");
    assert_eq!(audit.request_method.as_deref(), Some("POST"));
    assert_eq!(audit.request_path.as_deref(), Some("/auth/login"));
    assert_eq!(audit.response_status, Some(303));
    assert!(audit.user_id.is_some());
    assert!(
        c.storage
            .session_principal(
                &pathfinder::SessionId(claims(&token).sid),
                &"0".repeat(64),
                chrono::Utc::now(),
                chrono::Utc::now() - chrono::Duration::hours(1)
            )
            .unwrap()
            .is_none(),
        "the database keeps a hash, not the token"
    );

    let page = c.send(Method::GET, "/", Some(&token), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap_or_default();
    assert!(scripts.contains("'nonce-") && !scripts.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = scripts.split("'nonce-").nth(1).and_then(|n| n.split('\'').next()).unwrap_or_default();
    assert!(page.body.contains(&format!("nonce=\"{nonce}\"")), "the page's scripts carry the nonce");
    for (name, value) in
        [("x-frame-options", "DENY"), ("x-content-type-options", "nosniff"), ("cache-control", "no-store")]
    {
        assert_eq!(page.headers[name], value, "{name}");
    }
    assert!(page.headers.contains_key("x-request-id"));
    assert!(page.body.contains("Overview"), "{}", page.body);
    let api = c.post("/api/overview", Some(&token), "").await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let login = c.send(Method::GET, "/login", Some(&token), None, "").await;
    assert_eq!((login.status, login.headers[header::LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/"));
    assert!(api.body.contains("\"backend\":\"sqlite\""), "{}", api.body);
}

/// Only console accounts sign in; what was typed for an unknown name is never kept;
/// a password no account can have is refused before any hashing.
#[tokio::test]
async fn only_console_accounts_sign_in_and_typed_names_are_not_kept() {
    let c = Console::new();
    // A product user with a password and no console role.
    let user = NewUser {
        user_id: UserId::new(),
        username: Username::parse("product_pat").unwrap(),
        email: "pat@example.com".into(),
        password_hash: HASH.clone(),
        first_name: None,
        last_name: None,
        account_status: "active".into(),
        roles: vec![],
        feature_group_id: None,
    };
    c.storage.create_user(&user, &common::audit("user.create")).unwrap();
    let r = c.login("product_pat", PASSWORD).await;
    assert_eq!(r.headers[header::LOCATION], "/login?error=credentials", "the wrong-password answer");
    assert!(!r.headers.contains_key(header::SET_COOKIE));
    let profile = c.storage.user_profile(&user.user_id).unwrap();
    assert_eq!((profile.total_logins, profile.summary.last_login), (0, None), "nothing of theirs changed");
    assert!(c.storage.list_sessions(&user.user_id).unwrap().is_empty());

    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    let last_message = || -> String {
        db.query_row("SELECT error_message FROM pf_audit_log ORDER BY created_at DESC, id DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    assert!(last_message().contains("no console role"), "{}", last_message());

    // A password typed into the name box: the audit row holds a tag, not the text.
    c.login("correct_horse_battery", "whatever password").await;
    let first = last_message();
    assert!(first.starts_with("unknown username (tag ") && !first.contains("correct_horse"), "{first}");
    c.login("correct_horse_battery", "another password").await;
    assert_eq!(last_message(), first, "the same name, the same tag");
    c.login("other_name", "whatever password").await;
    assert_ne!(last_message(), first);

    let huge = "x".repeat(1_000_000);
    let r = c.login("root", &huge).await;
    assert_eq!(r.headers[header::LOCATION], "/login?error=credentials");
    assert!(last_message().contains("a password over 1024 bytes"));
    // Not counted against the account: root still signs in.
    c.token("root").await;
}

/// A session ends after 30 idle minutes (the default); a request records its use.
#[tokio::test]
async fn idle_sessions_end_and_requests_keep_them_alive() {
    let c = Console::new();
    let token = c.token("root").await;
    let sid = claims(&token).sid;
    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    let set_last_use = |minutes_ago: i64| {
        let t =
            (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago)).format("%Y-%m-%d %H:%M:%S%.6f").to_string();
        db.execute("UPDATE pf_user_sessions SET last_activity = ?1 WHERE session_id = ?2", [&t, &sid]).unwrap();
    };
    set_last_use(5);
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::OK);
    let recorded: String =
        db.query_row("SELECT last_activity FROM pf_user_sessions WHERE session_id = ?1", [&sid], |r| r.get(0)).unwrap();
    let a_minute_ago = (chrono::Utc::now() - chrono::Duration::minutes(1)).format("%Y-%m-%d %H:%M:%S").to_string();
    assert!(recorded > a_minute_ago, "the use is recorded: {recorded}");
    set_last_use(31);
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::UNAUTHORIZED);
    let page = c.send(Method::GET, "/users", Some(&token), None, "").await;
    assert_eq!(page.headers[header::LOCATION], "/login");
}

/// Over HTTPS (`PF_SECURE_COOKIE`): the session cookie is `__Host-` prefixed and
/// Secure, the plain name is not accepted, and every answer carries HSTS.
#[tokio::test]
async fn over_https_the_cookie_is_host_only_and_hsts_is_sent() {
    let c = Console::configured(|c| c.secure_cookie = true);
    let login = login_request("https").body(Body::from(login_form("root", PASSWORD))).unwrap();
    let resp = c.app.clone().oneshot(login).await.unwrap();
    let cookie = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("__Host-pf_session=") && cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_eq!(resp.headers()[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
    let token = cookie.trim_start_matches("__Host-pf_session=").split(';').next().unwrap().to_string();
    let page = |cookie: String| {
        let req = Request::builder().uri("/users").header(header::HOST, HOST).header(header::COOKIE, cookie);
        c.exchange(req.body(Body::empty()).unwrap())
    };
    assert_eq!(page(format!("__Host-pf_session={token}")).await.0, StatusCode::OK);
    assert_eq!(page(format!("pf_session={token}")).await.0, StatusCode::SEE_OTHER, "the plain name is not read");
}

/// A flood of sign-ins from one address is refused (429, Retry-After) before any
/// password work and without an audit row each, while another address signs in;
/// behind a trusted proxy the forwarded address is the one throttled.
#[tokio::test]
async fn a_flood_from_one_address_does_not_keep_another_out() {
    let proxy: std::net::IpAddr = "10.0.0.5".parse().unwrap();
    let c = Arc::new(Console::configured(|c| {
        c.metrics_token = None;
        c.sign_in_rate = SignInRate::default();
        c.trusted_proxies = vec![proxy];
    }));
    let attempt = |peer: &str, forwarded: Option<&str>, user: &str, pw: &str| {
        let mut req = login_request("http");
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let mut req = req.body(Body::from(login_form(user, pw))).unwrap();
        let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
        let app = c.app.clone();
        async move {
            let resp = app.oneshot(req).await.unwrap();
            (
                resp.status(),
                resp.headers().get(header::RETRY_AFTER).cloned(),
                resp.headers().get(header::LOCATION).cloned(),
            )
        }
    };
    let audit_rows = c.actions().len();
    let flood: Vec<_> =
        (0..40).map(|i| tokio::spawn(attempt("192.0.2.66", None, "sre_sam", &format!("guess {i}")))).collect();
    let (status, _, location) = attempt("198.51.100.20", None, "root", PASSWORD).await;
    assert_eq!(
        (status, location.unwrap().to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/"),
        "the other address signs in"
    );
    let mut throttled = 0;
    for f in flood {
        let (status, retry_after, _) = f.await.unwrap();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs: u64 = retry_after.expect("Retry-After").to_str().unwrap().parse().unwrap();
            assert!((1..=6).contains(&secs), "{secs}");
            throttled += 1;
        } else {
            assert_eq!(status, StatusCode::SEE_OTHER);
        }
    }
    assert_eq!(throttled, 30, "ten at once, then one every six seconds");
    assert_eq!(c.actions().len(), audit_rows + 11, "ten refused attempts and one sign-in were audited");

    // Through the trusted proxy, each forwarded client has its own bucket; a header
    // from anyone else is not believed.
    for _ in 0..10 {
        attempt("10.0.0.5", Some("203.0.113.1"), "sre_sam", "a guess").await;
    }
    assert_eq!(attempt("10.0.0.5", Some("203.0.113.1"), "sre_sam", "a guess").await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt("10.0.0.5", Some("203.0.113.2"), "sre_sam", "a guess").await.0, StatusCode::SEE_OTHER);
    assert_eq!(
        attempt("192.0.2.66", Some("203.0.113.3"), "sre_sam", "a guess").await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "the flooding address stays throttled whatever it forwards"
    );
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.ip_address.as_deref(), Some("203.0.113.2"), "the audit row names the forwarded client");
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_lock() {
    let c = Arc::new(Console::new());
    let guesses = (0..10).map(|i| {
        let c = c.clone();
        tokio::spawn(async move { c.login("root", &format!("guess number {i}")).await })
    });
    for g in guesses {
        assert_eq!(g.await.unwrap().headers[header::LOCATION], "/login?error=credentials");
    }
    let actions = c.actions();
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    // The fifth failure locks the account: its row says so, for the security review.
    assert_eq!((count("login.failure"), count("login.lockout"), count("login.locked")), (4, 1, 5), "{actions:?}");
    assert_eq!(c.login("root", PASSWORD).await.headers[header::LOCATION], "/login?error=credentials");
}

#[tokio::test]
async fn wrong_passwords_get_one_answer_and_lock_the_account() {
    let c = Console::new();
    for (user, pw) in [("root", "wrong password"), ("nobody", PASSWORD), ("Bad Name", PASSWORD)] {
        let r = c.login(user, pw).await;
        assert_eq!(
            (r.status, r.headers[header::LOCATION].to_str().unwrap()),
            (StatusCode::SEE_OTHER, "/login?error=credentials")
        );
        assert!(r.headers.get(header::SET_COOKIE).is_none());
    }
    assert_eq!(c.actions().iter().filter(|a| *a == "login.failure").count(), 3);
    for _ in 0..4 {
        c.login("root", "wrong again").await;
    }
    // Five wrong within the window: now even the right password gets the same refusal.
    let r = c.login("root", PASSWORD).await;
    assert_eq!(r.headers[header::LOCATION], "/login?error=credentials");
    assert_eq!(c.actions()[0], "login.locked");
}

/// An attacker cannot keep an account locked for longer than the cap, nor keep its
/// holder out: guesses while locked change nothing, the browser that signed in
/// before still signs in, and an admin unlocks (audited).
#[tokio::test]
async fn the_lockout_cannot_be_turned_against_the_holder() {
    let c = Console::new();
    let root = c.user_id("root");
    let (_, device) = c.login_from("root", PASSWORD, None).await;
    let device = device.expect("a successful sign-in trusts the browser");
    let locked_at = chrono::Utc::now();
    for _ in 0..5 {
        c.login("root", "an attacker's guess").await;
    }
    let state = c.storage.sign_in_state(&root).unwrap();
    let until = state.guard.locked_until.expect("locked");
    assert!(state.locked && until <= locked_at + chrono::Duration::minutes(6), "the first lock is 5 minutes");
    for _ in 0..20 {
        c.login("root", "more guesses").await;
    }
    let after = c.storage.sign_in_state(&root).unwrap();
    assert_eq!(after.guard, state.guard, "guesses while locked neither count nor extend the lock");

    // A new browser is refused; the holder's browser signs in, and the lock stays for others.
    let (r, _) = c.login_from("root", PASSWORD, None).await;
    assert_eq!(r.headers[header::LOCATION], "/login?error=credentials");
    let (r, again) = c.login_from("root", PASSWORD, Some(&device)).await;
    assert_eq!(r.headers[header::LOCATION], "/", "the trusted browser gets in while the account is locked");
    assert_eq!(again.as_deref(), Some(device.as_str()), "it keeps its device cookie");
    assert!(c.storage.sign_in_state(&root).unwrap().locked, "still locked for everyone else");
    let (r, _) = c.login_from("root", PASSWORD, Some("a forged device cookie")).await;
    assert_eq!(r.headers[header::LOCATION], "/login?error=credentials");

    // Every later lock lasts twice the one before, up to the cap: 10, 20, 40, then
    // 60 minutes (the first lasted 5).
    let cap = LockoutPolicy::default().max_lock;
    let mut lasted = vec![];
    for _ in 0..8 {
        rusqlite::Connection::open(c.dir.path().join("pf.db"))
            .unwrap()
            .execute("UPDATE pf_console_login_state SET locked_until = '2000-01-01 00:00:00.000000'", [])
            .unwrap();
        for _ in 0..5 {
            c.login("root", "a guess after the lock").await;
        }
        let g = c.storage.sign_in_state(&root).unwrap().guard;
        let lasts = g.locked_until.unwrap() - g.last_failed_at.unwrap();
        lasted.push(lasts.num_minutes());
    }
    assert_eq!(
        lasted,
        [10, 20, 40, 60, 60, 60, 60, 60],
        "each lock twice the last, up to {} minutes",
        cap.num_minutes()
    );
    assert_eq!(c.storage.sign_in_state(&root).unwrap().guard.lockouts, 9);

    // A stolen device cookie allows as many guesses as a locked account does: then
    // the browser is trusted no more.
    for _ in 0..5 {
        c.login_from("root", "a guess with the cookie", Some(&device)).await;
    }
    assert_eq!(c.storage.sign_in_state(&root).unwrap().trusted_devices, 0);
    let (r, _) = c.login_from("root", PASSWORD, Some(&device)).await;
    assert_eq!(r.headers[header::LOCATION], "/login?error=credentials");

    // Only an admin unlocks, never a non-admin.
    let sre = c.token("sre_sam").await;
    let body = format!("user_id={}", root.0);
    assert_eq!(c.post("/api/unlock_sign_in", Some(&sre), &body).await.status, StatusCode::FORBIDDEN);
    c.add_admin("second_admin");
    let token = c.token("second_admin").await;
    let r = c.post("/api/unlock_sign_in", Some(&token), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.actions()[0], "user.unlock");
    let state = c.storage.sign_in_state(&root).unwrap();
    assert!(!state.locked && state.guard == Default::default(), "{state:?}");
    assert_eq!(c.login("root", PASSWORD).await.headers[header::LOCATION], "/");
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let c = Console::new();
    let good = c.token("root").await;
    let base = claims(&good);
    let now = chrono::Utc::now().timestamp();
    let sign =
        |claims: &Claims, secret: &[u8]| encode(&Header::default(), claims, &EncodingKey::from_secret(secret)).unwrap();
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let tampered = {
        let mut other = base.clone();
        other.sub = UserId::new().0;
        let forged = sign(&other, SECRET);
        let parts: Vec<&str> = good.split('.').collect();
        format!("{}.{}.{}", parts[0], forged.split('.').nth(1).unwrap(), parts[2])
    };
    let cases = [
        ("expired", sign(&Claims { nbf: now - 9000, iat: now - 9000, exp: now - 3600, ..base.clone() }, SECRET)),
        ("not yet valid", sign(&Claims { nbf: now + 3600, ..base.clone() }, SECRET)),
        ("wrong audience", sign(&Claims { aud: "another-app".into(), ..base.clone() }, SECRET)),
        ("wrong issuer", sign(&Claims { iss: "someone-else".into(), ..base.clone() }, SECRET)),
        ("wrong key", sign(&base, b"a different secret of 32+ bytes!!!!")),
        ("tampered", tampered),
        ("alg none", format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), good.split('.').nth(1).unwrap())),
        ("garbage", "not.a.token".to_string()),
    ];
    assert_eq!((ISSUER, AUDIENCE), (base.iss.as_str(), base.aud.as_str()));
    for (what, token) in cases {
        let r = c.post("/api/overview", Some(&token), "").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.body);
        assert!(r.body.contains("Unauthenticated"), "{what}: {}", r.body);
    }
    assert_eq!(c.post("/api/overview", Some(&good), "").await.status, StatusCode::OK);
}

#[tokio::test]
async fn sign_out_and_suspension_take_effect_on_the_next_request() {
    let c = Console::new();
    let token = c.token("root").await;
    let out = c.post("/auth/logout", Some(&token), "").await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(c.actions()[0], "logout");
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::UNAUTHORIZED);
    let page = c.send(Method::GET, "/users", Some(&token), None, "").await;
    assert_eq!((page.status, page.headers[header::LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));

    let token = c.token("root").await;
    let id = c.storage.user_id_by_username(&Username::parse("root").unwrap()).unwrap().unwrap();
    // The last active administrator cannot be suspended: make another one first.
    let refused = c.storage.set_account_status(&id, "suspended", true, &common::audit("user.suspend"));
    assert!(matches!(refused, Err(pathfinder::AppError::Conflict(_))), "{refused:?}");
    common::add_user(c.storage.as_ref(), "second_admin", "active", &[Role::Admin]);
    c.storage.set_account_status(&id, "suspended", true, &common::audit("user.suspend")).unwrap();
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let c = Console::new();
    let sessions = || c.storage.overview(chrono::Utc::now(), 90).unwrap().active_sessions;
    let form = login_form("root", PASSWORD);
    let evil = c.send(Method::POST, "/auth/login", None, Some("https://evil.example"), &form).await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    let bare = c.send(Method::POST, "/auth/login", None, None, &form).await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN, "no Origin and no Sec-Fetch-Site");
    assert_eq!(sessions(), 0, "no session was opened");
    let token = c.token("root").await;
    let r = c.send(Method::POST, "/api/overview", Some(&token), Some("http://evil.example"), "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        c.send(Method::POST, "/auth/logout", Some(&token), Some("http://evil.example"), "").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::OK, "still signed in");
}

/// Admins end one session, all of a user's, or those a filter matches after a
/// preview; the user's page says who ended each and why.
#[tokio::test]
async fn admins_end_sessions_one_by_user_or_by_filter() {
    let c = Console::new();
    let token = c.token("root").await;
    let sre = c.user_id("sre_sam");
    let first = c.token("sre_sam").await;
    let second = c.token("sre_sam").await;
    let sid = pathfinder::SessionId(claims(&first).sid);
    let r = c.post("/api/revoke_session", Some(&token), &format!("session_id={}", sid.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.post("/api/overview", Some(&first), "").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(c.post("/api/overview", Some(&second), "").await.status, StatusCode::OK);
    let ended = c.storage.list_sessions(&sre).unwrap().into_iter().find(|s| s.session_id == sid).unwrap();
    assert_eq!((ended.ended_by.as_deref(), ended.end_reason.as_deref()), (Some("root"), Some("revoked")));

    let empty = c.post("/api/count_sessions", Some(&token), "user_id=&started_before=&ip_address=").await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "a filter is needed: {}", empty.body);
    let bad = c.post("/api/count_sessions", Some(&token), "user_id=&started_before=yesterday&ip_address=").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    sqlite_exec(&c, &format!("UPDATE pf_users SET account_status = 'suspended' WHERE user_id = '{}'", sre.0));
    let body = "user_id=&inactive_users=on&started_before=&ip_address=";
    assert_eq!(c.post("/api/count_sessions", Some(&token), body).await.body, "1");
    let r = c.post("/api/revoke_sessions", Some(&token), body).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "1"));
    assert_eq!(c.post("/api/count_sessions", Some(&token), body).await.body, "0");
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "session.revoke_many");
    assert_eq!(c.send(Method::GET, "/sessions?inactive_users=on", Some(&token), None, "").await.status, StatusCode::OK);
}
