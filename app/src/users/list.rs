//! Users: search by username, email or name, filter by status, sort, keyset pages.
//! The filter lives in the query string, so every view is a link.

use super::api::{bulk_preview, list_users, BulkApply, CreateUser};
use crate::components::{page_key, when_or, ErrorNote, Paged};
use crate::flags::GroupSelect;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::filter::{encode_component as encode, ACCOUNT_STATUSES};

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k).unwrap_or_default());
    let args = move || (param("q"), param("match"), param("status"), param("sort"), param("dir"), param("after"));
    let page = crate::codec::resource(args, |(q, mode, status, sort, dir, after)| {
        list_users(q, mode, status, sort, dir, after)
    });

    let export_link = move |format: &str| {
        format!(
            "/export/users?q={}&match={}&status={}&sort={}&dir={}&format={format}",
            encode(&param("q")),
            encode(&param("match")),
            encode(&param("status")),
            encode(&param("sort")),
            encode(&param("dir"))
        )
    };
    view! {
        <h1>"Users"</h1>
        <details class="card" data-test-id="create-user">
            <summary>"Create a user"</summary>
            <form method="post" action={crate::policy::path_of::<CreateUser>()} class="fields">
                <label>"Username "<input name="username" required=true autocomplete="off"/></label>
                <label>"Email "<input name="email" type="email" required=true autocomplete="off"/></label>
                <label>"First name "<input name="first_name"/></label>
                <label>"Last name "<input name="last_name"/></label>
                <label>
                    "Status "
                    <select name="account_status">
                        {ACCOUNT_STATUSES.iter().map(|s| view! { <option value=*s selected=*s == "pending">{*s}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Group "<GroupSelect name="group_id"/></label>
                <button type="submit">"Create"</button>
                <small>"They get no password here: they set one through the product."</small>
            </form>
        </details>
        <form method="get" action="/users" class="filters" data-test-id="user-filters">
            <input type="search" name="q" placeholder="Username, email or name" value=move || param("q") data-test-id="user-search"/>
            <select name="match" data-test-id="user-match">
                <option value="contains">"Contains"</option>
                <option value="prefix" selected=move || param("match") == "prefix">"Starts with"</option>
            </select>
            <select name="status">
                <option value="">"Any status"</option>
                {ACCOUNT_STATUSES.iter().map(|s| view! { <option value=*s selected=move || param("status") == *s>{*s}</option> }).collect_view()}
            </select>
            <select name="sort">
                {[("username", "Username"), ("email", "Email"), ("created_at", "Created")]
                    .iter()
                    .map(|(v, l)| view! { <option value=*v selected=move || param("sort") == *v>{*l}</option> })
                    .collect_view()}
            </select>
            <select name="dir">
                <option value="asc">"Ascending"</option>
                <option value="desc" selected=move || param("dir") == "desc">"Descending"</option>
            </select>
            <button type="submit">"Search"</button>
        </form>
        <p class="exports">
            "Export this list: "
            <a href=move || export_link("csv") data-test-id="export-csv" rel="external">"CSV"</a>" · "
            <a href=move || export_link("ndjson") data-test-id="export-ndjson" rel="external">"NDJSON"</a>
        </p>
        <BulkPanel q=param("q") mode=param("match") status=param("status")/>
        <Paged>
            {move || {
                let shown = page_key(&param("after"), "");
                Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! { <p data-test-id="no-users">"No users match."</p> }.into_any(),
                    Ok(p) => {
                        let next = p.next_cursor.map(|c| {
                            let (q, mode, status, sort, dir, _) = args();
                            let href = format!(
                                "/users?q={}&match={}&status={}&sort={}&dir={}&after={}",
                                encode(&q), encode(&mode), encode(&status), encode(&sort), encode(&dir), c
                            );
                            view! { <a href=href data-test-id="next-page">"Next page →"</a> }
                        });
                        let rows = p
                            .items
                            .into_iter()
                            .map(|u| {
                                let name = [u.first_name.unwrap_or_default(), u.last_name.unwrap_or_default()].join(" ");
                                view! {
                                    <tr>
                                        <td><a href=format!("/users/{}", u.user_id)>{u.username}</a></td>
                                        <td>{u.email}</td>
                                        <td>{name}</td>
                                        <td><span class=format!("status {}", u.account_status)>{u.account_status.clone()}</span></td>
                                        <td>{when_or(&u.created_at, "unknown")}</td>
                                        <td>{when_or(&u.last_login, "never")}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <table class="list" data-test-id="users-table" data-page=shown>
                                <thead><tr><th>"Username"</th><th>"Email"</th><th>"Name"</th><th>"Status"</th><th>"Created"</th><th>"Last sign-in"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <nav class="pager">{next}</nav>
                        }
                            .into_any()
                    }
                }
            })}}
        </Paged>
    }
}

/// One action for everyone the current filter matches: how many first (on request:
/// counting walks up to 10,000 users, too much for every page load), then apply.
#[component]
fn BulkPanel(q: String, mode: String, status: String) -> impl IntoView {
    let apply = ServerAction::<BulkApply>::new();
    let (pq, pm, ps) = (q.clone(), mode.clone(), status.clone());
    let (q2, mode2, status2) = (q.clone(), mode.clone(), status.clone());
    let count = Action::new(move |_: &()| bulk_preview(pq.clone(), pm.clone(), ps.clone()));
    view! {
        <details class="card" data-test-id="bulk">
            <summary>"Change everyone this filter matches"</summary>
            <p>
                <button type="button" on:click=move |_| { count.dispatch(()); } data-test-id="bulk-count-button">"Count them"</button>
                " "
                {move || count.value().get().map(|r| match r {
                    Ok(n) => view! { <span data-test-id="bulk-count">{n}" users match (you are left out)."</span> }.into_any(),
                    Err(e) => view! { <crate::components::ErrorNote error=e/> }.into_any(),
                })}
            </p>
            <ActionForm action=apply attr:class="fields" attr:data-test-id="bulk-form">
                <input type="hidden" name="q" value=q/>
                <input type="hidden" name="mode" value=mode/>
                <input type="hidden" name="status" value=status/>
                <label>
                    "Action "
                    <select name="action">
                        <option value="status">"set the status to"</option>
                        <option value="revoke_sessions">"end their sessions"</option>
                    </select>
                </label>
                <select name="value">
                    {ACCOUNT_STATUSES.iter().map(|s| view! { <option value=*s>{*s}</option> }).collect_view()}
                </select>
                <button type="submit" class="danger">"Apply to all of them"</button>
            </ActionForm>
            <ActionForm action=apply attr:class="fields" attr:data-test-id="bulk-group-form">
                <input type="hidden" name="q" value=q2/>
                <input type="hidden" name="mode" value=mode2/>
                <input type="hidden" name="status" value=status2/>
                <input type="hidden" name="action" value="group"/>
                <label>"Put them in the group "<GroupSelect name="value"/></label>
                <button type="submit" class="danger">"Apply to all of them"</button>
            </ActionForm>
            {move || apply.value().get().map(|r| match r {
                Ok(o) => view! { <p data-test-id="bulk-outcome">{o.changed}" changed, "{o.failed}" left unchanged."</p> }.into_any(),
                Err(e) => view! { <crate::components::ErrorNote error=e/> }.into_any(),
            })}
        </details>
    }
}
