//! Feature flags: the list with a search and the evaluation API's keys; a flag's
//! page (edit, delete, overrides, an evaluator, history); the groups.

use super::{when, when_or};
use crate::api::{
    get_api_keys, get_flag, get_flag_group, get_flag_groups, get_flags, get_user_flags, get_user_overrides,
    AddGroupMember, BulkApply, CreateApiKey, DeleteFlag, DeleteGroup, DeleteOverride, EvaluateFlag, RevokeApiKey,
    SaveFlag, SaveGroup, SetOverride, SetUserGroup,
};
use crate::components::ErrorNote;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use pathfinder::filter::{encode_component as encode, ACCOUNT_STATUSES};
use pathfinder::flags::{Flag, FlagType, Override, Target};

/// How a value comes about, said once where flags are edited.
const RULE: &str = "A user's value: their own unexpired override; else the overrides of their group and of \
    the default group, the group of higher priority first (a tie goes to their own group); else the flag's \
    default. An override stops applying at the instant it expires.";

/// Whether the signed-in user may call `path`: what a page offers them (the
/// server function asks the policy again).
async fn may(
    who: Resource<Result<Option<pathfinder::dto::Principal>, pathfinder::AppError>, crate::codec::Json>,
    path: &str,
) -> bool {
    matches!(who.await, Ok(Some(p)) if crate::policy::may_see(path, &p.roles))
}

fn error_of<T>(v: Option<Result<T, pathfinder::AppError>>) -> Option<AnyView> {
    match v {
        Some(Err(e)) => Some(view! { <ErrorNote error=e/> }.into_any()),
        _ => None,
    }
}

/// The fields of a flag's form, filled from `flag` (a new flag when none).
fn flag_fields(flag: Option<&Flag>) -> impl IntoView {
    let f = flag.map(Flag::as_edit).unwrap_or_else(|| pathfinder::flags::FlagEdit {
        flag_type: "boolean".into(),
        default_value: "false".into(),
        ..Default::default()
    });
    let existing = flag.is_some();
    let types = FlagType::ALL.map(|t| {
        let selected = t.as_str() == f.flag_type;
        view! { <option value=t.as_str() selected=selected>{t.as_str()}</option> }
    });
    view! {
        <input type="hidden" name="original" value=if existing { f.key.clone() } else { String::new() }/>
        <label>"Key "<input name="key" value=f.key.clone() required=true readonly=existing
            title="Lower-case letters, digits, '.', '_', '-'; fixed once the flag exists"/></label>
        <label>"Name "<input name="name" value=f.name.clone() required=true/></label>
        <label>"Type "<select name="flag_type">{types}</select></label>
        <label>"Default "<input name="default_value" value=f.default_value.clone()/></label>
        <label>"Allowed values (JSON array, empty for any) "<input name="allowed_values" value=f.allowed_values.clone()/></label>
        <label>"Description "<input name="description" value=f.description.clone()/></label>
        <label><input type="checkbox" name="system_wide" checked=f.system_wide/>" system-wide"</label>
        <label><input type="checkbox" name="requires_restart" checked=f.requires_restart/>" requires a restart"</label>
    }
}

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
    let who = crate::codec::resource(|| (), |_| crate::api::me());
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
                let admin = may(who, "/api/api_keys").await;
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
    let who = crate::codec::resource(|| (), |_| crate::api::me());
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
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                // SREs read a flag; administrators also edit it.
                let admin = may(who, "/api/save_flag").await;
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
                        let next = p.overrides.next.clone().map(|after| {
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
                                " by "{r.username.clone().or(r.user_id.clone()).unwrap_or_else(|| "the system".into())}
                                <br/><code class="change">{r.error_message.clone().unwrap_or_default()}</code>
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
                            {overrides}
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
            })}
        </Suspense>
    }
}

/// A table of overrides; with `remove`, each has a button that deletes it. The
/// first column names the holder (on a flag's page) or the flag.
fn override_rows(list: &[Override], remove: Option<ServerAction<DeleteOverride>>, by_holder: bool) -> AnyView {
    if list.is_empty() {
        return view! { <p data-test-id="no-overrides">"No overrides."</p> }.into_any();
    }
    let rows = list
        .iter()
        .map(|o| {
            let first = match (&o.target, by_holder) {
                (Target::User(id), true) => {
                    view! { "user "<a href=format!("/users/{id}")>{o.target_name.clone()}</a> }.into_any()
                }
                (Target::Group(id), true) => {
                    view! { "group "<a href=format!("/groups/{id}")>{o.target_name.clone()}</a> }.into_any()
                }
                (_, false) => view! { <a href=format!("/flags/{}", o.flag_key)>{o.flag_key.clone()}</a> }.into_any(),
            };
            let id = o.override_id.clone();
            view! {
                <tr>
                    <td>{first}</td>
                    <td><code>{o.value.clone()}</code></td>
                    <td>{o.reason.clone().unwrap_or_default()}</td>
                    <td>{when_or(&o.expires_at, "never")}</td>
                    <td>{when_or(&o.created_at, "")}</td>
                    <td>{remove.map(|remove| view! {
                        <ActionForm action=remove attr:class="inline">
                            <input type="hidden" name="override_id" value=id.clone()/>
                            <button type="submit">"Remove"</button>
                        </ActionForm>
                    })}</td>
                </tr>
            }
        })
        .collect_view();
    let first = if by_holder { "For" } else { "Flag" };
    view! {
        <table class="list" data-test-id="overrides-table">
            <thead><tr><th>{first}</th><th>"Value"</th><th>"Reason"</th><th>"Expires"</th><th>"Set"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// The form that sets an override of a flag (`key`, or one the admin names)
/// for a user or a group (fixed when given).
fn override_form(set: ServerAction<SetOverride>, key: Option<String>, holder: Option<Target>) -> impl IntoView {
    let flag = match key {
        Some(k) => view! { <input type="hidden" name="key" value=k/> }.into_any(),
        None => view! { <label>"Flag "<input name="key" required=true placeholder="flag key"/></label> }.into_any(),
    };
    let holder = match holder {
        Some(Target::User(id)) => view! { <input type="hidden" name="user" value=id/> }.into_any(),
        Some(Target::Group(id)) => view! { <input type="hidden" name="group_id" value=id/> }.into_any(),
        None => view! {
            <label>"User "<input name="user" placeholder="username"/></label>
            <label>"or group "<crate::components::GroupSelect name="group_id"/></label>
        }
        .into_any(),
    };
    view! {
        <ActionForm action=set attr:class="fields" attr:data-test-id="override-form">
            {flag}
            {holder}
            <label>"Value "<input name="value" required=true/></label>
            <label>"Reason "<input name="reason" required=true/></label>
            <label>"Expires (UTC) "<input type="datetime-local" name="expires_at"/></label>
            <button type="submit">"Set override"</button>
        </ActionForm>
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

#[component]
pub fn GroupsPage() -> impl IntoView {
    let save = ServerAction::<SaveGroup>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let groups = crate::codec::resource(move || (save.version().get(), delete.version().get()), |_| get_flag_groups());
    let who = crate::codec::resource(|| (), |_| crate::api::me());
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
                let admin = may(who, "/api/save_group").await;
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
                let admin = may(who, "/api/save_group").await;
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

/// Every flag's value for one user and where it came from, and the overrides
/// they hold, which an administrator sets and removes here (their page).
#[component]
pub fn UserFlags(user_id: String) -> impl IntoView {
    let set = ServerAction::<SetOverride>::new();
    let remove = ServerAction::<DeleteOverride>::new();
    let changed = move || (set.version().get(), remove.version().get());
    let id = user_id.clone();
    let flags = crate::codec::resource(move || (id.clone(), changed()), |(id, _)| get_user_flags(id));
    let id = user_id.clone();
    let own = crate::codec::resource(move || (id.clone(), changed()), |(id, _)| get_user_overrides(id));
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match flags.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(all) => {
                        let rows = all.into_iter().map(|e| {
                            let why = e.error.clone().unwrap_or_else(|| e.source.describe());
                            view! {
                                <tr data-test-id=format!("user-flag-{}", e.key)>
                                    <td><a href=format!("/flags/{}", e.key)>{e.key.clone()}</a></td>
                                    <td><code>{e.value.to_string()}</code></td>
                                    <td>{why}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="list" data-test-id="user-flags">
                                <thead><tr><th>"Flag"</th><th>"Value"</th><th>"From"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
        <h3>"Their own overrides"</h3>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match own.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) => view! { <div data-test-id="user-overrides">{override_rows(&list, Some(remove), false)}</div> }.into_any(),
                }
            })}
        </Suspense>
        {override_form(set, None, Some(Target::User(user_id.clone())))}
        {move || error_of(set.value().get())}
        {move || error_of(remove.value().get())}
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
    let who = crate::codec::resource(|| (), |_| crate::api::me());
    let changes = move || {
        (add.version().get(), leave.version().get(), bulk.version().get(), set.version().get(), remove.version().get())
    };
    let page =
        crate::codec::resource(move || (id.get(), after(), changes()), |(id, after, _)| get_flag_group(id, after));
    view! {
        <p><a href="/groups">"← Groups"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                // SREs read a group; administrators also change its members and overrides.
                let admin = may(who, "/api/add_group_member").await;
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => {
                        let group_id = p.group.group_id.clone();
                        let members = p.members.iter().map(|u| {
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
                        let next = p.next.clone().map(|after| view! {
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
                            <table class="list" data-test-id="members-table">
                                <thead><tr><th>"Username"</th><th>"Name"</th><th>"Status"</th><th></th></tr></thead>
                                <tbody>{members}</tbody>
                            </table>
                            <nav class="pager">{next}</nav>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
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
        crate::api::bulk_preview(q.get_untracked(), mode.get_untracked(), status.get_untracked())
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
