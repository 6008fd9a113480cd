//! Pieces every page uses: the shell with its navigation, error display, the frame
//! of a keyset-paged list, the confirmation form and time formats.

use crate::policy::{nav, Section};
use crate::sessions::api::me;
use leptos::prelude::*;
use leptos_router::components::A;
use pathfinder::AppError;

/// "Confirm it is you": the password (and code) again, for the dangerous actions of
/// the next few minutes; posts to `/auth/confirm`, which comes back here and says
/// how it went.
#[component]
pub fn ConfirmPanel() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let query = leptos_router::hooks::use_query_map();
    let said = move || match query.with(|q| q.get("confirm")).as_deref() {
        Some("ok") => Some(("info", "Confirmed: for 5 minutes the actions below need no password.")),
        Some("failed") => Some(("error", "That password or code was not right.")),
        Some("unavailable") => Some(("error", "The database is busy or unreachable; try again shortly.")),
        _ => None,
    };
    view! {
        <form method="post" action="/auth/confirm" class="inline confirm" data-test-id="confirm-form">
            <input type="hidden" name="next" value=move || location.pathname.get()/>
            <span>"Confirm it is you (deleting, dropping tables, granting admin, resetting two-factor sign-in): "</span>
            <input type="password" name="password" placeholder="Your password" autocomplete="current-password" required=true/>
            <input name="code" placeholder="Your code, if you use one" inputmode="numeric" autocomplete="one-time-code"/>
            <button type="submit">"Confirm"</button>
        </form>
        {move || said().map(|(class, text)| view! { <p class=class data-test-id="confirm-message">{text}</p> })}
    }
}

/// Marks the body `data-hydrated` once the page that calls it is hydrated, which
/// lets tests (and people) tell. Called by each page's frame rather than by the
/// app: a page whose code loads later (a lazy route) is hydrated after the app.
pub fn mark_hydrated() {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// The page frame: the product's name, the navigation (the sections a holder of the
/// user's roles may open, each a menu), the signed-in user and sign-out.
#[component]
pub fn Shell(children: Children) -> impl IntoView {
    mark_hydrated();
    let who = crate::codec::resource(|| (), |_| me());
    // A menu opened and followed closes when the page changes, as a menu does.
    let location = leptos_router::hooks::use_location();
    let closed_on_navigation = move || {
        location.pathname.track();
        false
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Pathfinder Admin"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match who.await {
                        Ok(Some(p)) => {
                            // Until they set up the second factor their role requires,
                            // their account page is all they may open.
                            let roles: &[pathfinder::Role] = if p.mfa_pending { &[] } else { &p.roles };
                            let sections = Section::ALL
                                .iter()
                                .map(|s| (*s, nav(*s, roles)))
                                .filter(|(_, links)| !links.is_empty())
                                .map(|(section, links)| {
                                    let links = links
                                        .into_iter()
                                        .map(|(path, label)| view! { <A href=path>{label}</A> })
                                        .collect_view();
                                    match section {
                                        Section::Top => view! { <span class="top-links">{links}</span> }.into_any(),
                                        s => view! {
                                            <details class="menu" prop:open=closed_on_navigation data-test-id=s.test_id()>
                                                <summary>{s.label()}</summary>
                                                <div class="menu-items">{links}</div>
                                            </details>
                                        }
                                        .into_any(),
                                    }
                                })
                                .collect_view();
                            let roles = p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
                            view! {
                                <nav data-test-id="nav">{sections}</nav>
                                <div class="whoami">
                                    <a href="/account" data-test-id="whoami">{p.username.clone()}</a>
                                    <span class="roles">{roles}</span>
                                    <form method="post" action="/auth/logout">
                                        <button type="submit" data-test-id="sign-out">"Sign out"</button>
                                    </form>
                                </div>
                            }
                                .into_any()
                        }
                        _ => view! { <a href="/login">"Sign in"</a> }.into_any(),
                    }
                })}
            </Suspense>
        </header>
        <main class="content">{children()}</main>
    }
}

/// An error as a sentence. Never more than the error's own message (no causes, no SQL).
#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    let sign_in = matches!(error, AppError::Unauthenticated).then(|| view! { " " <a href="/login">"Sign in"</a> });
    view! {
        <p class="error" role="alert" data-test-id="error">
            {error.to_string()}
            {sign_in}
        </p>
    }
}

/// The error of an action's last answer, if it failed.
pub fn error_of<T>(v: Option<Result<T, AppError>>) -> Option<AnyView> {
    match v {
        Some(Err(e)) => Some(view! { <ErrorNote error=e/> }.into_any()),
        _ => None,
    }
}

/// Whether the signed-in user may call the server function `F`: what a page offers
/// them (the server function asks the policy again).
pub async fn may_call<F: leptos::server_fn::ServerFn>(
    who: crate::codec::Resource<Result<Option<pathfinder::dto::Principal>, AppError>>,
) -> bool {
    matches!(who.await, Ok(Some(p)) if crate::policy::may_see(F::PATH, &p.roles))
}

/// The frame of a keyset-paged list, the same on every page that pages. While the
/// next page loads, either way, the rows shown stay on screen (a `Transition`, not a
/// `Suspense`: no empty flash) and the frame says `aria-busy="true"`. Its `children`
/// put the page they show in `data-page` (see [`page_key`]) on the list, which is
/// what tests wait for.
#[component]
pub fn Paged(children: ChildrenFn) -> impl IntoView {
    let (busy, set_busy) = signal(false);
    let fallback = || view! { <p>"Loading…"</p> };
    // Only the browser loads a next page. On the server the pending state's effect
    // would outlive the request it belongs to (leptos runs it after the request's
    // reactive state is gone, and it panics reading it).
    #[cfg(feature = "hydrate")]
    let list = view! { <Transition fallback set_pending=set_busy>{children()}</Transition> };
    #[cfg(not(feature = "hydrate"))]
    let list = {
        let _ = set_busy;
        view! { <Transition fallback>{children()}</Transition> }
    };
    view! { <div class="paged" aria-busy=move || busy.get().to_string()>{list}</div> }
}

/// A page's name for `data-page`: its cursor and direction (`after:…`, `before:…`),
/// or `first`.
pub fn page_key(after: &str, before: &str) -> String {
    match (after, before) {
        ("", "") => "first".into(),
        (a, "") => format!("after:{a}"),
        (_, b) => format!("before:{b}"),
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! { <h1>"Page not found"</h1> <p>"There is no such page in the console."</p> }
}

/// Formats an optional UTC timestamp, saying `none` when absent.
pub fn when_or(t: &Option<chrono::DateTime<chrono::Utc>>, none: &str) -> String {
    t.as_ref().map(when).unwrap_or_else(|| none.to_string())
}

/// Formats a UTC timestamp for tables.
pub fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    // By hand: chrono's format strings would add their parser to the wasm bundle.
    use chrono::{Datelike, Timelike};
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), t.month(), t.day(), t.hour(), t.minute())
}
