//! Pathfinder Admin's user interface: the shell, routes and pages (rendered on the
//! server, then hydrated in the browser), and the server functions they call.
//!
//! One folder per capability (`users/`, `audit/`, `flags/`, …): its server functions
//! (`api.rs`, written as `server.rs` says), its pages, and a `mod.rs` that declares
//! its rows of the policy table and its places in the navigation. A new capability
//! is a folder, a line in [`CAPABILITIES`] and its routes below.

mod codec;
mod components;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod server;

pub mod access_reviews;
pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod backups;
pub mod career;
pub mod dormant;
pub mod flags;
pub mod invitations;
pub mod keys;
pub mod mfa;
pub mod operations;
pub mod overview;
pub mod pert;
pub mod reference;
pub mod retention;
pub mod security;
pub mod sessions;
pub mod subject_access;
pub mod user_tables;
pub mod users;

use components::{NotFound, Shell};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

/// Every capability, in the order the navigation lists their pages.
pub const CAPABILITIES: &[&policy::Capability] = &[
    &overview::CAPABILITY,
    &analytics::CAPABILITY,
    &users::CAPABILITY,
    &accounts::CAPABILITY,
    &sessions::CAPABILITY,
    &dormant::CAPABILITY,
    &invitations::CAPABILITY,
    &mfa::CAPABILITY,
    &user_tables::CAPABILITY,
    &career::CAPABILITY,
    &flags::CAPABILITY,
    &audit::CAPABILITY,
    &pert::CAPABILITY,
    &reference::CAPABILITY,
    &keys::CAPABILITY,
    &retention::CAPABILITY,
    &security::CAPABILITY,
    &access_reviews::CAPABILITY,
    &operations::CAPABILITY,
    &backups::CAPABILITY,
    &subject_access::CAPABILITY,
];

/// Where the pages' links to the bundle start (`/pkg/<build>`, see the server's
/// `http::assets`): the scripts, the wasm, the split pages' modules (whose loader
/// fetches relative to itself) and the style sheet. Provided by the server.
#[derive(Clone, Debug, Default)]
pub struct BundleRoot(pub String);

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let root = use_context::<BundleRoot>().unwrap_or_default().0;
    let style = format!("{root}/{}/pathfinder.css", options.site_pkg_dir);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" id="leptos" href=style/>
                <HydrationScripts options root/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    content_security_policy();
    #[cfg(feature = "ssr")]
    provide_context(codec::RenderLoads::default());
    view! {
        <Title text="Pathfinder Admin"/>
        <Router>
            <Routes fallback=|| view! { <Shell><NotFound/></Shell> }>
                // The first page a browser loads: in the first module.
                <Route path=path!("/login") view=sessions::LoginPage/>
                <Route path=path!("/") view=|| view! { <Shell><overview::OverviewPage/></Shell> }/>
                // The others load their code when first visited. A page whose answer
                // says something went wrong (404 for something not there, 400 for a
                // refused filter) is rendered whole before it is sent: a streamed
                // page's status leaves before its data.
                <Route path=path!("/users") view={Lazy::<UsersRoute>::new()}/>
                <Route path=path!("/users/:id") view={Lazy::<UserDetailRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/users/:id/career") view={Lazy::<CareerRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/accounts") view={Lazy::<AccountsRoute>::new()}/>
                <Route path=path!("/sessions") view={Lazy::<SessionsRoute>::new()}/>
                <Route path=path!("/invitations") view={Lazy::<InvitationsRoute>::new()}/>
                <Route path=path!("/account") view={Lazy::<AccountRoute>::new()}/>
                <Route path=path!("/flags") view={Lazy::<FlagsRoute>::new()}/>
                <Route path=path!("/flags/:id") view={Lazy::<FlagDetailRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/groups") view={Lazy::<GroupsRoute>::new()}/>
                <Route path=path!("/groups/:id") view={Lazy::<GroupRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/audit/:id") view={Lazy::<AuditEventRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/analytics") view={Lazy::<AnalyticsRoute>::new()}/>
                <Route path=path!("/pert") view={Lazy::<PertReportsRoute>::new()}/>
                <Route path=path!("/pert/:id") view={Lazy::<PertReportRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/reference/skills") view={Lazy::<SkillsRoute>::new()}/>
                <Route path=path!("/reference/career-paths") view={Lazy::<CareerPathsRoute>::new()}/>
                <Route path=path!("/keys") view={Lazy::<KeysRoute>::new()}/>
                <Route path=path!("/retention") view={Lazy::<RetentionRoute>::new()}/>
                <Route path=path!("/security") view={Lazy::<SecurityRoute>::new()}/>
                <Route path=path!("/dormant") view={Lazy::<DormantRoute>::new()}/>
                <Route path=path!("/access-reviews") view={Lazy::<AccessReviewsRoute>::new()}/>
                <Route path=path!("/access-reviews/:id") view={Lazy::<AccessReviewRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/pool") view={Lazy::<PoolRoute>::new()}/>
                <Route path=path!("/queries") view={Lazy::<QueriesRoute>::new()}/>
                <Route path=path!("/storage") view={Lazy::<StorageRoute>::new()}/>
                <Route path=path!("/diagnostics") view={Lazy::<DiagnosticsRoute>::new()}/>
                <Route path=path!("/backups") view={Lazy::<BackupsRoute>::new()}/>
                // Rendered whole before it is sent, so a used link's page is a 410.
                <Route path=path!("/invite/:token") view={Lazy::<InviteRoute>::new()} ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// A page whose code loads when first visited (cargo-leptos `--split`): the bundle
/// a browser fetches to sign in and see the overview stays small while pages are
/// added. Each page loads its own data. `in Shell` puts it in the console's frame.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident $(in $frame:ident)?),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                lazy_pages!(@view $page $($frame)?)
            }
        }
    )*};
    (@view $page:ident Shell) => { view! { <Shell><$page/></Shell> }.into_any() };
    (@view $page:ident) => { view! { <$page/> }.into_any() };
}

use access_reviews::{AccessReviewPage, AccessReviewsPage};
use accounts::AccountsPage;
use analytics::AnalyticsPage;
use audit::{AuditEventPage, AuditPage};
use backups::BackupsPage;
use career::CareerDataPage;
use dormant::DormantPage;
use flags::{FlagDetailPage, FlagsPage, GroupPage, GroupsPage};
use invitations::{InvitationsPage, InvitePage};
use keys::KeysPage;
use mfa::AccountPage;
use operations::{DiagnosticsPage, PoolPage, QueriesPage, StoragePage};
use pert::{PertReportPage, PertReportsPage};
use reference::{CareerPathsPage, SkillsPage};
use retention::RetentionPage;
use security::SecurityPage;
use sessions::SessionsPage;
use users::{UserDetailPage, UsersPage};

lazy_pages! {
    UsersRoute => UsersPage in Shell,
    UserDetailRoute => UserDetailPage in Shell,
    CareerRoute => CareerDataPage in Shell,
    AccountsRoute => AccountsPage in Shell,
    SessionsRoute => SessionsPage in Shell,
    InvitationsRoute => InvitationsPage in Shell,
    AccountRoute => AccountPage in Shell,
    FlagsRoute => FlagsPage in Shell,
    FlagDetailRoute => FlagDetailPage in Shell,
    GroupsRoute => GroupsPage in Shell,
    GroupRoute => GroupPage in Shell,
    AuditRoute => AuditPage in Shell,
    AuditEventRoute => AuditEventPage in Shell,
    AnalyticsRoute => AnalyticsPage in Shell,
    PertReportsRoute => PertReportsPage in Shell,
    PertReportRoute => PertReportPage in Shell,
    SkillsRoute => SkillsPage in Shell,
    CareerPathsRoute => CareerPathsPage in Shell,
    KeysRoute => KeysPage in Shell,
    RetentionRoute => RetentionPage in Shell,
    SecurityRoute => SecurityPage in Shell,
    DormantRoute => DormantPage in Shell,
    AccessReviewsRoute => AccessReviewsPage in Shell,
    AccessReviewRoute => AccessReviewPage in Shell,
    PoolRoute => PoolPage in Shell,
    QueriesRoute => QueriesPage in Shell,
    StorageRoute => StoragePage in Shell,
    DiagnosticsRoute => DiagnosticsPage in Shell,
    BackupsRoute => BackupsPage in Shell,
    // The invitee is not signed in: no console frame.
    InviteRoute => InvitePage,
}

/// The page's Content-Security-Policy: scripts only from this origin with this
/// response's nonce (leptos puts it on every script it writes) and what they load
/// (`strict-dynamic`: the hydration module, its split chunks), WebAssembly compiled by
/// them; no inline script without the nonce, no plugin, no framing.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Room for the splitter to move each page's strings out of the first module.
/// cargo-leptos's splitter (`wasm_split_cli_support` 0.2.3) repacks the constant data
/// per module and, when the result is longer than the linker's segment (strings the
/// linker merged are copied into each module that uses them), leaves all of it in the
/// first module: about 28 KB gzipped of other pages' strings (cargo-leptos#679).
/// Nothing references this, so no module takes it and the repacked data fits again.
/// `scripts/test` reports whether a page's string is in the first module.
#[cfg(feature = "hydrate")]
#[used]
static SPLIT_SLACK: [u8; 4096] = [0xA5; 4096];

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Waits for the code of a lazily loaded page before hydrating it.
    leptos::mount::hydrate_lazy(App);
}
