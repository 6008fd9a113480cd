//! The groups: the list (edited by administrators), one group's page with its
//! members and overrides, and the group picker other pages use.

use super::api::{
    get_flag_group, get_flag_groups, AddGroupMember, DeleteGroup, DeleteOverride, SaveGroup, SetOverride, SetUserGroup,
};
use super::forms::{override_form, override_rows, RULE};
use crate::components::{error_of, may_call, page_key, ErrorNote, Paged};
use crate::users::api::BulkApply;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use pathfinder::filter::{encode_component as encode, ACCOUNT_STATUSES};
use pathfinder::flags::Target;

#[component]
pub fn GroupsPage() -> impl IntoView {
    let save = ServerAction::<SaveGroup>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let groups = crate::codec::resource(move || (save.version().get(), delete.version().get()), |_| get_flag_groups());
    let who = crate::codec::resource(|| (), |_| crate::sessions::api::me());
    let deleted = move || match delete.value().get() {
        Some(Ok((members, overrides))) => Some(
            view! { <p>{format!("Deleted: {members} member(s) left it, {overrides} override(s) went.")}</p> }
                .into_any(),
        ),
        other => error_of(other),
    };
    view! {
        <p><a href="/flags">"← Feature flags"</a></p>
        <h1>"Groups"</h1>
        <p class="hint">"A user belongs to one group at most (set on their page or the group's). One group may be the default: its overrides apply to everyone, below a group of higher priority."</p>
        {move || error_of(save.value().get())}
        {deleted}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                // SREs read the groups; administrators also edit them.
                let admin = may_call::<SaveGroup>(who).await;
                match groups.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(groups) if !admin => groups.into_iter().map(|g| view! {
                        <p>
                            <strong><a href=format!("/groups/{}", g.group_id)>{g.name}</a></strong>{format!(" · priority {}", g.priority)}
                            {g.is_default.then_some(" · default")}" "{g.description.unwrap_or_default()}
                        </p>
                    }).collect_view().into_any(),
                    Ok(groups) => groups.into_iter().map(|g| {
                        let id = g.group_id.clone();
                        let label = format!("Delete {}", g.name);
                        let link = format!("/groups/{}", g.group_id);
                        view! {
                            <ActionForm action=save attr:class="fields">
                                <input type="hidden" name="group_id" value=g.group_id.clone()/>
                                <input name="name" value=g.name.clone() required=true/>
                                <input name="description" value=g.description.clone().unwrap_or_default()/>
                                <label>"priority "<input name="priority" value=g.priority.to_string() size="5"/></label>
                                <label><input type="checkbox" name="is_default" checked=g.is_default/>" default"</label>
                                <button type="submit">"Save"</button>
                            </ActionForm>
                            <ActionForm action=delete attr:class="inline">
                                <input type="hidden" name="group_id" value=id.clone()/>
                                <button type="submit" class="danger">{label}</button>
                            </ActionForm>
                            " "<a href=link>"Members and overrides →"</a>
                        }
                    }).collect_view().into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = may_call::<SaveGroup>(who).await;
                admin.then(|| view! {
                    <h2>"New group"</h2>
                    <ActionForm action=save attr:class="fields">
                        <label>"Name "<input name="name" required=true/></label>
                        <label>"Description "<input name="description"/></label>
                        <label>"Priority "<input name="priority" value="0" size="5"/></label>
                        <label><input type="checkbox" name="is_default"/>" default"</label>
                        <button type="submit">"Create"</button>
                    </ActionForm>
                })
            })}
        </Suspense>
    }
}

/// A group: its members (a page at a time), one added or removed, everyone a
/// users filter matches added at once; its overrides.
#[component]
pub fn GroupPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let query = use_query_map();
    let after = move || query.with(|m| m.get("after").unwrap_or_default());
    let add = ServerAction::<AddGroupMember>::new();
    let leave = ServerAction::<SetUserGroup>::new();
    let bulk = ServerAction::<BulkApply>::new();
    let set = ServerAction::<SetOverride>::new();
    let remove = ServerAction::<DeleteOverride>::new();
    let who = crate::codec::resource(|| (), |_| crate::sessions::api::me());
    let changes = move || {
        (add.version().get(), leave.version().get(), bulk.version().get(), set.version().get(), remove.version().get())
    };
    let page =
        crate::codec::resource(move || (id.get(), after(), changes()), |(id, after, _)| get_flag_group(id, after));
    view! {
        <p><a href="/groups">"← Groups"</a></p>
        <Paged>
            {move || {
                let shown = page_key(&after(), "");
                Suspend::new(async move {
                // SREs read a group; administrators also change its members and overrides.
                let admin = may_call::<AddGroupMember>(who).await;
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => {
                        let group_id = p.group.group_id.clone();
                        let members = p.members.items.iter().map(|u| {
                            let name = [u.first_name.clone().unwrap_or_default(), u.last_name.clone().unwrap_or_default()].join(" ");
                            let user_id = u.user_id.to_string();
                            view! {
                                <tr>
                                    <td><a href=format!("/users/{user_id}")>{u.username.clone()}</a></td>
                                    <td>{name}</td>
                                    <td>{u.account_status.clone()}</td>
                                    <td>{admin.then(|| view! {
                                        <ActionForm action=leave attr:class="inline">
                                            <input type="hidden" name="user_id" value=user_id.clone()/>
                                            <input type="hidden" name="group_id" value=""/>
                                            <button type="submit">"Remove from the group"</button>
                                        </ActionForm>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view();
                        let next = p.members.next_cursor.clone().map(|after| view! {
                            <a href=format!("/groups/{}?after={}", group_id, encode(&after)) data-test-id="members-next">"Next page →"</a>
                        });
                        view! {
                            <h1>"Group "{p.group.name.clone()}</h1>
                            <p>
                                {format!("Priority {}", p.group.priority)}
                                {p.group.is_default.then_some(" · the default group")}
                                " · "<span data-test-id="group-size">{p.size}</span>" member(s)"
                                " · "<a href=format!("/audit?entity_id={group_id}")>"history"</a>
                            </p>
                            <p class="hint">{RULE}</p>
                            <h2>"Overrides"</h2>
                            {override_rows(&p.overrides, admin.then_some(remove), false)}
                            {admin.then(|| override_form(set, None, Some(Target::Group(group_id.clone()))))}
                            {move || error_of(set.value().get())}
                            <h2>"Members"</h2>
                            {admin.then(|| { let (to_add, to_bulk) = (group_id.clone(), group_id.clone()); view! {
                                <ActionForm action=add attr:class="fields" attr:data-test-id="member-add">
                                    <input type="hidden" name="group_id" value=to_add/>
                                    <label>"Username "<input name="username" required=true/></label>
                                    <button type="submit">"Add to the group"</button>
                                </ActionForm>
                                {move || error_of(add.value().get())}
                                {move || error_of(leave.value().get())}
                                <BulkAdd group_id=to_bulk action=bulk/>
                            }})}
                            <table class="list" data-test-id="members-table" data-page=shown>
                                <thead><tr><th>"Username"</th><th>"Name"</th><th>"Status"</th><th></th></tr></thead>
                                <tbody>{members}</tbody>
                            </table>
                            <nav class="pager">{next}</nav>
                        }.into_any()
                    }
                }
            })}}
        </Paged>
    }
}

/// Adds everyone a users-page filter matches to the group: counted first, then
/// each moved with their own audit row (as the users page's bulk change does).
#[component]
fn BulkAdd(group_id: String, action: ServerAction<BulkApply>) -> impl IntoView {
    let q = RwSignal::new(String::new());
    let mode = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let count = Action::new(move |_: &()| {
        crate::users::api::bulk_preview(q.get_untracked(), mode.get_untracked(), status.get_untracked())
    });
    view! {
        <details class="card" data-test-id="bulk-add">
            <summary>"Add everyone a users filter matches"</summary>
            <ActionForm action=action attr:class="fields">
                <input type="hidden" name="action" value="group"/>
                <input type="hidden" name="value" value=group_id/>
                <label>"Text "<input name="q" bind:value=q/></label>
                <label>"Match "<select name="mode" bind:value=mode>
                    <option value="">"contains"</option>
                    <option value="prefix">"starts with"</option>
                </select></label>
                <label>"Status "<select name="status" bind:value=status>
                    <option value="">"any"</option>
                    {ACCOUNT_STATUSES.iter().map(|s| view! { <option value=*s>{*s}</option> }).collect_view()}
                </select></label>
                <button type="button" on:click=move |_| { count.dispatch(()); } data-test-id="bulk-add-count">"Count them"</button>
                <button type="submit" class="danger">"Add them all"</button>
            </ActionForm>
            {move || count.value().get().map(|r| match r {
                Ok(n) => view! { <p data-test-id="bulk-add-preview">{n}" users match (you are left out)."</p> }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
            {move || action.value().get().map(|r| match r {
                Ok(o) => view! { <p data-test-id="bulk-add-outcome">{o.changed}" added, "{o.failed}" left unchanged."</p> }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
        </details>
    }
}

/// A picker of the feature-flag groups (and "no group", the empty value), with
/// `current` chosen. Until the list is in, it holds `current` alone, so a form sent
/// meanwhile changes nothing; a list that fails to load says so.
#[component]
pub fn GroupSelect(name: &'static str, #[prop(optional)] current: Option<String>) -> impl IntoView {
    let groups = crate::codec::resource(|| (), |_| get_flag_groups());
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
                                view! { <option value=g.group_id selected=selected>{g.name}</option> }
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
