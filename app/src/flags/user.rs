//! A user's flags on their page: the values of their own (from an override), or
//! every flag's on request, and the overrides they hold.

use super::api::{get_user_flags, get_user_overrides, DeleteOverride, SetOverride};
use super::forms::{override_form, override_rows};
use crate::components::{error_of, ErrorNote};
use leptos::prelude::*;
use pathfinder::flags::Target;

/// The flags whose value for one user is not the flag's default, with where it
/// comes from (every flag's with `?flags=all`), and the overrides they hold, which
/// an administrator sets and removes here (their page).
#[component]
pub fn UserFlags(user_id: String) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let show_all = move || query.with(|q| q.get("flags").as_deref() == Some("all"));
    let set = ServerAction::<SetOverride>::new();
    let remove = ServerAction::<DeleteOverride>::new();
    let changed = move || (set.version().get(), remove.version().get());
    let id = user_id.clone();
    let flags = crate::codec::resource(move || (id.clone(), changed()), |(id, _)| get_user_flags(id));
    let id = user_id.clone();
    let own = crate::codec::resource(move || (id.clone(), changed()), |(id, _)| get_user_overrides(id));
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                            let all_asked = show_all();
                            Suspend::new(async move {
                match flags.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(all) => {
                        let total = all.len();
                        let own: Vec<_> = all.into_iter().filter(|e| all_asked || !e.is_default()).collect();
                        let said = if all_asked {
                            format!("All {total} flags.")
                        } else {
                            format!("{} of {total} flags have a value of their own for this user; the others take the flag's default.", own.len())
                        };
                        let toggle = if all_asked {
                            view! { <a href="?#flags" data-test-id="user-flags-own">"Show only those not at their default"</a> }.into_any()
                        } else {
                            view! { <a href="?flags=all#flags" data-test-id="user-flags-all">{format!("Show all {total}")}</a> }.into_any()
                        };
                        let rows = own.into_iter().map(|e| {
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
                            <p data-test-id="user-flags-count">{said}" "{toggle}</p>
                            <table class="list" data-test-id="user-flags">
                                <thead><tr><th>"Flag"</th><th>"Value"</th><th>"From"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}}
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
