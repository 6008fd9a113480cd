//! The flags list with its filters, a new flag's form, and the evaluation API's keys.

use super::api::{get_api_keys, get_flags, CreateApiKey, RevokeApiKey, SaveFlag};
use super::forms::{flag_fields, RULE};
use crate::components::{error_of, may_call, when, when_or, ErrorNote};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::flags::FlagType;

#[component]
pub fn FlagsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|m| m.get(k).unwrap_or_default());
    let args = move || (param("q"), param("type"), param("system_wide"), param("sort"));
    let save = ServerAction::<SaveFlag>::new();
    let list = crate::codec::resource(
        move || (args(), save.version().get()),
        |((q, t, sw, sort), _)| get_flags(q, t, sw, sort),
    );
    let who = crate::codec::resource(|| (), |_| crate::sessions::api::me());
    let created = move || match save.value().get() {
        Some(Ok(f)) => Some(
            view! {
                <p data-test-id="flag-created">"Created "<a href=format!("/flags/{}", f.key)>{f.key.clone()}</a></p>
            }
            .into_any(),
        ),
        other => error_of(other),
    };
    view! {
        <h1>"Feature flags"</h1>
        <p class="hint">{RULE}</p>
        <form method="get" action="/flags" class="fields" data-test-id="flags-filter">
            <label>"Key or name "<input name="q" value=move || param("q")/></label>
            <label>"Type "<select name="type">
                <option value="">"any"</option>
                {FlagType::ALL.map(|t| view! { <option value=t.as_str() selected=move || param("type") == t.as_str()>{t.as_str()}</option> })}
            </select></label>
            <label>"System-wide "<select name="system_wide">
                <option value="">"either"</option>
                <option value="yes" selected=move || param("system_wide") == "yes">"yes"</option>
                <option value="no" selected=move || param("system_wide") == "no">"no"</option>
            </select></label>
            <label>"Sort by "<select name="sort">
                {[("key", "key"), ("name", "name"), ("type", "type"), ("updated", "last change")]
                    .map(|(v, l)| view! { <option value=v selected=move || param("sort") == v>{l}</option> })}
            </select></label>
            <button type="submit">"Show"</button>
            " "<a href="/groups">"Groups"</a>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(flags) if flags.is_empty() => view! { <p data-test-id="no-flags">"No flags match."</p> }.into_any(),
                    Ok(flags) => {
                        let rows = flags.into_iter().map(|f| view! {
                            <tr>
                                <td><a href=format!("/flags/{}", f.key)>{f.key.clone()}</a></td>
                                <td>{f.name}</td>
                                <td>{f.flag_type.as_str()}</td>
                                <td><code>{f.default_value}</code></td>
                                <td>{if f.system_wide { "system-wide" } else { "" }}</td>
                                <td>{if f.requires_restart { "restart" } else { "" }}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <table class="list" data-test-id="flags-table">
                                <thead><tr><th>"Key"</th><th>"Name"</th><th>"Type"</th><th>"Default"</th><th></th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
        <h2>"New flag"</h2>
        <ActionForm action=save attr:class="fields" attr:data-test-id="flag-form">
            {flag_fields(None)}
            <button type="submit">"Create"</button>
        </ActionForm>
        {created}
        // Keys are for administrators: others see no such section.
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = may_call::<super::api::GetApiKeys>(who).await;
                admin.then(|| view! { <ApiKeys/> })
            })}
        </Suspense>
    }
}

/// The evaluation API's keys: make one (its secret shown once), revoke one.
#[component]
fn ApiKeys() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = crate::codec::resource(move || (create.version().get(), revoke.version().get()), |_| get_api_keys());
    let made = move || match create.value().get() {
        Some(Ok(k)) => Some(
            view! {
                <p data-test-id="api-key-secret">"Key for "{k.key.name}" (shown this once): "<code>{k.secret}</code></p>
            }
            .into_any(),
        ),
        other => error_of(other),
    };
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(keys) => {
                        let list = keys.into_iter().map(|k| {
                            let live = k.revoked_at.is_none();
                            let id = k.key_id.clone();
                            view! {
                                <p>
                                    <code>{k.prefix}"…"</code>" "{k.name}" · made "{when(&k.created_at)}
                                    " · last used "{when_or(&k.last_used_at, "never")}
                                    {k.revoked_at.map(|t| format!(" · revoked {}", when(&t)))}
                                    {live.then(|| view! {
                                        <ActionForm action=revoke attr:class="inline">
                                            <input type="hidden" name="key_id" value=id.clone()/>
                                            <button type="submit">"Revoke"</button>
                                        </ActionForm>
                                    })}
                                </p>
                            }
                        }).collect_view();
                        view! {
                            <h2>"Evaluation API keys"</h2>
                            <p class="hint">"Services evaluate flags with OFREP (POST /ofrep/v1/evaluate/flags[/key]) and a key in X-API-Key. Calls are counted in /metrics, not audited one by one."</p>
                            <ActionForm action=create attr:class="fields">
                                <label>"Service "<input name="name" required=true/></label>
                                <button type="submit">"Make a key"</button>
                            </ActionForm>
                            {made}
                            {move || error_of(revoke.value().get())}
                            {list}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
