//! Ending sessions by filter: those of users no longer active, those started before
//! a date, those from an address. The filter is a plain GET form (bookmarkable); the
//! page shows how many active sessions it matches before anything is ended.

use super::api::{count_sessions, RevokeSessions};
use crate::components::ErrorNote;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SessionsPage() -> impl IntoView {
    let query = use_query_map();
    let field = move |name: &str| query.with(|q| q.get(name).unwrap_or_default());
    let filter = move || (field("inactive_users"), field("started_before"), field("ip_address"));
    let given = move || {
        let (a, b, c) = filter();
        !(a.is_empty() && b.is_empty() && c.is_empty())
    };
    let preview = crate::codec::resource(filter, |(inactive, before, ip)| {
        let inactive = (!inactive.is_empty()).then_some(inactive);
        async move {
            if inactive.is_none() && before.is_empty() && ip.is_empty() {
                return Ok(None);
            }
            count_sessions(String::new(), inactive, before, ip).await.map(Some)
        }
    });
    let revoke = ServerAction::<RevokeSessions>::new();
    view! {
        <h1>"Sessions"</h1>
        <form method="get" action="/sessions" class="fields" data-test-id="sessions-filter">
            <label><input type="checkbox" name="inactive_users" value="on" checked=move || !field("inactive_users").is_empty()/>" of users not active (suspended, deactivated…)"</label>
            <label>"started before (UTC) "<input type="date" name="started_before" value=move || field("started_before")/></label>
            <label>"from the address "<input type="text" name="ip_address" value=move || field("ip_address")/></label>
            <button type="submit">"Preview"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Counting…"</p> }>
            {move || Suspend::new(async move {
                match preview.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(None) => view! { <p>"Choose which sessions to end."</p> }.into_any(),
                    Ok(Some(n)) => {
                        let (inactive, before, ip) = filter();
                        view! {
                            <p data-test-id="sessions-preview">{n}" active sessions match."</p>
                            {(n > 0 && given()).then(|| view! {
                                <ActionForm action=revoke attr:data-test-id="revoke-sessions-form">
                                    <input type="hidden" name="user_id" value=""/>
                                    {(!inactive.is_empty()).then(|| view! { <input type="hidden" name="inactive_users" value="on"/> })}
                                    <input type="hidden" name="started_before" value=before/>
                                    <input type="hidden" name="ip_address" value=ip/>
                                    <button type="submit" class="danger">{format!("End these {n} sessions")}</button>
                                </ActionForm>
                            })}
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
        {move || revoke.value().get().map(|r| match r {
            Ok(n) => view! { <p data-test-id="sessions-ended">{n}" sessions ended."</p> }.into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })}
    }
}
