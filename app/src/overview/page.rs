//! The overview: users by status, active sessions, audit events, schema, backend.

use super::api::get_overview;
use crate::components::ErrorNote;
use leptos::prelude::*;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let data = crate::codec::resource(|| (), |_| get_overview());
    view! {
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(o) => {
                        let total: i64 = o.users_by_status.iter().map(|s| s.count).sum();
                        let statuses = o
                            .users_by_status
                            .into_iter()
                            .map(|s| view! { <li>{s.status}": "<strong>{s.count}</strong></li> })
                            .collect_view();
                        view! {
                            <section class="cards" data-test-id="overview">
                                <div class="card"><h2>"Users"</h2><p class="big" data-test-id="users-total">{total}</p><ul>{statuses}</ul></div>
                                <div class="card"><h2>"Active sessions"</h2><p class="big" data-test-id="active-sessions">{o.active_sessions}</p></div>
                                <div class="card"><h2>"Audit events (24 h)"</h2><p class="big" data-test-id="audit-24h">{o.audit_events_24h}</p></div>
                                <div class="card"><h2>"Database"</h2><p data-test-id="backend">{o.backend}</p><p>"Schema version "<span data-test-id="schema-version">{o.schema_version}</span></p>
                                    <p>"Statistics refreshed "<span data-test-id="stats-refreshed">{crate::components::when_or(&o.stats_refresh.finished_at, "never")}</span>
                                    {o.stats_refresh.duration_ms.map(|ms| format!(" in {ms} ms"))}</p></div>
                            </section>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
