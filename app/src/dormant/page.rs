//! The Dormant users page: the filter (a day, or never), the count as of the
//! statistics' refresh, a page of people oldest activity first, the deactivation
//! with its preview count, and the recent deactivations with their progress.

use super::api::{get_dormant, DeactivateDormant, StopDeactivation};
use crate::components::{when, when_or, ErrorNote};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::dormant::{DeactivationJob, DormantParams};

fn job_row(j: DeactivationJob, stop: ServerAction<StopDeactivation>) -> impl IntoView {
    let state = match (&j.outcome, j.running, j.stop_requested) {
        (Some(o), _, _) => format!("{o} {}", when_or(&j.finished_at, "")),
        (None, true, true) => "stopping".into(),
        (None, true, false) => "running".into(),
        (None, false, _) => "waiting to resume".into(),
    };
    let open = j.outcome.is_none();
    let id = j.job_id.clone();
    view! {
        <tr data-test-id="dormant-job" data-state=j.outcome.clone().unwrap_or_else(|| "open".into())>
            <td>{when(&j.started_at)}</td>
            <td>{j.dormancy.clone()}</td>
            <td>{j.requested_by.clone().unwrap_or_default()}</td>
            <td>{j.expected}</td>
            <td data-test-id="dormant-job-done">{j.deactivated}</td>
            <td>{j.skipped}</td>
            <td>{state}</td>
            <td>
                {open.then(|| view! {
                    <ActionForm action=stop attr:class="inline">
                        <input type="hidden" name="job_id" value=id.clone()/>
                        <button type="submit">"Stop"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

#[component]
pub fn DormantPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k).unwrap_or_default());
    let start = ServerAction::<DeactivateDormant>::new();
    let stop = ServerAction::<StopDeactivation>::new();
    let page = crate::codec::resource(
        move || (param("since"), param("never"), param("after"), start.version().get(), stop.version().get()),
        |(since, never, after, _, _)| get_dormant(since, never, after),
    );
    let started = move || {
        start.value().get().map(|r| match r {
            Ok(j) => view! { <p data-test-id="dormant-started">{format!("Deactivating {} users: progress below.", j.expected)}</p> }.into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })
    };
    view! {
        <h1>"Dormant users"</h1>
        <form method="get" action="/dormant" class="filters" data-test-id="dormant-filter">
            <label>"No activity since "<input type="date" name="since" value=move || param("since")/></label>
            <label><input type="checkbox" name="never" value="1" checked=move || !param("never").is_empty()/>" never active"</label>
            <button type="submit">"Show"</button>
        </form>
        {started}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => {
                        let params = DormantParams { since: param("since"), never: param("never"), after: String::new() };
                        let as_of = when_or(&p.as_of.finished_at, "never: refresh the statistics first");
                        let rows = p.users.into_iter().map(|u| view! {
                            <tr data-test-id="dormant-row">
                                <td><a href=format!("/users/{}", u.user_id)>{u.username.clone()}</a></td>
                                <td>{u.status.clone()}</td>
                                <td>{when_or(&u.last_activity, "never")}</td>
                                <td>{u.total_events}</td>
                            </tr>
                        }).collect_view();
                        let next = p.next_cursor.map(|c| view! {
                            <a href=format!("/dormant?{}", params.page_after(&c)) data-test-id="dormant-next">"Next page"</a>
                        });
                        let jobs = p.jobs.into_iter().map(|j| job_row(j, stop)).collect_view();
                        let (since, never) = (param("since"), param("never"));
                        view! {
                            <p data-test-id="dormant-count" data-count=p.count>
                                {format!("{} people with {}, as of the statistics' refresh {as_of}.", p.count, p.dormancy.describe())}
                            </p>
                            <ActionForm action=start attr:class="inline" attr:data-test-id="dormant-deactivate">
                                <input type="hidden" name="since" value=since/>
                                <input type="hidden" name="never" value=never/>
                                <button type="submit">{format!("Deactivate these {} users", p.count)}</button>
                            </ActionForm>
                            <p class="hint">"Console accounts, people active again since the refresh and accounts not active are left as they are; each user changed has their own audit row."</p>
                            <table class="list" data-test-id="dormant" data-loaded="true">
                                <thead><tr><th>"User"</th><th>"Status"</th><th>"Last active"</th><th>"Events"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            {next}
                            <h2>"Deactivations"</h2>
                            <table class="list" data-test-id="dormant-jobs">
                                <thead><tr><th>"Started"</th><th>"Who"</th><th>"By"</th><th>"Expected"</th><th>"Deactivated"</th><th>"Left"</th><th>"State"</th><th></th></tr></thead>
                                <tbody>{jobs}</tbody>
                            </table>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
