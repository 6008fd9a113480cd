//! What every handler and server function shares: the storage, the settings and
//! this instance's own bookkeeping (caches, samples, rate buckets). With several
//! instances each has its own; what must hold across them lives in the database.

use crate::auth::throttle::{ApiRate, SignInThrottle};
use crate::auth::TokenKeys;
use crate::config::ServeConfig;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use pathfinder::db::Db;
use pathfinder::stats::OverviewCache;
use pathfinder::storage::KeyPolicy;
use pathfinder::AppResult;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub keys: Arc<TokenKeys>,
    /// Bearer token `/metrics` requires, when set.
    pub metrics_token: Option<Arc<str>>,
    /// Adds `Secure` to the session cookie (set when served over HTTPS).
    pub secure_cookie: bool,
    /// The overview's counts, kept by [`crate::jobs::overview`] (each instance's own;
    /// a change made on another shows at the next refresh).
    pub overview: Arc<OverviewCache>,
    /// This instance's pool samples, taken by [`crate::jobs::pool`].
    pub pool_history: Arc<pathfinder::pool::PoolHistory>,
    /// When a data key counts as overdue for rotation.
    pub key_policy: KeyPolicy,
    /// The storage sampler's settings and alert thresholds.
    pub storage_policy: pathfinder::usage::StoragePolicy,
    /// The host names the console answers to (`Host` header, port left out): a page
    /// on another name that resolves here (DNS rebinding) is refused.
    pub allowed_hosts: Arc<[String]>,
    /// Session lifetimes: absolute and idle.
    pub session_policy: crate::auth::SessionPolicy,
    /// When failed sign-ins lock an account.
    pub lockout: crate::auth::guard::LockoutPolicy,
    /// Sign-in attempts per client address (this instance's buckets).
    pub throttle: Arc<SignInThrottle>,
    /// Flag evaluations per API key (this instance's buckets).
    pub ofrep_rate: Arc<ApiRate>,
    /// Proxies whose `X-Forwarded-For` names the client (`PF_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// Where invitation mail goes, and the console's public address for its links.
    pub outbox: pathfinder::mail::Outbox,
    /// The audit key and witness (the Audit page's verification, retention's cuts).
    pub chain_trust: pathfinder::witness::ChainTrust,
    /// The settings in effect, secrets as set or unset (the Diagnostics page).
    pub settings: Arc<[pathfinder::diagnostics::Setting]>,
    /// The security review's thresholds (the Security page's run).
    pub security_policy: pathfinder::security::SecurityPolicy,
    /// Signs closed access reviews' reports (from the audit key; none without one),
    /// and the public key that checks them (made once, shown on every campaign's page).
    pub report_signer: Option<Arc<crate::export::access_reviews::ReportSigner>>,
    pub report_key: Option<pathfinder::access_reviews::ReportKey>,
    /// The folder of the browser's bundle (`<site root>/pkg`), served under
    /// [`AppState::bundle_root`]`/pkg` (see [`super::assets`]).
    pub bundle: std::path::PathBuf,
    /// `/pkg/<build>`: what the pages' links to the bundle start with.
    pub bundle_root: String,
}

impl AppState {
    /// The state `serve` runs with: the CLI and the tests build it the same way.
    pub fn new(config: &ServeConfig, db: Db) -> AppResult<AppState> {
        let report_signer = config
            .audit_key
            .as_deref()
            .map(|k| Arc::new(crate::export::access_reviews::ReportSigner::from_audit_key(k)));
        let report_key = report_signer.as_ref().map(|s| s.public_key()).transpose()?;
        let bundle = std::path::Path::new(&config.site_root).join("pkg");
        let bundle_root = format!("/pkg/{}", super::assets::build_id(&bundle)?);
        let leptos_options = LeptosOptions::builder()
            .output_name("pathfinder")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(config.listen)
            .build();
        Ok(AppState {
            leptos_options,
            db,
            keys: Arc::new(TokenKeys::new(&config.jwt_secret)?),
            metrics_token: config.metrics_token.as_deref().map(Arc::from),
            secure_cookie: config.secure_cookie,
            overview: Arc::default(),
            pool_history: Arc::default(),
            key_policy: config.key_policy,
            storage_policy: config.storage_policy,
            allowed_hosts: config.allowed_hosts.clone().into(),
            session_policy: config.session_policy.clone(),
            lockout: config.lockout,
            throttle: Arc::new(SignInThrottle::with_rate(config.sign_in_rate)),
            ofrep_rate: Arc::new(ApiRate::new(config.ofrep_rate)),
            trusted_proxies: config.trusted_proxies.clone().into(),
            outbox: config.outbox.clone(),
            chain_trust: pathfinder::witness::ChainTrust {
                key: config.audit_key.clone(),
                witness: config.audit_witness.clone(),
            },
            settings: config.settings.clone().into(),
            security_policy: config.security_policy,
            report_signer,
            report_key,
            bundle,
            bundle_root,
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
