//! Pieces every page uses: the shell with its navigation, and error display.

use crate::api::me;
use crate::policy::may_see;
use leptos::prelude::*;
use leptos_router::components::A;
use pathfinder::AppError;

/// Sections of the console that are built, in nav order.
const SECTIONS: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/users", "Users"),
    ("/accounts", "Console accounts"),
    ("/sessions", "Sessions"),
    ("/invitations", "Invitations"),
    ("/keys", "Keys"),
    ("/flags", "Flags"),
    ("/audit", "Audit"),
    ("/pool", "Pool"),
    ("/queries", "Queries"),
    ("/storage", "Storage"),
    ("/diagnostics", "Diagnostics"),
    ("/backups", "Backups"),
    ("/retention", "Retention"),
];

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

/// The page frame: header, navigation filtered by the user's roles, sign-out.
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

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    mark_hydrated();
    let who = crate::codec::resource(|| (), |_| me());
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Pathfinder Admin"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match who.await {
                        Ok(Some(p)) => {
                            // Until they set up the second factor their role requires,
                            // their account page is all they may open.
                            let links = SECTIONS
                                .iter()
                                .filter(|(path, _)| !p.mfa_pending && may_see(path, &p.roles))
                                .map(|(path, label)| view! { <A href=*path>{*label}</A> })
                                .collect_view();
                            let roles = p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
                            view! {
                                <nav data-test-id="nav">{links}</nav>
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

/// A picker of the feature-flag groups (and "no group", the empty value), with
/// `current` chosen. Until the list is in, it holds `current` alone, so a form sent
/// meanwhile changes nothing; a list that fails to load says so.
#[component]
pub fn GroupSelect(name: &'static str, #[prop(optional)] current: Option<String>) -> impl IntoView {
    let groups = crate::codec::resource(|| (), |_| crate::api::groups());
    let waiting = current.clone().unwrap_or_default();
    view! {
        <Suspense fallback=move || view! { <select name=name><option value=waiting.clone()>"Loading…"</option></select> }>
            {move || {
                let current = current.clone();
                Suspend::new(async move {
                    match groups.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(groups) => {
                            let options = groups.into_iter().map(|g| {
                                let selected = current.as_deref() == Some(g.group_id.as_str());
                                view! { <option value=g.group_id selected=selected>{g.group_name}</option> }
                            });
                            view! {
                                <select name=name aria-label="Group" data-test-id=format!("group-select-{name}")>
                                    <option value="">"no group"</option>
                                    {options.collect_view()}
                                </select>
                            }
                            .into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}
