//! The Storage page (SREs and administrators): the database's size at the latest
//! sample against its limit and thresholds, its growth and when the limit is reached
//! at that rate, every shared table with its indexes, the per-user sets and the
//! largest of them, and the optimizer statistics' last gathering. The sample comes
//! from a background job (one instance a round); the buttons ask for one now.

use super::api::{get_storage, GatherStatisticsNow, SampleStorageNow};
use crate::components::ErrorNote;
use crate::components::{when, when_or};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::dto::JobRun;
use pathfinder::usage::{bytes_text, percent_text};
use pathfinder::AppError;

/// "2026-11-26 10:00 UTC (ok, 812 ms)", or `never`.
fn last_run(run: &JobRun) -> String {
    match (&run.finished_at, &run.status) {
        (Some(at), Some(status)) => format!("{} ({status}, {} ms)", when(at), run.duration_ms.unwrap_or_default()),
        _ => "never".into(),
    }
}

#[component]
pub fn StoragePage() -> impl IntoView {
    let query = use_query_map();
    let page = crate::codec::resource(|| (), |_| get_storage());
    // A refused form post comes back here with its error's code in `__err`.
    let form_error = move || query.with(|q| q.get("__err")).and_then(|code| AppError::from_code(&code));
    view! {
        <h1>"Storage"</h1>
        {move || form_error().map(|e| view! { <ErrorNote error=e/> })}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => {
                        let policy = p.policy;
                        let level = p.level();
                        let share = p.limit.map(|l| format!(" of {} ({})", bytes_text(l), percent_text(p.used, l)));
                        let growth = match p.growth {
                            Some(g) => format!("{} a day over {} days of samples", bytes_text(g.bytes_per_day), g.over_days.max(1)),
                            None => "not enough samples yet (an hour's)".into(),
                        };
                        let full = match (p.growth, p.limit) {
                            (_, None) => "no limit known".into(),
                            (None, Some(_)) => "not enough samples yet".into(),
                            (Some(g), Some(_)) => match g.full_at {
                                Some(at) => format!("about {}", when(&at)),
                                None => "not at the current rate".into(),
                            },
                        };
                        let used = p.used.max(1);
                        let tables = p.tables.iter().map(|t| view! {
                            <tr>
                                <td><code>{t.name.clone()}</code></td>
                                <td>{bytes_text(t.bytes)}</td>
                                <td>{bytes_text(t.index_bytes)}</td>
                                <td>{bytes_text(t.total())}</td>
                                <td>{percent_text(t.total(), used)}</td>
                            </tr>
                        }).collect_view();
                        let sets = p.largest_sets.iter().map(|(u, b)| view! {
                            <tr><td>{u.clone()}</td><td>{bytes_text(*b)}</td></tr>
                        }).collect_view();
                        view! {
                            <p class="hint">
                                "Sampled every "{policy.sample_every_minutes}" minutes by one console instance (PF_STORAGE_SAMPLE_MINUTES), kept "
                                {policy.history_days}" days; latest sample "<span data-test-id="storage-sampled">{when_or(&p.sampled_at, "none yet")}</span>
                                ". The same numbers are in "<code>"pathfinder_storage_*"</code>" on every instance (aggregate with max())."
                            </p>
                            <section class="cards">
                                <div class=format!("card level-{level}")>
                                    <h2>"Used"</h2>
                                    <p data-test-id="storage-used">{bytes_text(p.used)}{share}</p>
                                    <small data-test-id="storage-level">{level}</small>
                                    <small>" — warning at "{policy.warning_percent}" %, critical at "{policy.critical_percent}" %"</small>
                                </div>
                                <div class="card"><h2>"Growth"</h2><p data-test-id="storage-growth">{growth}</p></div>
                                <div class="card"><h2>"Limit reached"</h2><p data-test-id="storage-full">{full}</p></div>
                                {p.wal.map(|w| view! { <div class="card"><h2>"Write-ahead log"</h2><p>{bytes_text(w)}</p></div> })}
                            </section>
                            <table class="facts"><tbody>
                                <tr><th>"Last sample"</th><td data-test-id="storage-last-sample">{last_run(&p.last_sample)}</td></tr>
                                <tr><th>"Optimizer statistics gathered"</th><td data-test-id="statistics-last">{last_run(&p.last_statistics)}</td></tr>
                            </tbody></table>
                            <h2>"Shared tables"</h2>
                            <table class="list" data-test-id="storage-tables">
                                <thead><tr><th>"Table"</th><th>"Data"</th><th>"Indexes"</th><th>"Total"</th><th>"Share"</th></tr></thead>
                                <tbody>{tables}</tbody>
                            </table>
                            <h2>"Per-user table sets"</h2>
                            <p data-test-id="storage-sets">{p.sets_count}" sets, "{bytes_text(p.sets_bytes)}" in all. The largest:"</p>
                            <table class="list" data-test-id="storage-largest-sets">
                                <thead><tr><th>"User"</th><th>"Size"</th></tr></thead>
                                <tbody>{sets}</tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
        <h2>"Growth"</h2>
        <img class="chart" data-test-id="storage-chart" src="/charts/storage.svg" alt="Storage over the samples kept"/>
        <form method="post" action={crate::policy::path_of::<SampleStorageNow>()} class="inline" data-test-id="sample-now">
            <button type="submit">"Sample now"</button>
        </form>
        <form method="post" action={crate::policy::path_of::<GatherStatisticsNow>()} class="inline" data-test-id="gather-statistics">
            <button type="submit">"Gather statistics now"</button>
        </form>
    }
}
