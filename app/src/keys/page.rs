//! The key inventory: every user's data key, the longest without rotation first,
//! which master key wraps it, and which are overdue under the rotation policy.

use super::api::{get_key_inventory, StartKeyRotation};
use crate::components::{page_key, ErrorNote, Paged};
use crate::components::{when, when_or};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::dto::{KeyCounts, KeyInventory};
use pathfinder::AppError;

#[component]
pub fn KeysPage() -> impl IntoView {
    let query = use_query_map();
    let inventory =
        crate::codec::resource(move || query.with(|q| q.get("after").unwrap_or_default()), get_key_inventory);
    // A refused form post comes back here with its error's code in `__err`.
    let form_error = move || query.with(|q| q.get("__err")).and_then(|code| AppError::from_code(&code));
    view! {
        <h1>"Encryption keys"</h1>
        <Paged>
            {move || {
                let shown = page_key(&query.with(|q| q.get("after").unwrap_or_default()), "");
                Suspend::new(async move {
                match inventory.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(keys_page) => {
                        let (counts, inv) = (keys_page.counts, keys_page.inventory);
                        let card = view! { <RotationCard inv=inv.clone() counts=counts.clone()/> };
                        let masters = counts
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
                                <div class="card"><h2>"Data keys"</h2><p data-test-id="keys-total">{counts.total}</p></div>
                                <div class="card">
                                    <h2>"Overdue"</h2>
                                    <p data-test-id="keys-overdue">{counts.overdue}</p>
                                    <small>"not rotated for "{counts.rotation_days}" days (PF_KEY_ROTATION_DAYS)"</small>
                                </div>
                                <div class="card"><h2>"By master key"</h2><ul data-test-id="keys-by-master">{masters}</ul></div>
                            </section>
                            <p><small data-test-id="keys-counted">"Counted "{when(&counts.as_of)}" (every 15 s, and soon after a change)"</small></p>
                            {card}
                            {form_error().map(|e| view! { <ErrorNote error=e/> })}
                            <p>
                                "Rotate one user's key from their page; from a shell, "
                                <code>"pathfinder-admin rotate-keys --overdue"</code>" (or "<code>"--all"</code>
                                ") with a progress bar, and the master key with "
                                <code>"pathfinder-admin rotate-master-key"</code>"."
                            </p>
                            <table class="list" data-test-id="keys-table" data-page=shown>
                                <thead><tr><th>"User"</th><th>"Algorithm"</th><th>"Rotations"</th><th>"Created"</th><th>"Last rotated"</th><th>"Master key"</th><th></th></tr></thead>
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

/// The rotation job: under way, or how the last run ended; and the buttons that start
/// a run of the overdue keys or of all (plain form posts; the work goes on in the
/// background).
#[component]
fn RotationCard(inv: KeyInventory, counts: KeyCounts) -> impl IntoView {
    let last = match (&inv.rotation_job.finished_at, &inv.rotation_job.status) {
        (Some(at), Some(status)) => {
            let took = inv.rotation_job.duration_ms.unwrap_or_default();
            format!("last run {} ({status}, {}.{:03} s)", when(at), took / 1000, took % 1000)
        }
        _ => "no rotation run yet".to_string(),
    };
    let state = match &inv.rotation_running_since {
        Some(since) => format!("running since {}", when(since)),
        None => last,
    };
    let idle = inv.rotation_running_since.is_none();
    let start = move |scope: &'static str, label: String| {
        view! {
            <form method="post" action={crate::policy::path_of::<StartKeyRotation>()} class="inline" data-test-id=format!("rotate-{scope}")>
                <input type="hidden" name="scope" value=scope/>
                <button type="submit">{label}</button>
            </form>
        }
    };
    view! {
        <section class="card">
            <h2>"Rotation runs"</h2>
            <p data-test-id="rotation-status">{state}</p>
            {(idle && counts.overdue > 0).then(|| start("overdue", format!("Rotate the {} overdue keys", counts.overdue)))}
            {(idle && counts.total > 0).then(|| start("all", format!("Rotate all {} keys", counts.total)))}
        </section>
    }
}
