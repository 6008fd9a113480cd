//! An invitation's page, public: the invitee chooses a username and a password; a
//! plain form post to `/auth/accept_invitation` makes the account (works before the
//! page's code loads). A used, expired or withdrawn link says so (410).

use super::api::invitation_preview;
use crate::components::ErrorNote;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use pathfinder::AppError;

#[component]
pub fn InvitePage() -> impl IntoView {
    crate::components::mark_hydrated();
    let params = use_params_map();
    let query = use_query_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let preview = crate::codec::resource(token, invitation_preview);
    let form_error = move || query.with(|q| q.get("__err")).and_then(|code| AppError::from_code(&code));
    view! {
        <main class="login">
            <h1>"Pathfinder"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(i) => view! {
                            <p data-test-id="invite-for">"An invitation for "<strong>{i.email}</strong>
                                {(i.role != "user").then(|| format!(", with the console role {}", i.role))}"."</p>
                            {form_error().map(|e| view! { <ErrorNote error=e/> })}
                            <form method="post" action="/auth/accept_invitation" class="card" data-test-id="accept-form">
                                <input type="hidden" name="token" value=token()/>
                                <label>"Username "<small>"(lower-case letters, digits, _)"</small>
                                    <input name="username" autocomplete="username" required=true data-test-id="invite-username"/></label>
                                <label>"Password "<small>"(at least 12 characters)"</small>
                                    <input name="password" type="password" autocomplete="new-password" required=true data-test-id="invite-password"/></label>
                                <button type="submit" data-test-id="accept">"Create my account"</button>
                            </form>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
