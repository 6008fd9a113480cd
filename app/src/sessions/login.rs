//! Sign-in. A plain form POST to `/auth/login`, so it works before the wasm loads;
//! the "Show" toggle works only once hydrated.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    crate::components::mark_hydrated();
    let query = use_query_map();
    let message = move || {
        query.with(|q| match q.get("error").as_deref() {
            Some("credentials") => Some(("error", "The username, password or two-factor code is incorrect.")),
            Some("origin") => Some(("error", "That request came from another site and was refused.")),
            Some("unavailable") => Some(("error", "The database is busy or unreachable; try again shortly.")),
            _ if q.get("signed_out").is_some() => Some(("info", "You are signed out.")),
            _ if q.get("invited").is_some() => Some(("info", "Your account is ready: sign in.")),
            _ => None,
        })
    };
    let (show, set_show) = signal(false);
    view! {
        <main class="login">
            <h1>"Pathfinder Admin"</h1>
            {move || message().map(|(class, text)| view! { <p class=class role="alert" data-test-id="login-message">{text}</p> })}
            <form method="post" action="/auth/login" class="card">
                <label>"Username" <input name="username" autocomplete="username" required=true autofocus=true/></label>
                <label>
                    "Password"
                    <span class="password">
                        <input
                            name="password"
                            data-test-id="password"
                            type=move || if show.get() { "text" } else { "password" }
                            autocomplete="current-password"
                            required=true
                        />
                        <button type="button" data-test-id="toggle-password" on:click=move |_| set_show.update(|s| *s = !*s)>
                            {move || if show.get() { "Hide" } else { "Show" }}
                        </button>
                    </span>
                </label>
                // Always asked, so the form tells nobody which accounts use one.
                <label>
                    "Two-factor code "<small>"(if your account uses one; or a recovery code)"</small>
                    <input name="code" data-test-id="code" inputmode="numeric" autocomplete="one-time-code"/>
                </label>
                <button type="submit" data-test-id="sign-in">"Sign in"</button>
            </form>
        </main>
    }
}
