//! What the HTTP tests share: a console in-process on a fresh SQLite database
//! (the same `AppState::new` as `serve`), requests as browsers and services send
//! them, and readings of what the console wrote.

pub(crate) use crate::common;
pub use axum::body::Body;
pub use axum::http::{header, Method, Request, StatusCode};
pub use axum::Router;
pub use http_body_util::BodyExt;
pub use pathfinder::db::Db;
pub use pathfinder::dto::SensitiveFields;
pub use pathfinder::storage::{
    AuditStore, FlagStore, KeyStore, MfaStore, NewUser, RetentionStore, SessionStore, Storage, UserStore,
    UserTableStore,
};
pub use pathfinder::{Role, UserId, Username};
pub use pathfinder_server::auth::guard::LockoutPolicy;
pub use pathfinder_server::auth::password;
pub use pathfinder_server::auth::throttle::{EvaluationRate, SignInRate};
pub use pathfinder_server::auth::token::{Claims, AUDIENCE, ISSUER};
pub use pathfinder_server::config::ServeConfig;
pub use pathfinder_server::http::{router, AppState};
pub use pathfinder_server::storage::Store;
pub use std::sync::{Arc, LazyLock};
pub use tower::ServiceExt;

pub const SECRET: &[u8] = b"an http test secret of 32+ bytes!!";

pub const PASSWORD: &str = "a long test password";

pub const METRICS_TOKEN: &str = "scrape-me";

pub const HOST: &str = "console.test";
/// The console's public address in mail (`PF_PUBLIC_URL`).
pub const PUBLIC_URL: &str = "https://console.example.org";

pub static HASH: LazyLock<String> = LazyLock::new(|| password::hash(PASSWORD).unwrap());

pub struct Console {
    pub app: Router,
    pub storage: Arc<Store>,
    pub overview: Arc<pathfinder::stats::OverviewCache>,
    pub pool_history: Arc<pathfinder::pool::PoolHistory>,
    pub dir: tempfile::TempDir,
}

/// A sign-in form's body.
pub fn login_form(user: &str, pw: &str) -> String {
    format!("username={user}&password={}", pw.replace(' ', "+"))
}

/// A sign-in post from this console's own page (`scheme` of its origin), to build
/// on before its body.
pub fn login_request(scheme: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(Method::POST)
        .uri("/auth/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("{scheme}://{HOST}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

/// An active console account with the test password.
pub fn add_console_user(storage: &Store, name: &str, role: Role) {
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

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    /// The body as it came (a download's bytes).
    pub bytes: Vec<u8>,
}

impl Console {
    /// A console with the tests' settings: a metrics token, roomy rates (requests
    /// here come from no address: one bucket), no second factor required.
    pub fn new() -> Self {
        Self::configured(|_| {})
    }

    /// [`Console::new`] with its settings changed by `adjust` first.
    pub fn configured(adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        let (storage, dir) = common::sqlite();
        for (name, role) in [("root", Role::Admin), ("sre_sam", Role::Sre), ("comp_cy", Role::Compliance)] {
            add_console_user(&storage, name, role);
        }
        let outbox = pathfinder::mail::Outbox {
            mailer: Arc::new(pathfinder::mail::OutboxMailer { path: dir.path().join("outbox.txt") }),
            public_url: PUBLIC_URL.into(),
        };
        let mut config = ServeConfig {
            metrics_token: Some(METRICS_TOKEN.to_string()),
            allowed_hosts: vec![HOST.to_string()],
            session_policy: pathfinder_server::auth::SessionPolicy {
                mfa_required: vec![],
                ..pathfinder_server::auth::SessionPolicy::default()
            },
            sign_in_rate: roomy(),
            ofrep_rate: EvaluationRate { burst: 10_000, every: std::time::Duration::from_millis(1) },
            audit_key: Some(Arc::from(&b"an http test audit key, 32 chars+"[..])),
            settings: vec![pathfinder::diagnostics::Setting {
                name: "PF_STORAGE_SAMPLE_MINUTES".into(),
                value: "15".into(),
                source: "default".into(),
            }],
            ..ServeConfig::with_defaults(SECRET.to_vec(), outbox)
        };
        adjust(&mut config);
        let state = AppState::new(&config, Db::new(storage.clone())).unwrap();
        Console {
            overview: state.overview.clone(),
            pool_history: state.pool_history.clone(),
            app: router(state),
            storage,
            dir,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
        body: &str,
    ) -> Reply {
        self.send_to(HOST, method, path, cookie, origin, body).await
    }

    /// A same-site POST to `host` (a `Host` header of the caller's choosing).
    pub async fn post_to(&self, host: &str, path: &str, cookie: Option<&str>, body: &str) -> Reply {
        self.send_to(host, Method::POST, path, cookie, Some(&format!("http://{host}")), body).await
    }

    async fn send_to(
        &self,
        host: &str,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut req = Request::builder().method(method.clone()).uri(path).header(header::HOST, host);
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
        // Never sent again: a response that does not complete fails the test, so a
        // stalled server-rendered stream cannot hide behind a retry.
        let answer = async {
            let resp = self.app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes: bytes.to_vec() }
        };
        match tokio::time::timeout(std::time::Duration::from_secs(15), answer).await {
            Ok(reply) => reply,
            Err(_) => panic!("{method} {path}: no complete response within 15 s (a stalled stream)"),
        }
    }

    /// A same-site POST (what our own pages send).
    /// `/metrics` as Prometheus reads it (with the bearer token).
    pub async fn scrape(&self) -> String {
        let req = Request::builder()
            .uri("/metrics")
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("Bearer {METRICS_TOKEN}"));
        let resp = self.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    pub async fn post(&self, path: &str, cookie: Option<&str>, body: &str) -> Reply {
        self.send(Method::POST, path, cookie, Some(&format!("http://{HOST}")), body).await
    }

    pub async fn login(&self, user: &str, pw: &str) -> Reply {
        self.post("/auth/login", None, &login_form(user, pw)).await
    }

    /// Signs in and returns the session token from the cookie.
    pub async fn token(&self, user: &str) -> String {
        let r = self.login(user, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.headers[header::LOCATION], "/");
        let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        cookie.trim_start_matches("pf_session=").split(';').next().unwrap().to_string()
    }

    /// A request built by the test itself, as sent: status and body.
    pub async fn exchange(&self, req: Request<Body>) -> (StatusCode, String) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Signs in from a browser that carries `device` (a device cookie), if any:
    /// the answer and the device cookie it sets.
    pub async fn login_from(&self, user: &str, pw: &str, device: Option<&str>) -> (Reply, Option<String>) {
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
        (Reply { status, headers, body: String::new(), bytes: Vec::new() }, set)
    }

    /// Another administrator, with the test password.
    pub fn add_admin(&self, name: &str) {
        add_console_user(&self.storage, name, Role::Admin);
    }

    pub fn user_id(&self, name: &str) -> UserId {
        self.storage.user_id_by_username(&Username::parse(name).unwrap()).unwrap().unwrap()
    }

    pub fn actions(&self) -> Vec<String> {
        self.storage.recent_audit(1000).unwrap().into_iter().map(|a| a.action).collect()
    }
}

/// Polls `probe` every 25 ms until it answers, for up to a minute: work a request
/// left running in the background can take seconds when the whole suite shares the
/// machine's cores.
pub async fn eventually<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

pub fn roomy() -> SignInRate {
    SignInRate { burst: 10_000, every: std::time::Duration::from_millis(1), max_addresses: 1000 }
}

pub fn now_secs() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

/// Raw SQL on the console's file, with the console's SQL functions (the search
/// indexes' triggers need them to change names).
pub fn sqlite_exec(c: &Console, sql: &str) {
    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    pathfinder_server::storage::driver::sqlite::configure(&db).unwrap();
    db.execute_batch(sql).unwrap();
}

pub fn claims(token: &str) -> Claims {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// An OFREP call from another service: JSON, an API key, no Origin, maybe a cookie.
pub async fn ofrep(c: &Console, path: &str, key: Option<&str>, extra: &[(&str, &str)], body: &str) -> Reply {
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
    Reply { bytes: body.clone().into_bytes(), status, headers, body }
}

pub fn json_of(r: &Reply) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("{} is not JSON: {}", r.status, r.body))
}

/// The upkeep gauges are the process's (one registry): the tests that publish and
/// read them take turns.
pub static UPKEEP_GAUGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn upkeep() -> pathfinder_server::jobs::upkeep::Upkeep {
    pathfinder_server::jobs::upkeep::Upkeep {
        storage: pathfinder::usage::StoragePolicy::default(),
        statistics_every: std::time::Duration::from_secs(86_400),
        verify_every: std::time::Duration::from_secs(7 * 86_400),
        retention_every: std::time::Duration::from_secs(86_400),
        backups: None,
        audit_key: Arc::from(&b"an http test audit key, 32 chars+"[..]),
        witness: None,
        security: pathfinder::security::SecurityPolicy::default(),
        instance: None,
        outbox: None,
    }
}

/// The value of an unlabelled metric in a scrape.
pub fn metric(scrape: &str, name: &str) -> f64 {
    let line = scrape.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}
