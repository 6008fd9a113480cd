//! The key inventory: every user's data key, the longest without rotation first,
//! which master key wraps it, and which are overdue under the rotation policy.

use super::when_or;
use crate::api::get_key_inventory;
use crate::components::ErrorNote;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn KeysPage() -> impl IntoView {
    let query = use_query_map();
    let inventory =
        crate::codec::resource(move || query.with(|q| q.get("after").unwrap_or_default()), get_key_inventory);
    view! {
        <h1>"Encryption keys"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match inventory.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(inv) => {
                        let masters = inv
                            .by_master_key
                            .iter()
                            .map(|m| {
                                let current = inv.current_master_key.as_deref() == Some(m.status.as_str());
                                view! { <li><code>{m.status.clone()}</code>": "{m.count}{current.then_some(" (current)")}</li> }
                            })
                            .collect_view();
                        let rows = inv
                            .keys
                            .items
                            .into_iter()
                            .map(|k| view! {
                                <tr class:overdue=k.overdue>
                                    <td><a href=format!("/users/{}", k.user_id)>{k.username}</a></td>
                                    <td>{k.algorithm}</td>
                                    <td>{k.rotation_count}</td>
                                    <td>{when_or(&k.created_at, "unknown")}</td>
                                    <td>{when_or(&k.last_rotated, "never")}</td>
                                    <td><code>{k.master_key_id.unwrap_or_default()}</code></td>
                                    <td>{if k.overdue { "overdue" } else { "" }}</td>
                                </tr>
                            })
                            .collect_view();
                        let next = inv.keys.next_cursor.map(|c| {
                            view! { <a href=format!("/keys?after={c}") data-test-id="next-page">"Next page →"</a> }
                        });
                        view! {
                            <section class="cards">
                                <div class="card"><h2>"Data keys"</h2><p data-test-id="keys-total">{inv.total}</p></div>
                                <div class="card">
                                    <h2>"Overdue"</h2>
                                    <p data-test-id="keys-overdue">{inv.overdue}</p>
                                    <small>"not rotated for "{inv.rotation_days}" days (PF_KEY_ROTATION_DAYS)"</small>
                                </div>
                                <div class="card"><h2>"By master key"</h2><ul data-test-id="keys-by-master">{masters}</ul></div>
                            </section>
                            <p>
                                "Rotate a user's key from their page; rotate many with "
                                <code>"pathfinder-admin rotate-keys --overdue"</code>" (or "<code>"--all"</code>
                                "), and the master key with "<code>"pathfinder-admin rotate-master-key"</code>"."
                            </p>
                            <table class="list" data-test-id="keys-table">
                                <thead><tr><th>"User"</th><th>"Algorithm"</th><th>"Rotations"</th><th>"Created"</th><th>"Last rotated"</th><th>"Master key"</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <nav class="pager">{next}</nav>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
