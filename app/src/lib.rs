//! Pathfinder Admin's user interface: the shell, routes and pages (rendered on the
//! server, then hydrated in the browser), and the server functions they call.

pub mod api;
mod codec;
mod components;
mod pages;
pub mod policy;

use components::Shell;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
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
    view! {
        <Stylesheet id="leptos" href="/pkg/pathfinder.css"/>
        <Title text="Pathfinder Admin"/>
        <Router>
            <Routes fallback=|| view! { <Shell><pages::NotFound/></Shell> }>
                <Route path=path!("/login") view=pages::Login/>
                <Route path=path!("/") view=|| view! { <Shell><pages::OverviewPage/></Shell> }/>
                <Route path=path!("/users") view={Lazy::<UsersRoute>::new()}/>
                <Route path=path!("/users/:id") view={Lazy::<UserDetailRoute>::new()}/>
                <Route path=path!("/keys") view={Lazy::<KeysRoute>::new()}/>
                <Route path=path!("/account") view={Lazy::<AccountRoute>::new()}/>
                <Route path=path!("/accounts") view={Lazy::<AccountsRoute>::new()}/>
                <Route path=path!("/sessions") view={Lazy::<SessionsRoute>::new()}/>
                <Route path=path!("/invitations") view={Lazy::<InvitationsRoute>::new()}/>
                <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()}/>
                <Route path=path!("/audit/:id") view={Lazy::<AuditEventRoute>::new()}/>
                <Route path=path!("/flags") view={Lazy::<FlagsRoute>::new()}/>
                <Route path=path!("/flags/:id") view={Lazy::<FlagDetailRoute>::new()}/>
                <Route path=path!("/groups") view={Lazy::<GroupsRoute>::new()}/>
                <Route path=path!("/groups/:id") view={Lazy::<GroupRoute>::new()}/>
                <Route path=path!("/pool") view={Lazy::<PoolRoute>::new()}/>
                <Route path=path!("/queries") view={Lazy::<QueriesRoute>::new()}/>
                <Route path=path!("/storage") view={Lazy::<StorageRoute>::new()}/>
                <Route path=path!("/diagnostics") view={Lazy::<DiagnosticsRoute>::new()}/>
                <Route path=path!("/backups") view={Lazy::<BackupsRoute>::new()}/>
                <Route path=path!("/retention") view={Lazy::<RetentionRoute>::new()}/>
                // Rendered whole before it is sent, so a used link's page is a 410.
                <Route path=path!("/invite/:token") view={Lazy::<InviteRoute>::new()} ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
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

// Pages past the first load their code when first visited (cargo-leptos --split):
// the bundle a browser fetches to sign in and see the overview stays small while
// pages are added. Each page loads its own data.

struct UsersRoute;

#[lazy_route]
impl LazyRoute for UsersRoute {
    fn data() -> Self {
        UsersRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::UsersPage/></Shell> }.into_any()
    }
}

struct UserDetailRoute;

#[lazy_route]
impl LazyRoute for UserDetailRoute {
    fn data() -> Self {
        UserDetailRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::UserDetailPage/></Shell> }.into_any()
    }
}

struct KeysRoute;

#[lazy_route]
impl LazyRoute for KeysRoute {
    fn data() -> Self {
        KeysRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::KeysPage/></Shell> }.into_any()
    }
}

struct AccountRoute;

#[lazy_route]
impl LazyRoute for AccountRoute {
    fn data() -> Self {
        AccountRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::AccountPage/></Shell> }.into_any()
    }
}

struct AccountsRoute;

#[lazy_route]
impl LazyRoute for AccountsRoute {
    fn data() -> Self {
        AccountsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::AccountsPage/></Shell> }.into_any()
    }
}

struct SessionsRoute;

#[lazy_route]
impl LazyRoute for SessionsRoute {
    fn data() -> Self {
        SessionsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::SessionsPage/></Shell> }.into_any()
    }
}

struct InvitationsRoute;

#[lazy_route]
impl LazyRoute for InvitationsRoute {
    fn data() -> Self {
        InvitationsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::InvitationsPage/></Shell> }.into_any()
    }
}

struct AuditRoute;

#[lazy_route]
impl LazyRoute for AuditRoute {
    fn data() -> Self {
        AuditRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::AuditPage/></Shell> }.into_any()
    }
}

struct AuditEventRoute;

#[lazy_route]
impl LazyRoute for AuditEventRoute {
    fn data() -> Self {
        AuditEventRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::AuditEventPage/></Shell> }.into_any()
    }
}

struct InviteRoute;

#[lazy_route]
impl LazyRoute for InviteRoute {
    fn data() -> Self {
        InviteRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <pages::InvitePage/> }.into_any()
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

struct FlagsRoute;

#[lazy_route]
impl LazyRoute for FlagsRoute {
    fn data() -> Self {
        FlagsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::FlagsPage/></Shell> }.into_any()
    }
}

struct FlagDetailRoute;

#[lazy_route]
impl LazyRoute for FlagDetailRoute {
    fn data() -> Self {
        FlagDetailRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::FlagDetailPage/></Shell> }.into_any()
    }
}

struct GroupsRoute;

#[lazy_route]
impl LazyRoute for GroupsRoute {
    fn data() -> Self {
        GroupsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::GroupsPage/></Shell> }.into_any()
    }
}

struct GroupRoute;

#[lazy_route]
impl LazyRoute for GroupRoute {
    fn data() -> Self {
        GroupRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::GroupPage/></Shell> }.into_any()
    }
}

struct PoolRoute;

#[lazy_route]
impl LazyRoute for PoolRoute {
    fn data() -> Self {
        PoolRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::PoolPage/></Shell> }.into_any()
    }
}

struct QueriesRoute;

#[lazy_route]
impl LazyRoute for QueriesRoute {
    fn data() -> Self {
        QueriesRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::QueriesPage/></Shell> }.into_any()
    }
}

struct StorageRoute;

#[lazy_route]
impl LazyRoute for StorageRoute {
    fn data() -> Self {
        StorageRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::StoragePage/></Shell> }.into_any()
    }
}

struct DiagnosticsRoute;

#[lazy_route]
impl LazyRoute for DiagnosticsRoute {
    fn data() -> Self {
        DiagnosticsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::DiagnosticsPage/></Shell> }.into_any()
    }
}

struct BackupsRoute;

#[lazy_route]
impl LazyRoute for BackupsRoute {
    fn data() -> Self {
        BackupsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::BackupsPage/></Shell> }.into_any()
    }
}

struct RetentionRoute;

#[lazy_route]
impl LazyRoute for RetentionRoute {
    fn data() -> Self {
        RetentionRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Shell><pages::RetentionPage/></Shell> }.into_any()
    }
}
