//! One event's page: every column, with links to its actor and entity.

use super::api::audit_event;
use crate::components::{when, ErrorNote};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// One event: every column, with links to its actor and entity.
#[component]
pub fn AuditEventPage() -> impl IntoView {
    let params = use_params_map();
    let event = crate::codec::resource(move || params.with(|p| p.get("id").unwrap_or_default()), audit_event);
    view! {
        <h1>"Audit event"</h1>
        <p><a href="/audit">"← The audit log"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match event.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(e) => {
                        let actor = match &e.user_id {
                            Some(id) => view! { <a href=format!("/users/{id}") data-test-id="event-actor">{e.username.clone().unwrap_or_else(|| id.clone())}</a> }.into_any(),
                            None => view! { <span data-test-id="event-actor">{e.unnamed_actor()}</span> }.into_any(),
                        };
                        let entity = match (e.entity_type.as_deref(), &e.entity_id) {
                            (Some("user" | "user_tables"), Some(id)) => view! { <a href=format!("/users/{id}") data-test-id="event-entity">{id.clone()}</a> }.into_any(),
                            (_, Some(id)) => view! { <span>{id.clone()}</span> }.into_any(),
                            _ => ().into_any(),
                        };
                        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                        let num = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
                        let timeline = e.user_id.clone().map(|id| view! {
                            <p><a href=format!("/audit?involving={id}")>"Their whole timeline"</a></p>
                        });
                        view! {
                            <dl class="event" data-test-id="audit-event">
                                <dt>"Id"</dt><dd><code>{e.id.clone()}</code></dd>
                                <dt>"When"</dt><dd>{when(&e.created_at)}</dd>
                                <dt>"Actor"</dt><dd>{actor}</dd>
                                <dt>"Action"</dt><dd><code data-test-id="event-action">{e.action.clone()}</code></dd>
                                <dt>"Entity type"</dt><dd>{opt(&e.entity_type)}</dd>
                                <dt>"Entity id"</dt><dd>{entity}</dd>
                                <dt>"Address"</dt><dd>{opt(&e.ip_address)}</dd>
                                <dt>"User agent"</dt><dd>{opt(&e.user_agent)}</dd>
                                <dt>"Method"</dt><dd>{opt(&e.request_method)}</dd>
                                <dt>"Path"</dt><dd>{opt(&e.request_path)}</dd>
                                <dt>"Status"</dt><dd>{num(e.response_status)}</dd>
                                <dt>"Time taken (ms)"</dt><dd>{num(e.execution_time_ms)}</dd>
                                <dt>"Detail"</dt><dd>{opt(&e.detail)}</dd>
                                <dt>"Chain sequence"</dt><dd>{num(e.chain_seq)}</dd>
                                <dt>"Chain hash"</dt><dd><code>{opt(&e.chain_hash)}</code></dd>
                            </dl>
                            {timeline}
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
