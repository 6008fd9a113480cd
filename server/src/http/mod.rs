//! The HTTP surface: Leptos pages and server functions, sign-in and sign-out,
//! exports, charts, the flag evaluation API, health, readiness and metrics, all
//! behind the access layer. This module is the wiring; each file beside it is one
//! kind of handler, and nothing below `http` imports it back.

pub mod access;
pub mod assets;
mod charts;
mod error;
mod export;
pub mod listener;
pub mod ofrep;
mod ops;
mod session;
mod state;

pub use error::HttpError;
pub use state::AppState;

use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use pathfinder_app::{shell, App};
use std::sync::OnceLock;

pub fn router(state: AppState) -> Router {
    let routes = routes();
    let context = server_function_context(&state);
    Router::new()
        .route("/auth/login", post(session::sign_in))
        .route("/auth/logout", post(session::sign_out))
        .route("/auth/confirm", post(session::confirm))
        .route("/auth/accept_invitation", post(session::accept_invitation))
        .route("/export/users", get(export::users))
        .route("/export/pert", get(export::pert))
        .route("/export/skills", get(export::skills))
        .route("/export/career-paths", get(export::career_paths))
        .route("/export/audit", get(export::audit))
        .route("/export/person/{id}", post(export::person))
        .route("/export/access-review/{id}/report.csv", get(export::access_review_report))
        .route("/export/access-review/{id}/report.csv.sig", get(export::access_review_signature))
        .route("/export/access-review-key.pem", get(export::access_review_key))
        .route("/charts/audit.svg", get(charts::audit))
        .route("/charts/pool.svg", get(charts::pool))
        .route("/charts/storage.svg", get(charts::storage))
        .route("/charts/analytics.svg", get(charts::analytics))
        .route("/ofrep/v1/evaluate/flags", post(ofrep::evaluate_flags))
        .route("/ofrep/v1/evaluate/flags/{key}", post(ofrep::evaluate_flag))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        // The bundle under its build's name, compressed, kept by browsers for a year.
        .nest_service(
            &format!("{}/{}", state.bundle_root, state.leptos_options.site_pkg_dir),
            tower::ServiceBuilder::new()
                .map_response(assets::cache_for_a_year)
                .service(tower_http::services::ServeDir::new(&state.bundle).precompressed_br().precompressed_gzip()),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::layer))
        .with_state(state)
}

/// The app's routes, listed once per process.
///
/// `generate_route_list` renders the app once with leptos' *process-wide* "suppress
/// resource loads" flag set (`leptos_server::SuppressResourceLoad`, a global
/// `AtomicBool`). A resource that any other render in the process creates meanwhile
/// reads that flag when its future is first polled and waits on `pending()` for good:
/// its `<Suspense>` never resolves and its page's stream never ends (one page in a few
/// hundred, whenever a router was built while pages were being rendered, as the HTTP
/// tests do with a router per test). Listed once, before any router exists, no render
/// can overlap it; whoever needs the list (a test) takes this one.
pub fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// What server functions find in their context (`pathfinder_app::server::context`).
fn server_function_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let state = state.clone();
    move || {
        provide_context(state.db.clone());
        provide_context(state.overview.clone());
        provide_context(state.pool_history.clone());
        provide_context(state.key_policy);
        provide_context(state.storage_policy);
        provide_context(state.settings.clone());
        provide_context(state.outbox.clone());
        provide_context(state.chain_trust.clone());
        provide_context(state.security_policy);
        // The access reviews' page shows the key that checks their reports.
        provide_context(state.report_key.clone());
        // The pages link to the bundle under the build's name.
        provide_context(pathfinder_app::BundleRoot(state.bundle_root.clone()));
    }
}
