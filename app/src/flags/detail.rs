//! One flag: edit, delete, its overrides (filtered, a page at a time), an
//! evaluator and its history.

use super::api::{get_flag, DeleteFlag, DeleteOverride, EvaluateFlag, SaveFlag, SetOverride};
use super::forms::{flag_fields, override_form, override_rows, RULE};
use crate::components::{error_of, may_call, page_key, when, ErrorNote, Paged};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use pathfinder::filter::encode_component as encode;

#[component]
pub fn FlagDetailPage() -> impl IntoView {
    let params = use_params_map();
    let key = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let query = use_query_map();
    let param = move |k: &str| query.with(|m| m.get(k).unwrap_or_default());
    let filter = move || (param("holders"), param("state"), param("holder"), param("after"));
    let save = ServerAction::<SaveFlag>::new();
    let set = ServerAction::<SetOverride>::new();
    let remove = ServerAction::<DeleteOverride>::new();
    let delete = ServerAction::<DeleteFlag>::new();
    let who = crate::codec::resource(|| (), |_| crate::sessions::api::me());
    let page = crate::codec::resource(
        move || (key.get(), filter(), save.version().get(), set.version().get(), remove.version().get()),
        |(k, (holders, state, holder, after), ..)| get_flag(k, holders, state, holder, after),
    );
    let deleted = move || match delete.value().get() {
        Some(Ok(n)) => {
            Some(view! { <p data-test-id="flag-deleted">{format!("Deleted, with {n} override(s).")}</p> }.into_any())
        }
        other => error_of(other),
    };
    view! {
        <p><a href="/flags">"← Feature flags"</a></p>
        <h1>"Flag "<code>{move || key.get()}</code></h1>
        {deleted}
        <Paged>
            {move || {
                let shown = page_key(&param("after"), "");
                Suspend::new(async move {
                // SREs read a flag; administrators also edit it.
                let admin = may_call::<SaveFlag>(who).await;
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => {
                        let key = p.flag.key.clone();
                        let key_to_delete = key.clone();
                        let key_to_evaluate = key.clone();
                        let history_link = format!("/audit?entity_id={}", p.flag.flag_id);
                        let confirm = format!(
                            "Delete this flag and its {} override(s)? Services then get their own defaults.",
                            p.override_count
                        );
                        let overrides = override_rows(&p.overrides.items, admin.then_some(remove), true);
                        let next = p.overrides.next_cursor.clone().map(|after| {
                            let (holders, state, holder, _) = filter();
                            let href = format!(
                                "/flags/{}?holders={}&state={}&holder={}&after={}",
                                key, encode(&holders), encode(&state), encode(&holder), encode(&after)
                            );
                            view! { <a href=href data-test-id="overrides-next">"Next page →"</a> }
                        });
                        let history = p.history.iter().map(|r| view! {
                            <li>
                                {when(&r.created_at)}" · "<a href=format!("/audit/{}", r.id)>{r.action.clone()}</a>
                                " by "{r.username.clone().or(r.user_id.clone()).unwrap_or_else(|| r.unnamed_actor())}
                                <br/><code class="change">{r.detail.clone().unwrap_or_default()}</code>
                            </li>
                        }).collect_view();
                        let flag = p.flag.clone();
                        view! {
                            {admin.then(|| view! {
                                <ActionForm action=save attr:class="fields" attr:data-test-id="flag-edit">
                                    {flag_fields(Some(&flag))}
                                    <button type="submit">"Save"</button>
                                </ActionForm>
                            })}
                            {(!admin).then(|| view! {
                                <p>{format!("{} ({}), default ", p.flag.name, p.flag.flag_type.as_str())}<code>{p.flag.default_value.clone()}</code></p>
                            })}
                            {move || error_of(save.value().get())}
                            <h2>"Overrides"</h2>
                            <p class="hint">{RULE}</p>
                            <p>{format!("{} override(s) in all", p.override_count)}</p>
                            <form method="get" action=format!("/flags/{key}") class="fields" data-test-id="overrides-filter">
                                <label>"Held by "<select name="holders">
                                    <option value="">"users and groups"</option>
                                    <option value="users" selected=param("holders") == "users">"users"</option>
                                    <option value="groups" selected=param("holders") == "groups">"groups"</option>
                                </select></label>
                                <label>"State "<select name="state">
                                    <option value="">"any"</option>
                                    <option value="active" selected=param("state") == "active">"active"</option>
                                    <option value="expired" selected=param("state") == "expired">"expired, not yet removed"</option>
                                </select></label>
                                <label>"User or group "<input name="holder" value=param("holder") placeholder="username or group name"/></label>
                                <button type="submit">"Show"</button>
                            </form>
                            <div data-test-id="overrides" data-page=shown>{overrides}</div>
                            <nav class="pager">{next}</nav>
                            {admin.then(|| override_form(set, Some(key.clone()), None))}
                            {move || error_of(set.value().get())}
                            <Evaluator key=key_to_evaluate/>
                            <h2>"History"</h2>
                            <p><a href=history_link>"Every change in the audit log"</a></p>
                            <ul class="history" data-test-id="flag-history">{history}</ul>
                            {admin.then(|| view! {
                                <ActionForm action=delete attr:class="inline" attr:onsubmit=format!("return confirm({confirm:?})")>
                                    <input type="hidden" name="key" value=key_to_delete.clone()/>
                                    <button type="submit" class="danger">"Delete flag"</button>
                                </ActionForm>
                            })}
                        }.into_any()
                    }
                }
            })}}
        </Paged>
    }
}

/// A username in, the flag's value for them and why out.
#[component]
fn Evaluator(key: String) -> impl IntoView {
    let evaluate = ServerAction::<EvaluateFlag>::new();
    let out = move || match evaluate.value().get() {
        Some(Ok(e)) => Some(
            view! {
                <p data-test-id="evaluation"><code>{e.value.to_string()}</code>" from "{e.source.describe()}</p>
            }
            .into_any(),
        ),
        other => error_of(other),
    };
    view! {
        <h2>"Evaluate"</h2>
        <ActionForm action=evaluate attr:class="fields" attr:data-test-id="evaluator">
            <input type="hidden" name="key" value=key/>
            <label>"Username "<input name="user" required=true/></label>
            <button type="submit">"Evaluate"</button>
        </ActionForm>
        {out}
    }
}
