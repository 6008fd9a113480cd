//! The HTTP surface in-process: sign-in, tokens, sessions, roles, the cross-site
//! check, audit rows, metrics and error hygiene.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use jsonwebtoken::{encode, EncodingKey, Header};
use pathfinder::db::Db;
use pathfinder::dto::SensitiveFields;
use pathfinder::storage::{
    AuditStore, EncryptionStore, KeyPolicy, MfaStore, NewUser, RetentionStore, SessionStore, Storage, UserStore,
    UserTableStore,
};
use pathfinder::{Role, UserId, Username};
use pathfinder_app::policy::{Access, POLICY};
use pathfinder_server::auth::guard::LockoutPolicy;
use pathfinder_server::auth::throttle::SignInThrottle;
use pathfinder_server::auth::token::{Claims, AUDIENCE, ISSUER};
use pathfinder_server::auth::{password, TokenKeys};
use pathfinder_server::router::{router, AppState};
use pathfinder_server::storage::Store;
use std::sync::{Arc, LazyLock};
use tower::ServiceExt;

const SECRET: &[u8] = b"an http test secret of 32+ bytes!!";
const PASSWORD: &str = "a long test password";
const METRICS_TOKEN: &str = "scrape-me";
const HOST: &str = "console.test";
static HASH: LazyLock<String> = LazyLock::new(|| password::hash(PASSWORD).unwrap());

struct Console {
    app: Router,
    storage: Arc<Store>,
    overview: Arc<pathfinder::stats::OverviewCache>,
    pool_history: Arc<pathfinder::pool::PoolHistory>,
    dir: tempfile::TempDir,
}

/// A sign-in form's body.
fn login_form(user: &str, pw: &str) -> String {
    format!("username={user}&password={}", pw.replace(' ', "+"))
}

/// A sign-in post from this console's own page (`scheme` of its origin), to build
/// on before its body.
fn login_request(scheme: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(Method::POST)
        .uri("/auth/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("{scheme}://{HOST}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

/// An active console account with the test password.
fn add_console_user(storage: &Store, name: &str, role: Role) {
    let user = NewUser {
        user_id: UserId::new(),
        username: Username::parse(name).unwrap(),
        email: format!("{name}@example.com"),
        password_hash: HASH.clone(),
        first_name: None,
        last_name: None,
        account_status: "active".into(),
        roles: vec![role],
        feature_group_id: None,
    };
    storage.create_user(&user, &common::audit("user.create")).unwrap();
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Console {
    fn new() -> Self {
        Self::with_metrics_token(Some(METRICS_TOKEN))
    }

    fn with_metrics_token(metrics_token: Option<&str>) -> Self {
        Self::build(metrics_token, false)
    }

    fn build(metrics_token: Option<&str>, secure_cookie: bool) -> Self {
        // Requests here come from no address (one bucket): roomy, but for the
        // throttle's own test.
        let throttle = SignInThrottle::new(10_000, std::time::Duration::from_millis(1), 1000);
        Self::build_with(metrics_token, secure_cookie, throttle, vec![], vec![])
    }

    fn build_with(
        metrics_token: Option<&str>,
        secure_cookie: bool,
        throttle: SignInThrottle,
        trusted_proxies: Vec<std::net::IpAddr>,
        mfa_required: Vec<Role>,
    ) -> Self {
        let (storage, dir) = common::sqlite();
        for (name, role) in [("root", Role::Admin), ("sre_sam", Role::Sre), ("comp_cy", Role::Compliance)] {
            add_console_user(&storage, name, role);
        }
        let state = AppState {
            leptos_options: leptos::config::LeptosOptions::builder().output_name("pathfinder").build(),
            db: Db::new(storage.clone()),
            keys: Arc::new(TokenKeys::new(SECRET).unwrap()),
            metrics_token: metrics_token.map(Arc::from),
            secure_cookie,
            overview: Arc::default(),
            pool_history: Arc::default(),
            key_policy: KeyPolicy { rotation_days: 90 },
            storage_policy: pathfinder::usage::StoragePolicy::default(),
            allowed_hosts: Arc::from(vec![HOST.to_string()]),
            session_policy: pathfinder_server::auth::SessionPolicy {
                mfa_required,
                ..pathfinder_server::auth::SessionPolicy::default()
            },
            lockout: LockoutPolicy::default(),
            throttle: Arc::new(throttle),
            ofrep_rate: Arc::new(pathfinder_server::ofrep::ApiRate::per_second(50)),
            trusted_proxies: Arc::from(trusted_proxies),
            outbox: pathfinder::mail::Outbox {
                mailer: Arc::new(pathfinder::mail::OutboxMailer { path: dir.path().join("outbox.txt") }),
                public_url: None,
                https: secure_cookie,
            },
            audit_key: Some(pathfinder::audit::AuditKey(Arc::from(&b"an http test audit key, 32 chars+"[..]))),
            settings: Arc::from(vec![pathfinder::diagnostics::Setting {
                name: "PF_STORAGE_SAMPLE_MINUTES".into(),
                value: "15".into(),
                source: "default".into(),
            }]),
        };
        Console {
            overview: state.overview.clone(),
            pool_history: state.pool_history.clone(),
            app: router(state),
            storage,
            dir,
        }
    }

    async fn send(&self, method: Method, path: &str, cookie: Option<&str>, origin: Option<&str>, body: &str) -> Reply {
        let mut req = Request::builder().method(method).uri(path).header(header::HOST, HOST);
        if let Some(token) = cookie {
            req = req.header(header::COOKIE, format!("theme=dark; pf_session={token}"));
        }
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        if !body.is_empty() {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let req = req.body(Body::from(body.to_string())).unwrap();
        // A server-rendered page whose stream stalls (rarely, with many tests' runtimes
        // in one process; a leptos SSR race, see the issue 8 note) is sent once more,
        // and said so on stderr; a second stall fails the test with its path.
        let (parts, body) = req.into_parts();
        let again = |body: Body| {
            let mut req = Request::from_parts(parts.clone(), body);
            *req.extensions_mut() = Default::default();
            req
        };
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        // Only a page (GET) is sent again: a change is never repeated.
        let attempts = if parts.method == Method::GET { 2 } else { 1 };
        for attempt in 1..=attempts {
            let req = again(Body::from(bytes.clone()));
            let answer = async {
                let resp = self.app.clone().oneshot(req).await.unwrap();
                let status = resp.status();
                let headers = resp.headers().clone();
                let bytes = resp.into_body().collect().await.unwrap().to_bytes();
                Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
            };
            match tokio::time::timeout(std::time::Duration::from_secs(15), answer).await {
                Ok(reply) => return reply,
                Err(_) => eprintln!("{path}: no complete response within 15 s (attempt {attempt})"),
            }
        }
        panic!("{path}: the response stalled ({attempts} attempts)")
    }

    /// A same-site POST (what our own pages send).
    /// `/metrics` as Prometheus reads it (with the bearer token).
    async fn scrape(&self) -> String {
        let req = Request::builder()
            .uri("/metrics")
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("Bearer {METRICS_TOKEN}"));
        let resp = self.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    async fn post(&self, path: &str, cookie: Option<&str>, body: &str) -> Reply {
        self.send(Method::POST, path, cookie, Some(&format!("http://{HOST}")), body).await
    }

    async fn login(&self, user: &str, pw: &str) -> Reply {
        self.post("/auth/login", None, &login_form(user, pw)).await
    }

    /// Signs in and returns the session token from the cookie.
    async fn token(&self, user: &str) -> String {
        let r = self.login(user, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.headers[header::LOCATION], "/");
        let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        cookie.trim_start_matches("pf_session=").split(';').next().unwrap().to_string()
    }

    /// A request built by the test itself, as sent: status and body.
    async fn exchange(&self, req: Request<Body>) -> (StatusCode, String) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Signs in from a browser that carries `device` (a device cookie), if any:
    /// the answer and the device cookie it sets.
    async fn login_from(&self, user: &str, pw: &str, device: Option<&str>) -> (Reply, Option<String>) {
        let mut req = login_request("http");
        if let Some(d) = device {
            req = req.header(header::COOKIE, format!("pf_device={d}"));
        }
        let resp = self.app.clone().oneshot(req.body(Body::from(login_form(user, pw))).unwrap()).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let set = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.strip_prefix("pf_device="))
            .map(|v| v.split(';').next().unwrap_or_default().to_string())
            .next();
        (Reply { status, headers, body: String::new() }, set)
    }

    /// Another administrator, with the test password.
    fn add_admin(&self, name: &str) {
        add_console_user(&self.storage, name, Role::Admin);
    }

    fn user_id(&self, name: &str) -> UserId {
        self.storage.user_id_by_username(&Username::parse(name).unwrap()).unwrap().unwrap()
    }

    fn actions(&self) -> Vec<String> {
        self.storage.recent_audit(1000).unwrap().into_iter().map(|a| a.action).collect()
    }
}

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
    let c = Console::build(Some(METRICS_TOKEN), true);
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
    let c = Arc::new(Console::build_with(None, false, SignInThrottle::default(), vec![proxy], vec![]));
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

/// A refused plain-form post comes back to its page with the error's code only, and
/// a page shows no text from its URL: a link cannot make the console say anything.
#[tokio::test]
async fn errors_travel_by_code_never_by_text_in_the_url() {
    let c = Console::new();
    let token = c.token("root").await;
    let root = c.user_id("root");
    let page = format!("http://{HOST}/users/{}", root.0);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/set_user_status")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("http://{HOST}"))
        .header(header::REFERER, &page)
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, format!("pf_session={token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("user_id={}&status=suspended", root.0)))
        .unwrap();
    let resp = c.app.clone().oneshot(req).await.unwrap();
    let location = resp.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(location.starts_with(&page) && location.contains("__err=invalid"), "{location}");
    let shown = c.send(Method::GET, &location.replace(&format!("http://{HOST}"), ""), Some(&token), None, "").await;
    assert!(shown.body.contains("a value was not accepted"), "the page says it in our words: {}", shown.body);

    use base64::Engine;
    let forged =
        base64::engine::general_purpose::URL_SAFE.encode(r#"{"Invalid":"Call +1 555 0100 to keep your account"}"#);
    for err in [forged.as_str(), "Call+%2B1+555+0100+now"] {
        let r = c.send(Method::GET, &format!("/users/{}?__err={err}", root.0), Some(&token), None, "").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.body.contains("555 0100") && !r.body.contains("555+0100"), "{}", r.body);
    }
}

fn roomy() -> SignInThrottle {
    SignInThrottle::new(10_000, std::time::Duration::from_millis(1), 1000)
}

fn now_secs() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

/// TOTP: an admin (whose role requires it) sees only their account page until they
/// set it up; then sign-in needs a code, a code is accepted once, a recovery code
/// once, and a wrong code counts like a wrong password.
#[tokio::test]
async fn admins_set_up_totp_before_anything_else_and_codes_are_not_replayed() {
    let c = Console::build_with(None, false, roomy(), vec![], vec![Role::Admin]);
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
    let c = Console::build_with(None, false, roomy(), vec![], vec![]);
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

/// Admins grant and take away console roles (audited before and after), never
/// their own; granting admin needs a fresh sign-in; taking every role away ends the
/// sessions; the console accounts page lists the holders.
#[tokio::test]
async fn admins_grant_and_revoke_console_roles_never_their_own() {
    let c = Console::new();
    let token = c.token("root").await;
    let root = c.user_id("root");
    let product = common::add_user(c.storage.as_ref(), "product_pat", "active", &[]);
    sqlite_exec(&c, &format!("UPDATE pf_users SET password_hash = '{}' WHERE user_id = '{}'", *HASH, product.0));
    assert_eq!(c.login("product_pat", PASSWORD).await.headers[header::LOCATION], "/login?error=credentials");

    let set = |who: &UserId, roles: &str| format!("user_id={}{roles}", who.0);
    let r = c.post("/api/set_console_roles", Some(&token), &set(&product, "&sre=on&compliance=on")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "user.roles");
    assert_eq!(c.storage.user_profile(&product).unwrap().roles, vec![Role::Compliance, Role::Sre]);
    let pat = c.token("product_pat").await;
    assert_eq!(c.post("/api/overview", Some(&pat), "").await.status, StatusCode::OK, "a console account now");

    let own = c.post("/api/set_console_roles", Some(&token), &set(&root, "")).await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST, "{}", own.body);
    sqlite_exec(&c, "UPDATE pf_user_sessions SET confirmed_at = '2000-01-01 00:00:00.000000'");
    let stale = c.post("/api/set_console_roles", Some(&token), &set(&product, "&admin=on")).await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST, "granting admin needs a fresh sign-in: {}", stale.body);
    let r = c.post("/api/set_console_roles", Some(&token), &set(&product, "&sre=on")).await;
    assert_eq!(r.status, StatusCode::OK, "other changes do not: {}", r.body);

    let accounts: Vec<pathfinder::dto::ConsoleAccount> =
        serde_json::from_str(&c.post("/api/console_accounts", Some(&token), "").await.body).unwrap();
    let names: Vec<(&str, Vec<Role>)> = accounts.iter().map(|a| (a.username.as_str(), a.roles.clone())).collect();
    assert!(
        names.contains(&("product_pat", vec![Role::Sre])) && names.contains(&("root", vec![Role::Admin])),
        "{names:?}"
    );

    let r = c.post("/api/set_console_roles", Some(&token), &set(&product, "")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.post("/api/overview", Some(&pat), "").await.status, StatusCode::UNAUTHORIZED, "their sessions ended");
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert!(row.action == "user.roles");
}

/// Raw SQL on the console's file, with the console's SQL functions (the search
/// indexes' triggers need them to change names).
fn sqlite_exec(c: &Console, sql: &str) {
    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    pathfinder_server::storage::driver::sqlite::configure(&db).unwrap();
    db.execute_batch(sql).unwrap();
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

/// From a user's page: SSO links listed without tokens, made primary, unlinked;
/// the table set provisioned and dropped (the username typed again), all audited.
#[tokio::test]
async fn admins_manage_sso_links_and_table_sets_from_the_console() {
    let c = Console::new();
    let token = c.token("root").await;
    let id = common::add_user(c.storage.as_ref(), "linked_lee", "active", &[]);
    for (n, provider) in [(1, "google"), (2, "github")] {
        sqlite_exec(
            &c,
            &format!(
                "INSERT INTO pf_sso_accounts (sso_account_id, user_id, provider, provider_user_id, email, is_primary)
                 VALUES ('SSO{n}', '{}', '{provider}', 'p-{n}', 'lee@{provider}.example', '{}')",
                id.0,
                if n == 1 { "Y" } else { "N" }
            ),
        );
    }
    c.storage.set_sso_tokens("SSO1", Some("secret-access-token"), None, &common::audit("sso.tokens")).unwrap();
    let detail = c.post("/api/user_detail", Some(&token), &format!("user_id={}", id.0)).await;
    assert!(
        detail.body.contains("\"provider\":\"github\"") && !detail.body.contains("secret-access-token"),
        "{}",
        detail.body
    );
    let body = |sso: &str| format!("user_id={}&sso_account_id={sso}", id.0);
    assert_eq!(c.post("/api/set_primary_sso", Some(&token), &body("SSO2")).await.status, StatusCode::OK);
    let links = c.storage.sso_links(&id).unwrap();
    assert_eq!((links[0].sso_account_id.as_str(), links[0].is_primary, links[1].is_primary), ("SSO2", true, false));
    assert_eq!(c.post("/api/unlink_sso", Some(&token), &body("SSO1")).await.status, StatusCode::OK);
    assert_eq!(c.storage.sso_links(&id).unwrap().len(), 1);
    assert_eq!(c.post("/api/unlink_sso", Some(&token), &body("SSO1")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.actions()[0..2], ["user.sso.unlink", "user.sso.primary"]);

    let r = c.post("/api/provision_user_tables", Some(&token), &format!("user_id={}", id.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let owner = Username::parse("linked_lee").unwrap();
    assert!(c.storage.user_table_set(&owner).unwrap().is_some());
    let wrong = c.post("/api/drop_user_tables", Some(&token), &format!("user_id={}&confirm=someone", id.0)).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(c.storage.user_table_set(&owner).unwrap().is_some(), "nothing dropped");
    let r = c.post("/api/drop_user_tables", Some(&token), &format!("user_id={}&confirm=linked_lee", id.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(c.storage.user_table_set(&owner).unwrap().is_none());
}

/// Admins create a user (validated, audited; no password that signs in) and a soft
/// delete (status `deleted`) ends the user's sessions at once.
#[tokio::test]
async fn admins_create_users_and_a_soft_delete_ends_their_sessions() {
    let c = Console::new();
    let token = c.token("root").await;
    let form = |name: &str, email: &str| {
        format!("username={name}&email={email}&first_name=Ada&last_name=Lovelace&account_status=pending")
    };
    let r = c.post("/api/create_user", Some(&token), &form("new_ada", "ada%40example.com")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = c.user_id("new_ada");
    assert!(r.body.contains(&id.0), "{}", r.body);
    let profile = c.storage.user_profile(&id).unwrap();
    assert_eq!(
        (profile.summary.account_status.as_str(), profile.summary.first_name.as_deref()),
        ("pending", Some("Ada"))
    );
    assert_eq!(c.actions()[0], "user.create");
    for (name, email) in
        [("Bad Name", "x%40example.com"), ("new_ada", "other%40example.com"), ("new_bob", "not-an-email")]
    {
        let r = c.post("/api/create_user", Some(&token), &form(name, email)).await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::CONFLICT,
            "{name}: {} {}",
            r.status,
            r.body
        );
    }

    // A hard delete takes the user's table set with them (its own audited steps first).
    let r = c.post("/api/provision_user_tables", Some(&token), &format!("user_id={}", id.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = c.post("/api/delete_user", Some(&token), &format!("user_id={}&confirm=new_ada", id.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.actions()[0..2], ["user.delete", "user_tables.drop"]);
    assert!(c.storage.user_table_set(&Username::parse("new_ada").unwrap()).unwrap().is_none());

    let sre = c.token("sre_sam").await;
    let sam = c.user_id("sre_sam");
    let r = c.post("/api/set_user_status", Some(&token), &format!("user_id={}&status=deleted", sam.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ended = c.storage.list_sessions(&sam).unwrap().remove(0);
    assert_eq!((ended.is_active, ended.end_reason.as_deref()), (false, Some("account deleted")));
    assert_eq!(c.post("/api/overview", Some(&sre), "").await.status, StatusCode::UNAUTHORIZED);
}

/// Admins edit a user's profile and preferences; bad values are refused with a
/// sentence and change nothing; the audit rows say before -> after.
#[tokio::test]
async fn admins_edit_profiles_and_preferences_with_before_and_after() {
    let c = Console::new();
    let token = c.token("root").await;
    let id = common::add_user(c.storage.as_ref(), "edit_eve", "active", &[]);
    let body = |email: &str, title: &str| {
        format!(
            "user_id={}&edit[email]={email}&edit[first_name]=Eve&edit[last_name]=&edit[timezone]=Europe%2FParis\
             &edit[language]=fr&edit[current_title]={title}&edit[current_company]=",
            id.0
        )
    };
    let r = c.post("/api/update_profile", Some(&token), &body("eve%40example.org", "Engineer")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = c.storage.user_profile(&id).unwrap();
    assert_eq!(
        (p.summary.email.as_str(), p.timezone.as_deref(), p.current_title.as_deref()),
        ("eve@example.org", Some("Europe/Paris"), Some("Engineer"))
    );
    let said: String = rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .query_row("SELECT error_message FROM pf_audit_log WHERE action = 'user.update'", [], |r| r.get(0))
        .unwrap();
    assert!(
        said.contains("email: edit_eve@Example.com -> eve@example.org") && said.contains("title: none -> Engineer"),
        "{said}"
    );
    let bad = c.post("/api/update_profile", Some(&token), &body("not-an-email", "X")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(c.storage.user_profile(&id).unwrap().current_title.as_deref(), Some("Engineer"), "nothing changed");

    let prefs = |ui: &str| {
        format!(
            "user_id={}&prefs[notification]=&prefs[privacy]=%7B%22public%22%3Afalse%7D&prefs[ui]={ui}\
             &prefs[communication]=&prefs[feature]=",
            id.0
        )
    };
    let r = c.post("/api/set_preferences", Some(&token), &prefs("%7B%22theme%22%3A+%22dark%22%7D")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stored = c.storage.preferences(&id).unwrap();
    assert_eq!(
        (stored.ui.as_deref(), stored.privacy.as_deref()),
        (Some(r#"{"theme":"dark"}"#), Some(r#"{"public":false}"#))
    );
    for bad in ["%5B1%2C2%5D", "%7Bnot+json"] {
        let r = c.post("/api/set_preferences", Some(&token), &prefs(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    assert_eq!(c.storage.preferences(&id).unwrap(), stored, "nothing changed");
    assert_eq!(c.actions()[0], "user.preferences");
}

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
    let secret = link.link.rsplit('/').next().unwrap().to_string();
    let outbox = std::fs::read_to_string(c.dir.path().join("outbox.txt")).unwrap();
    assert!(outbox.contains("To: ivy@example.com") && outbox.contains(&link.link), "{outbox}");
    let stored: String = rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .query_row("SELECT invitation_token FROM pf_user_invitations WHERE email = 'ivy@example.com'", [], |r| r.get(0))
        .unwrap();
    assert_ne!(stored, secret, "only the hash is kept");
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

/// A bulk action on the users filter: a preview count, then each matching user
/// changed in their own transaction with their own audit row; never the caller.
#[tokio::test]
async fn bulk_actions_change_everyone_the_filter_matches() {
    let c = Console::new();
    let token = c.token("root").await;
    for i in 0..7 {
        common::add_user(c.storage.as_ref(), &format!("bulk_b{i}"), "active", &[]);
    }
    common::add_user(c.storage.as_ref(), "other_one", "active", &[]);
    let filter = "q=bulk_b&mode=prefix&status=active";
    assert_eq!(c.post("/api/bulk_preview", Some(&token), filter).await.body, "7");
    let before = c.actions().len();
    let r = c.post("/api/bulk_apply", Some(&token), &format!("{filter}&action=status&value=suspended")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, r#"{"changed":7,"failed":0}"#);
    assert_eq!(c.actions().len(), before + 7, "one audit row per user");
    assert_eq!(c.post("/api/bulk_preview", Some(&token), filter).await.body, "0");
    let other = c.user_id("other_one");
    assert_eq!(c.storage.user_profile(&other).unwrap().summary.account_status, "active", "outside the filter");
    let bad = c.post("/api/bulk_apply", Some(&token), &format!("{filter}&action=status&value=frozen")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Everyone active, the caller too: the caller is left out.
    let all = "q=&mode=&status=active&action=revoke_sessions&value=";
    let r = c.post("/api/bulk_apply", Some(&token), all).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::OK, "the caller's session stays");

    // Groups: everyone the filter matches into one, then one user out again on their
    // page, and a user created in one; an unknown group is a 400 that changes nothing.
    sqlite_exec(
        &c,
        "INSERT INTO pf_user_groups (group_id, group_name, priority) VALUES
         ('01JGROUPBETA00000000000000', 'beta', 1), ('01JGROUPSTAFF0000000000000', 'staff', 2)",
    );
    let groups = c.post("/api/groups", Some(&token), "").await;
    assert_eq!(groups.status, StatusCode::OK);
    assert!(groups.body.find("beta") < groups.body.find("staff"), "by name: {}", groups.body);
    let filter = "q=bulk_b&mode=prefix&status=suspended";
    let before = c.actions().len();
    let bad = c.post("/api/bulk_apply", Some(&token), &format!("{filter}&action=group&value=01JNOSUCH")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(c.actions().len(), before);
    let r = c
        .post("/api/bulk_apply", Some(&token), &format!("{filter}&action=group&value=01JGROUPBETA00000000000000"))
        .await;
    assert_eq!(r.body, r#"{"changed":7,"failed":0}"#);
    assert_eq!(c.actions()[..7], ["user.group.bulk"; 7]);
    let b0 = c.user_id("bulk_b0");
    assert_eq!(c.storage.user_profile(&b0).unwrap().group.unwrap().group_name, "beta");
    assert_eq!(c.storage.user_profile(&other).unwrap().group, None, "outside the filter");
    let moved = c.post("/api/set_user_group", Some(&token), &format!("user_id={b0}&group_id=")).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(c.storage.user_profile(&b0).unwrap().group, None);
    assert_eq!(c.actions()[0], "user.group");
    let made = c
        .post(
            "/api/create_user",
            Some(&token),
            "username=grouped_gil&email=gil%40example.com&first_name=Gil&last_name=G&account_status=active&group_id=01JGROUPSTAFF0000000000000",
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let gil = c.user_id("grouped_gil");
    assert_eq!(c.storage.user_profile(&gil).unwrap().group.unwrap().group_name, "staff");
    let sre = c.token("sre_sam").await;
    assert_eq!(
        c.post("/api/set_user_group", Some(&sre), &format!("user_id={gil}&group_id=")).await.status,
        StatusCode::FORBIDDEN
    );
}

/// The filtered users list streams as CSV (formulas kept as text) or NDJSON, for
/// admins, audited.
#[tokio::test]
async fn the_users_list_exports_as_csv_and_ndjson() {
    let c = Console::new();
    let token = c.token("root").await;
    for i in 0..450 {
        common::add_user(c.storage.as_ref(), &format!("exp_{i:03}"), "active", &[]);
    }
    sqlite_exec(&c, "UPDATE pf_users SET first_name = '=HYPERLINK(\"x\")' WHERE username = 'exp_007'");
    let csv = c.send(Method::GET, "/export/users?q=exp_&match=prefix&format=csv", Some(&token), None, "").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 451, "a header and every user across three pages");
    assert!(lines[0].starts_with("user_id,username,email"));
    assert!(csv.body.contains("'=HYPERLINK"), "a formula is kept as text");
    let nd = c.send(Method::GET, "/export/users?q=exp_&match=prefix&format=ndjson", Some(&token), None, "").await;
    let rows: Vec<serde_json::Value> = nd.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 450);
    assert_eq!(rows[0]["username"], "exp_000");
    assert_eq!(c.actions()[0], "users.export");
    let sre = c.token("sre_sam").await;
    assert_eq!(
        c.send(Method::GET, "/export/users?format=csv", Some(&sre), None, "").await.status,
        StatusCode::FORBIDDEN
    );
    let bad = c.send(Method::GET, "/export/users?format=xlsx", Some(&token), None, "").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// Compliance reviewers search the audit log (each search audited), open an event,
/// export exactly the filter (formulas neutralised, the count recorded at the end),
/// see the chart, and verify the chain in the background; hostile filter values get
/// a sentence and run nothing.
#[tokio::test]
async fn compliance_reviewers_search_export_and_verify_the_audit_log() {
    let c = Console::new();
    let token = c.token("comp_cy").await;
    let suspect = common::add_user(c.storage.as_ref(), "audit_suspect", "active", &[]);
    for i in 0..120 {
        let mut e = common::audit(if i % 2 == 0 { "probe.read" } else { "probe.write" });
        e.actor = Some(suspect.clone());
        e.response_status = if i % 10 == 0 { 403 } else { 200 };
        e.error_message = (i == 7).then(|| "=HYPERLINK(\"http://x\")".to_string());
        c.storage.append_audit(&e).unwrap();
    }
    // The page, filtered by actor and action prefix: the events and the facets.
    let page = c.send(Method::GET, "/audit?actor=audit_suspect&action=probe.&size=50", Some(&token), None, "").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body.matches("data-test-id=\"event-link\"").count(), 50, "a page of 50");
    assert!(page.body.contains("data-test-id=\"next-page\""));
    assert!(page.body.contains("120 events"), "the exact count: {}", page.body);
    assert_eq!(c.actions()[0], "audit.search", "the search itself is audited");
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert!(row.error_message.unwrap().contains("actor=audit_suspect"), "with its filter");
    // Hostile values: a sentence and a 400; wildcard characters are plain text.
    for (q, status) in [
        ("size=-1", StatusCode::BAD_REQUEST),
        ("range=custom&from=0000-01-01", StatusCode::BAD_REQUEST),
        ("range=custom&from=2026-01-01T10:00&to=99999-01-01", StatusCode::BAD_REQUEST),
        ("status=%27%20OR%201%3D1--", StatusCode::BAD_REQUEST),
        ("actor=nobody_here", StatusCode::BAD_REQUEST),
        ("text=%25", StatusCode::OK),
        ("text=_&action=%27%20OR%201%3D1--", StatusCode::OK),
        ("path=%25%25", StatusCode::OK),
    ] {
        let r = c.send(Method::GET, &format!("/audit?{q}"), Some(&token), None, "").await;
        assert_eq!(r.status, status, "{q}: {}", r.body);
        if status == StatusCode::BAD_REQUEST {
            assert!(r.body.contains("data-test-id=\"error\""), "{q} says why");
        }
    }
    // 100 KB does not fit in a URL (the HTTP layer refuses one over 64 KB): the
    // server function takes it in a body, and refuses it with a sentence.
    let long = format!("params[text]={}", "x".repeat(100_000));
    let r = c.post("/api/audit_search", Some(&token), &long).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("at most 200 characters"), "{}", r.body);
    // One event's page: every column, with a link to its actor.
    let first = c
        .storage
        .search_audit(&pathfinder::audit::AuditFilter {
            actor: Some("audit_suspect".into()),
            page_size: 1,
            ..Default::default()
        })
        .unwrap()
        .events
        .remove(0);
    let event = c.send(Method::GET, &format!("/audit/{}", first.id), Some(&token), None, "").await;
    assert_eq!(event.status, StatusCode::OK);
    assert!(event.body.contains(&format!("/users/{}", suspect.0)) && event.body.contains(&first.chain_hash.unwrap()));
    assert_eq!(c.actions()[0], "audit.event.view");
    // The export: exactly the filter, formulas neutralised, audited at both ends.
    let csv = c.send(Method::GET, "/export/audit?actor=audit_suspect&format=csv", Some(&token), None, "").await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 121, "a header and 120 events");
    assert!(lines[0].starts_with("id,created_at,user_id,action"));
    assert!(csv.body.contains("'=HYPERLINK"), "a formula is kept as text");
    let rows = c.storage.recent_audit(5).unwrap();
    let done = rows.iter().find(|r| r.action == "audit.export.done").expect("the export's end is audited");
    assert_eq!(done.error_message.as_deref(), Some("120 events"));
    assert!(rows.iter().any(|r| r.action == "audit.export"
        && r.error_message.as_deref().is_some_and(|m| m.contains("actor=audit_suspect") && m.contains("csv"))));
    let nd = c.send(Method::GET, "/export/audit?actor=audit_suspect&format=ndjson", Some(&token), None, "").await;
    let first: serde_json::Value = serde_json::from_str(nd.body.lines().next().unwrap()).unwrap();
    assert_eq!(first["user_id"], suspect.0.as_str());
    assert!(first["chain_seq"].is_i64());
    let bad = c.send(Method::GET, "/export/audit?actor=nobody_here&format=csv", Some(&token), None, "").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The chart is an SVG image drawn by the server.
    let chart = c.send(Method::GET, "/charts/audit.svg?range=24h&action=probe.", Some(&token), None, "").await;
    assert_eq!(chart.status, StatusCode::OK);
    assert_eq!(chart.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(chart.body.starts_with("<svg") && chart.body.contains("Events per hour"), "{}", chart.body);
    // Verify runs in the background; its state is in the database.
    let started = c.post("/api/start_audit_job", Some(&token), "kind=verify&params[range]=").await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let id: String = serde_json::from_str(&started.body).unwrap();
    let mut job = None;
    for _ in 0..100 {
        let r = c.post("/api/audit_job", Some(&token), &format!("id={id}")).await;
        let j: pathfinder::audit::AuditJob = serde_json::from_str(&r.body).unwrap();
        if j.finished_at.is_some() {
            job = Some(j);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let job = job.expect("the verification ends");
    assert_eq!(job.outcome.as_deref(), Some("ok"), "{:?}", job.result);
    assert!(job.result.unwrap().contains("intact"));
    // SREs have no business in anyone's trail.
    let sre = c.token("sre_sam").await;
    assert_eq!(c.send(Method::GET, "/audit", Some(&sre), None, "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        c.send(Method::GET, "/export/audit?format=csv", Some(&sre), None, "").await.status,
        StatusCode::FORBIDDEN
    );
}

/// A download the client abandons stops the export's query; its end is audited as
/// cut short, with how many events went out.
#[tokio::test]
async fn a_cancelled_audit_export_stops_its_query() {
    let c = Console::new();
    let token = c.token("comp_cy").await;
    let mut batch = pathfinder::storage::TableRows::new("pf_audit_log", pathfinder_server::generate::AUDIT_COLUMNS);
    let at = chrono::Utc::now();
    for i in 0..30_000i64 {
        batch.push(vec![
            pathfinder::storage::Value::Text(pathfinder::new_id()),
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Text("probe.bulk".into()),
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Text("192.0.2.1".into()),
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Text("GET".into()),
            pathfinder::storage::Value::Text("/probe".into()),
            pathfinder::storage::Value::Int(200),
            pathfinder::storage::Value::Int(i),
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Time(at - chrono::Duration::milliseconds(i)),
        ]);
    }
    pathfinder::storage::BulkStore::insert_batch(c.storage.as_ref(), &[batch], &common::audit("probe.load")).unwrap();
    let req = Request::builder()
        .uri("/export/audit?action=probe.bulk&format=csv")
        .header(header::HOST, HOST)
        .header(header::COOKIE, format!("pf_session={token}"))
        .body(Body::empty())
        .unwrap();
    let resp = c.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.data_ref().is_some_and(|d| d.starts_with(b"id,created_at")), "the first bytes come at once");
    drop(body);
    let mut done = None;
    for _ in 0..200 {
        done = c.storage.recent_audit(20).unwrap().into_iter().find(|r| r.action == "audit.export.done");
        if done.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let done = done.expect("the export's end is audited");
    assert_eq!(done.response_status, Some(499), "{:?}", done.error_message);
    let sent: u64 = done.error_message.unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(sent < 30_000, "the query stopped early: {sent} events");
}

/// Without a token, metrics answer only scrapes from this machine.
#[tokio::test]
async fn metrics_without_a_token_answer_only_on_loopback() {
    let c = Console::with_metrics_token(None);
    let scrape = |peer: &str| {
        let mut req = Request::builder().uri("/metrics").header(header::HOST, HOST).body(Body::empty()).unwrap();
        let addr: std::net::SocketAddr = peer.parse().unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
        c.exchange(req)
    };
    let (status, body) = scrape("192.0.2.7:40000").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("PF_METRICS_TOKEN"), "{body}");
    let (status, body) = scrape("127.0.0.1:40000").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("pathfinder_http_requests_in_flight"), "{body}");
    assert_eq!(scrape("[::1]:40000").await.0, StatusCode::OK);
}

/// A caller's mistakes answer 4xx with a sentence, never 500.
#[tokio::test]
async fn client_mistakes_are_not_server_errors() {
    let c = Console::new();
    let token = c.token("root").await;
    let send = |content_type: &'static str, body: Vec<u8>| {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/users")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::COOKIE, format!("pf_session={token}"))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, body.len());
        c.exchange(req.body(Body::from(body)).unwrap())
    };
    let form = "application/x-www-form-urlencoded";
    for (what, content_type, body, status) in [
        ("JSON", "application/json", br#"{"q":""}"#.to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("multipart", "multipart/form-data; boundary=x", b"--x--".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("a missing field", form, b"q=".to_vec(), StatusCode::BAD_REQUEST),
        ("bad UTF-8", form, b"q=\xff\xfe&mode=&status=&sort=&dir=&after=".to_vec(), StatusCode::BAD_REQUEST),
        ("a body over the limit", form, vec![b'a'; 3 << 20], StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let (got, body) = send(content_type, body).await;
        assert_eq!(got, status, "{what}: {body}");
        assert!(!body.contains("Something went wrong"), "{what}: {body}");
    }
}

/// DNS rebinding: a page on another host name that resolves to the console cannot
/// read metrics or sign in; health checks answer whatever name they use.
#[tokio::test]
async fn other_host_names_are_refused() {
    let c = Console::new();
    let as_host = |host: &'static str, method: Method, path: &'static str, body: &'static str| {
        let mut req = Request::builder().method(method).uri(path).header(header::HOST, host);
        if !body.is_empty() {
            req = req.header(header::ORIGIN, format!("http://{host}"));
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let exchange = c.exchange(req.body(Body::from(body)).unwrap());
        async move { exchange.await.0 }
    };
    let form = "username=root&password=a+long+test+password";
    assert_eq!(as_host("evil.example:3000", Method::POST, "/auth/login", form).await, StatusCode::BAD_REQUEST);
    assert_eq!(as_host("evil.example", Method::GET, "/metrics", "").await, StatusCode::BAD_REQUEST);
    assert_eq!(as_host("evil.example", Method::GET, "/login", "").await, StatusCode::BAD_REQUEST);
    assert_eq!(as_host("evil.example", Method::GET, "/healthz", "").await, StatusCode::OK);
    assert_eq!(as_host("console.test:8443", Method::GET, "/login", "").await, StatusCode::OK);
    assert!(!c.actions().contains(&"login.success".to_string()), "no sign-in went through");
}

/// Public paths do not read the session from the database, so they stay up when it
/// fails; dot segments never reach the policy; a revoked session's cookie is cleared.
#[tokio::test]
async fn public_paths_stay_up_without_the_database_and_dot_segments_are_refused() {
    let c = Console::new();
    let token = c.token("root").await;
    for path in ["/pkg/../users", "/pkg/%2e%2e/users", "/pkg/%2E%2e/api/users", "/users/./x", "/pkg/..%2fusers"] {
        let r = c.send(Method::GET, path, Some(&token), None, "").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
    }
    // A revoked session: back to sign-in with the cookie cleared (no redirect loop).
    let other = c.token("root").await;
    c.post("/auth/logout", Some(&other), "").await;
    let r = c.send(Method::GET, "/users", Some(&other), None, "").await;
    assert_eq!(r.headers[header::LOCATION], "/login");
    assert!(r.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));

    rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .execute_batch("ALTER TABLE pf_user_sessions RENAME TO pf_user_sessions_gone")
        .unwrap();
    assert_eq!(c.send(Method::GET, "/users", Some(&token), None, "").await.status, StatusCode::INTERNAL_SERVER_ERROR);
    let health = c.send(Method::GET, "/healthz", Some(&token), None, "").await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, "ok"));
    let asset = c.send(Method::GET, "/pkg/pathfinder.css", Some(&token), None, "").await;
    assert_ne!(asset.status, StatusCode::INTERNAL_SERVER_ERROR);
    let login = c.send(Method::GET, "/login", Some(&token), None, "").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "a valid token is checked without the database");
    let login = c.send(Method::GET, "/login", None, None, "").await;
    assert_eq!(login.status, StatusCode::OK);
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
    assert_eq!((count("login.failure"), count("login.locked")), (5, 5), "{actions:?}");
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

    // Every later lock lasts longer, up to the cap.
    let cap = LockoutPolicy::default().max_lock;
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
        assert!(lasts <= cap, "lock {} lasts {lasts}", g.lockouts);
    }
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

fn claims(token: &str) -> Claims {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
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
    let refused = c.storage.set_account_status(&id, "suspended", &common::audit("user.suspend"));
    assert!(matches!(refused, Err(pathfinder::AppError::Conflict(_))), "{refused:?}");
    common::add_user(c.storage.as_ref(), "second_admin", "active", &[Role::Admin]);
    c.storage.set_account_status(&id, "suspended", &common::audit("user.suspend")).unwrap();
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let c = Console::new();
    let sessions = || c.storage.overview(chrono::Utc::now()).unwrap().active_sessions;
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

/// Every policy entry, walked without a session and with each role.
#[tokio::test]
async fn every_route_and_server_function_follows_the_policy() {
    let c = Console::new();
    // Every registered server function has a policy entry, and no entry names a missing one.
    let registered: std::collections::BTreeSet<String> =
        leptos::server_fn::axum::server_fn_paths().map(|(p, _)| p.to_string()).collect();
    let listed: std::collections::BTreeSet<String> =
        POLICY.iter().map(|(p, _)| p.to_string()).filter(|p| p.starts_with("/api/")).collect();
    assert!(!registered.is_empty());
    assert_eq!(registered, listed);

    let tokens = [
        (Role::Admin, c.token("root").await),
        (Role::Sre, c.token("sre_sam").await),
        (Role::Compliance, c.token("comp_cy").await),
    ];
    // A user every allowed request can act on, so that "allowed" means answered.
    let target = common::add_user(c.storage.as_ref(), "walk_target", "active", &[]);
    let fields = SensitiveFields { phone_number: Some("+1 555 0100".into()), ..Default::default() };
    c.storage.set_sensitive_fields(&target, &fields, &common::audit("user.sensitive.update")).unwrap();
    let victim = common::add_user(c.storage.as_ref(), "walk_victim", "active", &[]);
    sqlite_exec(
        &c,
        &format!(
            "INSERT INTO pf_sso_accounts (sso_account_id, user_id, provider, provider_user_id) VALUES ('WALK', '{}', 'x', 'y')",
            target.0
        ),
    );
    let walk_invitation = {
        let r =
            c.post("/api/create_invitation", Some(&tokens[0].1), "email=walk_pending%40example.com&role=user").await;
        serde_json::from_str::<pathfinder::dto::InvitationLink>(&r.body).unwrap().invitation_id
    };
    // A session nobody else uses, for the admin to end.
    let spare = claims(&c.token("comp_cy").await).sid;
    // An audit event to open, and an audit job to follow.
    let event = c.storage.recent_audit(1).unwrap()[0].id.clone();
    let job = c
        .storage
        .start_audit_job(pathfinder::audit::AuditJobKind::Count, "walk", &common::audit("audit.count.begin"))
        .unwrap();
    // Flags, groups, an override and a key for the flag functions.
    let (walk_group, walk_override, walk_key) = {
        use pathfinder::flags::{FlagEdit, GroupEdit, OverrideEdit, Target};
        use pathfinder::storage::FlagStore;
        let s = c.storage.as_ref();
        let a = |x: &str| common::audit(x);
        let flag = |key: &str| FlagEdit {
            key: key.into(),
            name: key.into(),
            flag_type: "boolean".into(),
            default_value: "false".into(),
            ..Default::default()
        };
        s.create_flag(&flag("walk.flag"), &a("flag.create")).unwrap();
        s.create_flag(&flag("walk.doomed"), &a("flag.create")).unwrap();
        let g = s.save_group(None, &GroupEdit { name: "walk_group".into(), ..Default::default() }, &a("g")).unwrap();
        let edit = OverrideEdit { value: "true".into(), reason: "walk".into(), expires_at: None };
        let o = s.set_override("walk.flag", &Target::User("walk_victim".into()), &edit, &a("o")).unwrap();
        let (_, hash, prefix) = pathfinder::secret::new_api_key();
        let k = s.create_api_key("walk", &hash, &prefix, &a("k")).unwrap();
        (g.group_id, o.override_id, k.key_id)
    };
    let walk_policy = {
        let edit = pathfinder::retention::PolicyEdit {
            table_pattern: "pf_user_analytics".into(),
            retention_days: 90,
            archive_enabled: false,
            delete_enabled: true,
        };
        c.storage.save_retention_policy(None, &edit, &common::audit("retention.policy.create")).unwrap().id
    };
    let body_for = |path: &str| match path {
        "/api/save_retention" => "table_pattern=pf_user_sessions&retention_days=30&delete=on".to_string(),
        "/api/delete_retention" => format!("id={walk_policy}"),
        "/api/run_retention" => "dry_run=on".to_string(),
        "/api/flags" | "/api/flag_groups" | "/api/api_keys" => "q=".to_string(),
        "/api/flag" => "key=walk.flag".to_string(),
        "/api/flag_group" => format!("group_id={walk_group}"),
        "/api/add_group_member" => format!("group_id={walk_group}&username=walk_target"),
        "/api/user_overrides" => format!("user_id={}", target.0),
        "/api/save_flag" => "key=walk.new&name=Walk&flag_type=boolean&default_value=false".to_string(),
        "/api/delete_flag" => "key=walk.doomed".to_string(),
        "/api/set_override" => "key=walk.flag&user=walk_target&value=true&reason=walk".to_string(),
        "/api/delete_override" => format!("override_id={walk_override}"),
        "/api/evaluate_flag" => "key=walk.flag&user=walk_target".to_string(),
        "/api/user_flags" => format!("user_id={}", target.0),
        "/api/save_group" => "name=walk_group_2".to_string(),
        "/api/delete_group" => format!("group_id={walk_group}"),
        "/api/create_api_key" => "name=walk_service".to_string(),
        "/api/revoke_api_key" => format!("key_id={walk_key}"),
        "/api/user_detail"
        | "/api/reveal_sensitive"
        | "/api/rotate_user_key"
        | "/api/unlock_sign_in"
        | "/api/reset_mfa" => {
            format!("user_id={}", target.0)
        }
        "/api/set_user_status" => format!("user_id={}&status=active", target.0),
        "/api/set_console_roles" => format!("user_id={}&sre=on", target.0),
        "/api/bulk_preview" => "q=walk_target&mode=prefix&status=".to_string(),
        "/api/bulk_apply" => "q=walk_target&mode=prefix&status=&action=status&value=active".to_string(),
        "/api/create_invitation" => "email=walk_invitee%40example.com&role=user".to_string(),
        "/api/resend_invitation" | "/api/withdraw_invitation" => format!("invitation_id={walk_invitation}"),
        "/api/update_profile" => format!(
            "user_id={}&edit[email]=walk_target%40example.com&edit[first_name]=&edit[last_name]=&edit[timezone]=\
             &edit[language]=&edit[current_title]=&edit[current_company]=",
            target.0
        ),
        "/api/set_preferences" => format!(
            "user_id={}&prefs[notification]=&prefs[privacy]=&prefs[ui]=&prefs[communication]=&prefs[feature]=",
            target.0
        ),
        "/api/create_user" => {
            "username=walk_created&email=walk%40example.com&first_name=&last_name=&account_status=pending".to_string()
        }
        "/api/count_sessions" | "/api/revoke_sessions" => "user_id=&started_before=&ip_address=192.0.2.250".to_string(),
        "/api/revoke_session" => format!("session_id={spare}"),
        "/api/unlink_sso" | "/api/set_primary_sso" => format!("user_id={}&sso_account_id=WALK", target.0),
        "/api/provision_user_tables" => format!("user_id={}", target.0),
        "/api/drop_user_tables" => format!("user_id={}&confirm=walk_target", target.0),
        "/api/set_sensitive" => {
            format!("user_id={}&phone_number=%2B1+555+0100&date_of_birth=&gender=&nationality=", target.0)
        }
        "/api/delete_user" => format!("user_id={}&confirm=walk_victim", victim.0),
        "/api/key_inventory" => "after=".to_string(),
        "/api/set_user_group" => format!("user_id={}&group_id=", target.0),
        "/api/start_key_rotation" => "scope=overdue".to_string(),
        "/api/audit_search" | "/api/audit_facets" => "params[range]=30d&params[actor]=walk_target".to_string(),
        "/api/audit_event" => format!("id={event}"),
        "/api/start_audit_job" => "kind=count&params[actor]=walk_target".to_string(),
        "/api/audit_job" => format!("id={job}"),
        _ => "q=&mode=&status=&sort=&dir=&after=".to_string(),
    };
    let mut walked = 0;
    for (pattern, access) in POLICY {
        let Access::Roles(allowed) = access else { continue };
        let id = match pattern {
            p if p.starts_with("/audit/") => event.as_str(),
            p if p.starts_with("/flags/") => "walk.flag",
            p if p.starts_with("/groups/") => walk_group.as_str(),
            _ => target.0.as_str(),
        };
        let path = pattern.replace(":id", id);
        let api = path.starts_with("/api/");
        let call = |token: Option<String>| {
            let (path, body) = (path.clone(), body_for(&path));
            let c = &c;
            async move {
                if api {
                    c.post(&path, token.as_deref(), &body).await
                } else {
                    c.send(Method::GET, &path, token.as_deref(), None, "").await
                }
            }
        };
        let anon = call(None).await;
        if api {
            assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{pattern} without a session");
        } else {
            assert_eq!(anon.status, StatusCode::SEE_OTHER, "{pattern} without a session");
        }
        for (role, token) in &tokens {
            let r = call(Some(token.clone())).await;
            if allowed.contains(role) {
                assert_eq!(r.status, StatusCode::OK, "{role} on {pattern}: {}", r.body);
                assert!(!r.body.contains("data-test-id=\"error\""), "{role} on {pattern} shows an error: {}", r.body);
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} on {pattern}");
            }
        }
        walked += 1;
    }
    assert!(walked >= 6);
    // SREs read flags and groups without the forms that edit them.
    let read_group = {
        use pathfinder::storage::FlagStore;
        let edit = pathfinder::flags::GroupEdit { name: "walk_read".into(), ..Default::default() };
        c.storage.save_group(None, &edit, &common::audit("g")).unwrap().group_id
    };
    let group_page = format!("/groups/{read_group}");
    for (role, token) in &tokens {
        for (page, form) in [
            ("/groups", "New group"),
            ("/flags/walk.flag", "data-test-id=\"override-form\""),
            (group_page.as_str(), "data-test-id=\"member-add\""),
        ] {
            let body = c.send(Method::GET, page, Some(token), None, "").await.body;
            assert_eq!(body.contains(form), *role == Role::Admin, "{role} on {page}");
        }
    }
    // Paths nobody listed are refused, whoever asks.
    for path in ["/api/drop_everything", "/admin", "/users/1/2"] {
        assert_eq!(
            c.send(Method::GET, path, Some(&tokens[0].1), None, "").await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn metrics_need_the_bearer_token_and_carry_no_user_names() {
    let c = Console::new();
    let token = c.token("root").await;
    c.login("root", "wrong password").await;
    c.send(Method::GET, "/users", Some(&token), None, "").await;
    c.send(Method::from_bytes(b"BREW").unwrap(), "/healthz", None, Some(&format!("http://{HOST}")), "").await;
    assert_eq!(c.send(Method::GET, "/metrics", None, None, "").await.status, StatusCode::UNAUTHORIZED);
    let req = Request::builder()
        .uri("/metrics")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {METRICS_TOKEN}"));
    let resp = c.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    for metric in [
        "pathfinder_http_request_duration_seconds_bucket{method=\"GET\",route=\"/users\",status=\"200\"",
        "pathfinder_http_requests_in_flight",
        "pathfinder_db_connections{state=\"active\"}",
        "pathfinder_db_connections{state=\"idle\"}",
        "pathfinder_db_connections_max 4",
        "pathfinder_db_connections_min 0",
        "pathfinder_db_connections_pending 0",
        "pathfinder_db_connections_acquire_seconds_count",
        "pathfinder_db_connections_usage_seconds_count",
        "pathfinder_db_connections_timeout_total",
        "pathfinder_logins_total{outcome=\"success\"}",
        "pathfinder_logins_total{outcome=\"failure\"}",
        "pathfinder_http_request_duration_seconds_count{method=\"other\",route=\"/healthz\"",
    ] {
        assert!(body.contains(metric), "{metric} missing from\n{body}");
    }
    assert!(!body.contains("root") && !body.contains("example.com") && !body.contains("BREW"));
    assert_eq!(c.send(Method::GET, "/healthz", None, None, "").await.body, "ok");
    assert_eq!(c.send(Method::GET, "/readyz", None, None, "").await.body, "ready");
}

#[tokio::test]
async fn database_errors_reach_the_browser_only_as_a_reference() {
    let c = Console::new();
    let token = c.token("root").await;
    rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .execute_batch("ALTER TABLE pf_users RENAME COLUMN email TO email_gone")
        .unwrap();
    let api = c.post("/api/users", Some(&token), "q=&mode=&status=&sort=&dir=&after=").await;
    assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", api.body);
    assert!(api.body.contains("Internal"), "{}", api.body);
    let page = c.send(Method::GET, "/users", Some(&token), None, "").await;
    assert!(page.body.contains("Something went wrong on our side (reference "), "{}", page.body);
    for leak in ["no such column", "SELECT ", "pf_users", "sqlite", "rusqlite"] {
        assert!(!api.body.contains(leak) && !page.body.contains(leak), "{leak} leaked");
    }
    let bad = c.post("/api/users", Some(&token), "q=&mode=&status=bogus&sort=&dir=&after=").await;
    assert!(bad.body.contains("Unknown status"), "{}", bad.body);
}

#[tokio::test]
async fn when_the_audit_log_cannot_be_written_nothing_changes() {
    let c = Console::new();
    let token = c.token("root").await;
    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    db.execute_batch("CREATE TRIGGER audit_down BEFORE INSERT ON pf_audit_log BEGIN SELECT RAISE(ABORT, 'down'); END;")
        .unwrap();
    let sessions = || c.storage.overview(chrono::Utc::now()).unwrap().active_sessions;
    let before = sessions();

    // Sign-in: no session is opened, and the browser is told to try again.
    let r = c.login("root", PASSWORD).await;
    assert_eq!(r.headers[header::LOCATION], "/login?error=unavailable");
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(sessions(), before);

    // Sign-out: the session stays open rather than end unaudited.
    let out = c.post("/auth/logout", Some(&token), "").await;
    assert_eq!(out.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(out.body.contains("reference"), "{}", out.body);
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::OK, "still signed in");

    // A failed sign-in counts nothing either.
    c.login("root", "wrong password").await;
    assert_eq!(c.storage.sign_in_state(&c.user_id("root")).unwrap().guard.failed_attempts, 0);

    // The attempts whose outcome could not be written let go of the account's lease:
    // once the log is back, the next sign-in goes through at once.
    // (A lease still held would make it wait 10 s and answer "unavailable".)
    db.execute_batch("DROP TRIGGER audit_down").unwrap();
    assert_eq!(c.login("root", PASSWORD).await.headers[header::LOCATION], "/");
}

#[tokio::test]
async fn an_admin_changes_a_status_with_its_audit_row() {
    let c = Console::new();
    let token = c.token("root").await;
    let root = c.storage.user_id_by_username(&Username::parse("root").unwrap()).unwrap().unwrap();
    let pat = common::add_user(c.storage.as_ref(), "pat", "active", &[]);
    let status_of = |id: &UserId| c.storage.user_profile(id).unwrap().summary.account_status;

    let r = c.post("/api/set_user_status", Some(&token), &format!("user_id={pat}&status=suspended")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(status_of(&pat), "suspended");
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "user.status.suspended");
    assert_eq!((row.user_id.as_deref(), row.entity_id.as_deref()), (Some(root.as_str()), Some(pat.as_str())));
    assert_eq!(row.request_path.as_deref(), Some("/api/set_user_status"));

    // Bad input: a clear error, nothing changed, nothing audited.
    let before = c.actions().len();
    for (body, says) in [
        (format!("user_id={pat}&status=frozen"), "Unknown account status"),
        (format!("user_id={root}&status=suspended"), "your own account"),
        ("user_id=01HZZZZZZZZZZZZZZZZZZZZZZZ&status=active".to_string(), "NotFound"),
    ] {
        let r = c.post("/api/set_user_status", Some(&token), &body).await;
        assert!(r.status.is_client_error(), "{body}: {}", r.status);
        assert!(r.body.to_lowercase().contains(&says.to_lowercase()), "{body}: {}", r.body);
    }
    assert_eq!(status_of(&pat), "suspended");
    assert_eq!(status_of(&root), "active");
    assert_eq!(c.actions().len(), before);
}

/// Sensitive fields in the clear go to administrators only, and each read is an
/// audit row naming who read whose fields; the key inventory to admins and compliance.
#[tokio::test]
async fn sensitive_fields_are_revealed_to_admins_only_and_every_read_is_audited() {
    let c = Console::new();
    let admin = c.token("root").await;
    let root = c.storage.user_id_by_username(&Username::parse("root").unwrap()).unwrap().unwrap();
    let pat = common::add_user(c.storage.as_ref(), "pat", "active", &[]);
    let reads = || c.actions().iter().filter(|a| *a == "user.sensitive.read").count();

    let set = format!("user_id={pat}&phone_number=%2B1+555+0177&date_of_birth=1991-04-05&gender=&nationality=Dutch");
    let r = c.post("/api/set_sensitive", Some(&admin), &set).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.storage.recent_audit(1).unwrap()[0].action, "user.sensitive.update");

    // The user page says which fields are stored, never their values.
    let page = c.send(Method::GET, &format!("/users/{pat}"), Some(&admin), None, "").await;
    assert!(page.body.contains("phone number, date of birth, nationality"), "{}", page.body);
    assert!(!page.body.contains("0177") && !page.body.contains("Dutch"));

    for who in ["sre_sam", "comp_cy"] {
        let token = c.token(who).await;
        let r = c.post("/api/reveal_sensitive", Some(&token), &format!("user_id={pat}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
        assert!(!r.body.contains("0177") && !r.body.contains("Dutch"), "{who}: {}", r.body);
    }
    let anon = c.post("/api/reveal_sensitive", None, &format!("user_id={pat}")).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reads(), 0, "refused reads read nothing");

    let r = c.post("/api/reveal_sensitive", Some(&admin), &format!("user_id={pat}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let got: SensitiveFields = serde_json::from_str(&r.body).unwrap();
    assert_eq!(got.phone_number.as_deref(), Some("+1 555 0177"));
    assert_eq!((got.date_of_birth.as_deref(), got.nationality.as_deref()), (Some("1991-04-05"), Some("Dutch")));
    assert_eq!(reads(), 1);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "user.sensitive.read");
    assert_eq!((row.user_id.as_deref(), row.entity_id.as_deref()), (Some(root.as_str()), Some(pat.as_str())));
    c.post("/api/reveal_sensitive", Some(&admin), &format!("user_id={pat}")).await;
    assert_eq!(reads(), 2, "every read, not only the first");

    // Bad input: a clear error, nothing changed.
    let r = c
        .post(
            "/api/set_sensitive",
            Some(&admin),
            &format!("user_id={pat}&phone_number=call+me&date_of_birth=&gender=&nationality="),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("phone number"), "{}", r.body);

    // Rotation from the console; the inventory for admins and compliance reviewers.
    let r = c.post("/api/rotate_user_key", Some(&admin), &format!("user_id={pat}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.storage.key_of(&pat, 90).unwrap().unwrap().rotation_count, 1);
    let comp = c.token("comp_cy").await;
    let inv = c.post("/api/key_inventory", Some(&comp), "after=").await;
    assert_eq!(inv.status, StatusCode::OK);
    assert!(inv.body.contains("\"username\":\"pat\"") && !inv.body.contains("key_encrypted"), "{}", inv.body);
    assert_eq!(
        c.post("/api/rotate_user_key", Some(&comp), &format!("user_id={pat}")).await.status,
        StatusCode::FORBIDDEN
    );

    // Deleting: the username typed again, never oneself; the key is destroyed with the user.
    let r = c.post("/api/delete_user", Some(&admin), &format!("user_id={pat}&confirm=pa")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.post("/api/delete_user", Some(&admin), &format!("user_id={root}&confirm=root")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.post("/api/delete_user", Some(&admin), &format!("user_id={pat}&confirm=pat")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(c.storage.key_of(&pat, 90).unwrap().is_none());
    assert_eq!(c.storage.recent_audit(1).unwrap()[0].action, "user.delete");
}

/// An administrator starts a rotation of every overdue key from the Keys page; it
/// runs in the background, one key per transaction, and the page shows how it ended.
#[tokio::test]
async fn an_admin_rotates_the_overdue_keys_in_the_background() {
    let c = Console::new();
    let admin = c.token("root").await;
    let fields = SensitiveFields { phone_number: Some("+1 555 0100".into()), ..Default::default() };
    let ids: Vec<UserId> = (0..5)
        .map(|i| {
            let id = common::add_user(c.storage.as_ref(), &format!("old_{i}"), "active", &[]);
            c.storage.set_sensitive_fields(&id, &fields, &common::audit("user.sensitive.update")).unwrap();
            id
        })
        .collect();
    let r = c.post("/api/start_key_rotation", Some(&admin), "scope=overdue").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("nothing to rotate"), "{}", r.body);
    let r = c.post("/api/start_key_rotation", Some(&admin), "scope=some").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    db.execute("UPDATE pf_encryption_keys SET created_at = '2000-01-01 00:00:00.000000'", []).unwrap();
    let page = c.send(Method::GET, "/keys", Some(&admin), None, "").await;
    assert!(page.body.contains("Rotate the 5 overdue keys"), "{}", page.body);

    let sre = c.token("sre_sam").await;
    assert_eq!(c.post("/api/start_key_rotation", Some(&sre), "scope=all").await.status, StatusCode::FORBIDDEN);
    let r = c.post("/api/start_key_rotation", Some(&admin), "scope=overdue").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Rotating 5 overdue keys"), "{}", r.body);
    let mut waited = 0;
    while c.storage.key_inventory(90, None, 1).unwrap().rotation_job.finished_at.is_none() {
        waited += 1;
        assert!(waited < 200, "the run finishes within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let inv = c.storage.key_inventory(90, None, 10).unwrap();
    assert_eq!((inv.overdue, inv.rotation_job.status.as_deref()), (0, Some("ok")));
    assert!(ids.iter().all(|id| c.storage.key_of(id, 90).unwrap().unwrap().rotation_count == 1));
    let actions = c.actions();
    assert_eq!(actions.iter().filter(|a| *a == "key.rotate").count(), 5);
    assert!(
        actions.contains(&"key.rotation_run.begin".to_string()) && actions.contains(&"key.rotation_run".to_string())
    );
    let root = c.storage.user_id_by_username(&Username::parse("root").unwrap()).unwrap().unwrap();
    let row = c.storage.recent_audit(100).unwrap().into_iter().find(|a| a.action == "key.rotate").unwrap();
    assert_eq!(row.user_id.as_deref(), Some(root.as_str()), "each rotation names who started the run");
    let page = c.send(Method::GET, "/keys", Some(&admin), None, "").await;
    assert!(page.body.contains("last run") && page.body.contains("(ok,"), "{}", page.body);

    // Every key, none of them due.
    let finished = inv.rotation_job.finished_at;
    let r = c.post("/api/start_key_rotation", Some(&admin), "scope=all").await;
    assert!(r.body.contains("Rotating 5 keys"), "{}", r.body);
    let mut waited = 0;
    while c.storage.key_inventory(90, None, 1).unwrap().rotation_job.finished_at == finished {
        waited += 1;
        assert!(waited < 200, "the run finishes within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ids.iter().all(|id| c.storage.key_of(id, 90).unwrap().unwrap().rotation_count == 2));
}

#[tokio::test]
async fn the_overview_reads_the_background_counts_and_metrics_show_them() {
    let c = Console::new();
    let token = c.token("root").await;
    let users = |body: &str| -> i64 {
        let o: pathfinder::dto::Overview = serde_json::from_str(body).unwrap();
        o.users_by_status.iter().map(|s| s.count).sum()
    };
    let first = c.post("/api/overview", Some(&token), "").await;
    assert_eq!(users(&first.body), 3);
    common::add_user(c.storage.as_ref(), "newcomer", "pending", &[]);
    // Served from the cache: no count on the request path.
    assert_eq!(users(&c.post("/api/overview", Some(&token), "").await.body), 3);
    pathfinder_server::jobs::overview::refresh(&Db::new(c.storage.clone()), &c.overview).await.unwrap();
    assert_eq!(users(&c.post("/api/overview", Some(&token), "").await.body), 4);

    let body = c.scrape().await;
    for line in [
        "pathfinder_users{status=\"pending\"} 1",
        "pathfinder_users{status=\"active\"} 3",
        "pathfinder_sessions_active 1",
    ] {
        assert!(body.contains(line), "{line} missing from\n{body}");
    }
}

/// An OFREP call from another service: JSON, an API key, no Origin, maybe a cookie.
async fn ofrep(c: &Console, path: &str, key: Option<&str>, extra: &[(&str, &str)], body: &str) -> Reply {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        req = req.header("X-API-Key", k);
    }
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    let resp = c.app.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Reply { status, headers, body }
}

fn json_of(r: &Reply) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("{} is not JSON: {}", r.status, r.body))
}

#[tokio::test]
async fn the_ofrep_api_evaluates_for_services_holding_a_key() {
    use pathfinder::flags::{FlagEdit, GroupEdit, OverrideEdit, Target};
    use pathfinder::storage::FlagStore;
    let c = Console::new();
    let s = c.storage.as_ref();
    let a = |action: &str| common::audit(action);
    let flag = |key: &str, t: &str, default: &str| FlagEdit {
        key: key.into(),
        name: key.into(),
        flag_type: t.into(),
        default_value: default.into(),
        ..Default::default()
    };
    s.create_flag(&flag("new-checkout", "boolean", "false"), &a("flag.create")).unwrap();
    s.create_flag(&flag("banner", "string", "plain"), &a("flag.create")).unwrap();
    let beta = GroupEdit { name: "beta".into(), priority: 5, ..Default::default() };
    let beta = s.save_group(None, &beta, &a("group.create")).unwrap();
    add_console_user(s, "api_ann", Role::Admin);
    let ann = s.user_id_by_username(&Username::parse("api_ann").unwrap()).unwrap().unwrap();
    s.set_user_group(&ann, Some(&beta.group_id), &a("user.group")).unwrap();
    let why = |v: &str| OverrideEdit { value: v.into(), reason: "pilot".into(), expires_at: None };
    s.set_override("new-checkout", &Target::User("api_ann".into()), &why("true"), &a("x")).unwrap();
    s.set_override("banner", &Target::Group(beta.group_id.clone()), &why("holiday"), &a("x")).unwrap();
    let (secret, hash, prefix) = pathfinder::secret::new_api_key();
    let key = s.create_api_key("checkout-service", &hash, &prefix, &a("flag.api_key.create")).unwrap();
    let one = |k: &str| format!("/ofrep/v1/evaluate/flags/{k}");
    let ann_context = r#"{"context": {"targetingKey": "api_ann"}}"#;

    // Without a key, or with an unknown one: 401, whatever cookie comes along.
    let root = c.token("root").await;
    let cookie = format!("pf_session={root}");
    let r = ofrep(&c, &one("banner"), None, &[("cookie", cookie.as_str())], ann_context).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a session is not a key: {}", r.body);
    assert!(json_of(&r)["errorDetails"].is_string());
    let r = ofrep(&c, &one("banner"), Some("pfk_not_a_key"), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Single evaluations: a user's own override, their group's, the default; by
    // username or user id; no Origin needed; Bearer works as well as X-API-Key.
    let r = ofrep(&c, &one("new-checkout"), Some(&secret), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = json_of(&r);
    assert_eq!((v["key"].clone(), v["value"].clone()), (serde_json::json!("new-checkout"), serde_json::json!(true)));
    assert_eq!((v["reason"].as_str(), v["variant"].as_str()), (Some("TARGETING_MATCH"), Some("user-override")));
    let by_id = format!(r#"{{"context": {{"targetingKey": "{}"}}}}"#, ann.0);
    let bearer = format!("Bearer {secret}");
    let r = ofrep(&c, &one("banner"), None, &[("authorization", bearer.as_str())], &by_id).await;
    let v = json_of(&r);
    assert_eq!((v["value"].as_str(), v["variant"].as_str()), (Some("holiday"), Some("group:beta")));
    let r = ofrep(&c, &one("banner"), Some(&secret), &[], r#"{"context": {"targetingKey": "someone-else"}}"#).await;
    let v = json_of(&r);
    assert_eq!(
        (v["value"].as_str(), v["reason"].as_str(), v["variant"].as_str()),
        (Some("plain"), Some("STATIC"), Some("default"))
    );

    // The protocol's errors.
    let r = ofrep(&c, &one("no-such-flag"), Some(&secret), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&r)["errorCode"], "FLAG_NOT_FOUND");
    for (body, code) in [
        ("{not json", "PARSE_ERROR"),
        (r#"{"targetingKey": "api_ann"}"#, "INVALID_CONTEXT"),
        (r#"{"context": {"targetingKey": 7}}"#, "INVALID_CONTEXT"),
        (r#"{"context": {}}"#, "TARGETING_KEY_MISSING"),
        (r#"{"context": {"targetingKey": " "}}"#, "TARGETING_KEY_MISSING"),
    ] {
        let r = ofrep(&c, &one("banner"), Some(&secret), &[], body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        let v = json_of(&r);
        assert_eq!((v["errorCode"].as_str(), v["key"].as_str()), (Some(code), Some("banner")), "{body}");
    }

    // Bulk: every flag with an ETag; the same ETag gets 304 and no body; a change
    // to a flag changes it at the next call.
    let all = "/ofrep/v1/evaluate/flags";
    let r = ofrep(&c, all, Some(&secret), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::OK);
    let flags = json_of(&r)["flags"].as_array().unwrap().clone();
    assert_eq!(flags.len(), 2);
    let etag = r.headers[header::ETAG].to_str().unwrap().to_string();
    let r = ofrep(&c, all, Some(&secret), &[("if-none-match", etag.as_str())], ann_context).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    s.set_override("banner", &Target::User("api_ann".into()), &why("mine"), &a("x")).unwrap();
    let r = ofrep(&c, all, Some(&secret), &[("if-none-match", etag.as_str())], ann_context).await;
    assert_eq!(r.status, StatusCode::OK, "a change shows at once");
    assert_ne!(r.headers[header::ETAG].to_str().unwrap(), etag);
    let r = ofrep(&c, all, Some(&secret), &[], r#"{"context": {}}"#).await;
    assert_eq!((r.status, json_of(&r)["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("TARGETING_KEY_MISSING")));

    // A key revoked while in use: 403 from its next call.
    s.revoke_api_key(&key.key_id, &a("flag.api_key.revoke")).unwrap();
    let r = ofrep(&c, &one("banner"), Some(&secret), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(s.api_keys().unwrap()[0].last_used_at.is_some(), "its last use was kept");

    // Each key has its share of evaluations per second (50 here): then 429 with
    // Retry-After, and another key is not held up.
    let (busy, hash, prefix) = pathfinder::secret::new_api_key();
    s.create_api_key("busy", &hash, &prefix, &a("flag.api_key.create")).unwrap();
    let mut limited = None;
    for _ in 0..80 {
        let r = ofrep(&c, &one("banner"), Some(&busy), &[], ann_context).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.expect("the 51st call within a second is refused");
    assert!(limited.headers[header::RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    let (calm, hash, prefix) = pathfinder::secret::new_api_key();
    s.create_api_key("calm", &hash, &prefix, &a("flag.api_key.create")).unwrap();
    assert_eq!(ofrep(&c, &one("banner"), Some(&calm), &[], ann_context).await.status, StatusCode::OK);

    // Counted by reason and outcome, never by user; not audited per call.
    let body = c.scrape().await;
    for series in [
        "pathfinder_flag_evaluations_total{outcome=\"success\",reason=\"TARGETING_MATCH\"}",
        "pathfinder_flag_evaluations_total{outcome=\"success\",reason=\"STATIC\"}",
        "pathfinder_flag_evaluations_total{outcome=\"flag_not_found\",reason=\"ERROR\"}",
        "pathfinder_flag_evaluations_total{outcome=\"rate_limited\",reason=\"ERROR\"}",
    ] {
        assert!(body.contains(series), "{series}");
    }
    assert!(!body.contains("api_ann"));
    let rows = s.recent_audit(500).unwrap();
    assert!(rows.iter().all(|r| r.request_path.as_deref().is_none_or(|p| !p.starts_with("/ofrep/"))));
}

#[tokio::test]
async fn the_pool_page_shows_this_instances_samples_and_draws_them() {
    let c = Console::new();
    let sre = c.token("sre_sam").await;
    // Before the sampler's first run the page says so and the chart says why it is empty.
    let page = c.send(Method::GET, "/pool", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No sample yet"), "{}", page.body);
    let db = Db::new(c.storage.clone());
    let mut before = Default::default();
    let root = c.token("root").await;
    for _ in 0..3 {
        c.send(Method::GET, "/users", Some(&root), None, "").await;
        pathfinder_server::jobs::pool::sample(&db, &c.pool_history, &mut before).await;
    }
    let samples = c.pool_history.samples(false);
    assert_eq!(samples.len(), 3);
    assert!(samples.iter().all(|s| s.open >= s.active && s.open == s.active + s.idle), "{samples:?}");
    let (_, _, acquired) = c.pool_history.since_start();
    assert!(acquired > 0, "the pool's acquisitions are counted");
    let page = c.send(Method::GET, "/pool", Some(&sre), None, "").await;
    assert!(page.body.contains("data-test-id=\"pool-open\""), "{}", page.body);
    // SQLite's own view: its files and cache.
    for row in ["Database file", "Write-ahead log", "Page cache", "wal"] {
        assert!(page.body.contains(row), "{row} in {}", page.body);
    }
    let chart = c.send(Method::GET, "/charts/pool.svg?range=hour&series=connections", Some(&sre), None, "").await;
    assert_eq!(chart.status, StatusCode::OK);
    assert_eq!(chart.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(chart.body.starts_with("<svg") && chart.body.contains("Connections over the last hour"));
    // Both axes are labelled (plotters writes each text on its own line).
    assert!(chart.body.contains("\nUTC\n") && chart.body.contains("\nConnections\n"), "{}", chart.body);
    // Compliance reviewers read the audit log, not the machine.
    let comp = c.token("comp_cy").await;
    assert_eq!(c.send(Method::GET, "/pool", Some(&comp), None, "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.send(Method::GET, "/charts/pool.svg", Some(&comp), None, "").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_grafana_dashboard_and_the_alert_rules_name_only_metrics_the_console_exports() {
    let _turn = UPKEEP_GAUGES.lock().await;
    let c = Console::new();
    pathfinder_server::jobs::overview::refresh(&Db::new(c.storage.clone()), &c.overview).await.unwrap();
    // The upkeep job's round fills the database-wide gauges (each table's size, too).
    pathfinder_server::jobs::upkeep::round(&Db::new(c.storage.clone()), &upkeep()).await;
    c.send(Method::GET, "/users", Some(&c.token("root").await), None, "").await;
    let scrape = c.scrape().await;
    let exported: std::collections::HashSet<&str> =
        scrape.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(['{', ' ']).next()).collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for file in ["deploy/grafana/pathfinder.json", "deploy/prometheus/alerts.yml"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let named: std::collections::BTreeSet<&str> = text
            .match_indices("pathfinder_")
            .map(|(at, _)| {
                let rest = &text[at..];
                &rest[..rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')).unwrap_or(rest.len())]
            })
            .collect();
        assert!(named.len() >= 5, "{file}: {named:?}");
        for name in named {
            assert!(exported.contains(name), "{file} names {name}, which /metrics does not export:\n{scrape}");
        }
    }
}

/// The upkeep gauges are the process's (one registry): the tests that publish and
/// read them take turns.
static UPKEEP_GAUGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn upkeep() -> pathfinder_server::jobs::upkeep::Upkeep {
    pathfinder_server::jobs::upkeep::Upkeep {
        storage: pathfinder::usage::StoragePolicy::default(),
        statistics_every: std::time::Duration::from_secs(86_400),
        verify_every: std::time::Duration::from_secs(7 * 86_400),
        retention_every: std::time::Duration::from_secs(86_400),
        backups: None,
        audit_key: Arc::from(&b"an http test audit key, 32 chars+"[..]),
    }
}

/// The value of an unlabelled metric in a scrape.
fn metric(scrape: &str, name: &str) -> f64 {
    let line = scrape.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_upkeep_round_samples_gathers_verifies_and_publishes_once_for_all_instances() {
    let _turn = UPKEEP_GAUGES.lock().await;
    let c = Console::new();
    let db = Db::new(c.storage.clone());
    pathfinder_server::jobs::upkeep::round(&db, &upkeep()).await;
    let actions = |c: &Console| c.storage.recent_audit(1000).unwrap().into_iter().map(|r| r.action).collect::<Vec<_>>();
    let first = actions(&c);
    for action in ["storage.sample", "database.statistics", "audit.verify", "retention.run"] {
        assert_eq!(first.iter().filter(|a| *a == action).count(), 1, "{action} in {first:?}");
        assert_eq!(first.iter().filter(|a| **a == format!("{action}.begin")).count(), 1, "{action}.begin");
    }
    // Another round (or another instance's) finds nothing due.
    pathfinder_server::jobs::upkeep::round(&db, &upkeep()).await;
    assert_eq!(actions(&c).len(), first.len());
    let scrape = c.scrape().await;
    assert!(metric(&scrape, "pathfinder_storage_used_bytes") > 0.0);
    assert!(metric(&scrape, "pathfinder_storage_limit_bytes") >= metric(&scrape, "pathfinder_storage_used_bytes"));
    assert_eq!(metric(&scrape, "pathfinder_storage_warning_ratio"), 0.8);
    assert_eq!(metric(&scrape, "pathfinder_storage_sample_interval_seconds"), 900.0);
    assert_eq!(metric(&scrape, "pathfinder_audit_verify_ok"), 1.0);
    assert!(metric(&scrape, "pathfinder_audit_verify_timestamp_seconds") > 1.7e9);
    assert!(metric(&scrape, "pathfinder_db_statistics_timestamp_seconds") > 1.7e9);
    assert_eq!(metric(&scrape, "pathfinder_storage_full_in_seconds"), -1.0, "one sample is no trend");
    // Backups: the console takes them here (SQLite); none yet, then one.
    assert_eq!(metric(&scrape, "pathfinder_backup_managed"), 1.0);
    assert_eq!(metric(&scrape, "pathfinder_backup_last_success_timestamp_seconds"), 0.0);
    let root = tempfile::tempdir().unwrap();
    pathfinder::storage::BackupStore::create_backup(
        c.storage.as_ref(),
        root.path(),
        pathfinder::backup::BackupKind::Full,
        &common::audit("backup.create"),
    )
    .unwrap();
    pathfinder_server::jobs::upkeep::publish(&db, &upkeep()).await;
    let scrape = c.scrape().await;
    assert!(metric(&scrape, "pathfinder_backup_last_success_timestamp_seconds") > 1.7e9);
    assert_eq!(metric(&scrape, "pathfinder_backup_last_verify_ok"), -1.0, "not verified yet");
    assert!(scrape.contains("pathfinder_storage_table_bytes{table=\"pf_users\"}"), "{scrape}");
}

#[tokio::test]
async fn the_storage_and_diagnostics_pages_show_the_sample_the_chart_and_the_settings() {
    let c = Console::new();
    let sre = c.token("sre_sam").await;
    let page = c.send(Method::GET, "/storage", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("none yet"), "{}", page.body);
    let chart = c.send(Method::GET, "/charts/storage.svg", Some(&sre), None, "").await;
    assert!(chart.body.contains("no samples yet"), "{}", chart.body);
    // A user with a set of their own, whose page shows its sampled size.
    let owner = common::add_user(c.storage.as_ref(), "space_owner", "active", &[]);
    let name = pathfinder::Username::parse("space_owner").unwrap();
    c.storage.provision_user_tables(&name, &common::audit("user_tables.provision")).unwrap();
    // An SRE asks for a sample: audited under their name.
    assert_eq!(c.post("/api/storage_sample", Some(&sre), "").await.status, StatusCode::OK);
    let user_page = c.send(Method::GET, &format!("/users/{}", owner.0), Some(&c.token("root").await), None, "").await;
    assert!(user_page.body.contains("KiB at the storage sample of"), "{}", user_page.body);
    let row = c.storage.recent_audit(50).unwrap().into_iter().find(|r| r.action == "storage.sample").unwrap();
    let row = c.storage.audit_event(&row.id).unwrap().unwrap();
    assert_eq!(row.username.as_deref(), Some("sre_sam"));
    let page = c.send(Method::GET, "/storage", Some(&sre), None, "").await;
    for text in
        ["data-test-id=\"storage-used\"", "pf_audit_log", "pf_users", "warning at ", "Sample now", "space_owner"]
    {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    let chart = c.send(Method::GET, "/charts/storage.svg", Some(&sre), None, "").await;
    assert_eq!(chart.headers[header::CONTENT_TYPE], "image/svg+xml");
    // Both axes labelled; the whole and its largest tables; the file system's free
    // space, far above a test database, named in the caption.
    for text in ["\nUTC\n", "Storage over the samples kept (limit ", "off the scale", "all", "pf_audit_log"] {
        assert!(chart.body.contains(text), "{text} in {}", chart.body);
    }
    assert!(chart.body.contains("\nMiB\n") || chart.body.contains("\nKiB\n"), "{}", chart.body);

    let page = c.send(Method::GET, "/diagnostics", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "SQLite 3.",
        "0019_retention",
        "PF_STORAGE_SAMPLE_MINUTES",
        "Storage sample",
        "ms</td>",
        "none yet: pathfinder-admin backup create",
    ] {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    let drift = c.post("/api/schema_check", Some(&sre), "").await;
    assert_eq!((drift.status, drift.body.as_str()), (StatusCode::OK, "[]"));
    let comp = c.token("comp_cy").await;
    for path in ["/storage", "/diagnostics", "/charts/storage.svg"] {
        assert_eq!(c.send(Method::GET, path, Some(&comp), None, "").await.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn storage_operations_are_timed_by_name_on_the_queries_page_and_in_metrics() {
    let c = Console::new();
    let root = c.token("root").await;
    c.send(Method::GET, "/users?q=ro", Some(&root), None, "").await;
    let scrape = c.scrape().await;
    let line = scrape
        .lines()
        .find(|l| l.starts_with("pathfinder_db_operation_seconds_count{module=\"users\",operation=\"search_users\"}"))
        .unwrap_or_else(|| panic!("no search_users timing in\n{scrape}"));
    assert!(!line.ends_with(" 0"), "{line}");
    // Names only: no argument (the search text) in any label.
    assert!(!scrape.lines().any(|l| l.starts_with("pathfinder_db_operation") && l.contains("\"ro\"")));
    let sre = c.token("sre_sam").await;
    let page = c.send(Method::GET, "/queries", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in ["users::search_users", "data-test-id=\"slowest\"", "PF_SLOW_QUERY_MS"] {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    let comp = c.token("comp_cy").await;
    assert_eq!(c.send(Method::GET, "/queries", Some(&comp), None, "").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_retention_page_edits_policies_and_dry_runs_for_administrators_only() {
    let c = Console::new();
    let root = c.token("root").await;
    let page = c.send(Method::GET, "/retention", Some(&root), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("New policy") && page.body.contains("No run yet"), "{}", page.body);
    // Saved from the form, audited under the administrator's name.
    let saved =
        c.post("/api/save_retention", Some(&root), "table_pattern=pf_user_sessions&retention_days=30&delete=on").await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "retention.policy.create");
    assert_eq!(c.storage.audit_event(&row.id).unwrap().unwrap().username.as_deref(), Some("root"));
    assert_eq!(row.error_message.as_deref(), Some("pf_user_sessions: delete after 30 days"));
    // Bad input: a sentence, nothing saved.
    for body in [
        "table_pattern=pf_user_*_skills&retention_days=30&delete=on",
        "table_pattern=pf_user_sessions&retention_days=thirty&delete=on",
        "table_pattern=pf_user_analytics&retention_days=30",
    ] {
        let r = c.post("/api/save_retention", Some(&root), body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
    }
    assert_eq!(c.storage.retention_page().unwrap().policies.len(), 1);
    let page = c.send(Method::GET, "/retention", Some(&root), None, "").await;
    assert!(page.body.contains("data-test-id=\"retention-policy\"") && page.body.contains("pf_user_sessions"));
    // A dry run answers with what a run would do, and changes nothing.
    let before = c.storage.recent_audit(1).unwrap();
    let dry = c.post("/api/run_retention", Some(&root), "dry_run=on").await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let summary: Option<pathfinder::retention::RetentionSummary> = serde_json::from_str(&dry.body).unwrap();
    let summary = summary.expect("a dry run's summary");
    assert!(summary.dry_run && summary.finished);
    assert_eq!(summary.tables.iter().map(|t| t.table.as_str()).collect::<Vec<_>>(), ["pf_user_sessions"]);
    assert_eq!(c.storage.recent_audit(1).unwrap(), before, "a dry run writes nothing");
    // Only administrators.
    for who in ["sre_sam", "comp_cy"] {
        let token = c.token(who).await;
        assert_eq!(c.send(Method::GET, "/retention", Some(&token), None, "").await.status, StatusCode::FORBIDDEN);
        assert_eq!(c.post("/api/run_retention", Some(&token), "dry_run=on").await.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn the_backups_page_lists_each_backup_with_its_age_size_and_verification() {
    let c = Console::new();
    let sre = c.token("sre_sam").await;
    let page = c.send(Method::GET, "/backups", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No backup yet"), "{}", page.body);
    let root = tempfile::tempdir().unwrap();
    let s = c.storage.as_ref();
    let b = pathfinder::storage::BackupStore::create_backup(
        s,
        root.path(),
        pathfinder::backup::BackupKind::Full,
        &common::audit("backup.create"),
    )
    .unwrap();
    let page = c.send(Method::GET, "/backups", Some(&sre), None, "").await;
    for text in ["data-test-id=\"backup-row\"", "not verified yet", "0 min", "KiB", b.location.as_str()] {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    pathfinder::storage::BackupStore::record_backup_verification(
        s,
        &b.backup_id,
        true,
        "checked",
        &common::audit("backup.verify"),
    )
    .unwrap();
    let page = c.send(Method::GET, "/backups", Some(&sre), None, "").await;
    assert!(page.body.contains("ok ("), "{}", page.body);
    let comp = c.token("comp_cy").await;
    assert_eq!(c.send(Method::GET, "/backups", Some(&comp), None, "").await.status, StatusCode::FORBIDDEN);
}
