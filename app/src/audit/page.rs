//! The Audit page for compliance reviewers: filters that combine (all in the URL, a
//! plain GET form before hydration), keyset pages both ways, facets and a chart of
//! the same filter (the chart drawn by the server as SVG), export, the chain's
//! verification and an exact count as background jobs; and one event's page.

use super::api::{audit_search, get_audit_facets, get_audit_job, start_audit_job};
use crate::components::{page_key, when, ErrorNote};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::audit::{AuditFacets, AuditJob, AuditParams, AuditRow, Count};

/// The filter of the current URL.
pub(crate) fn params_of_query() -> Memo<AuditParams> {
    let query = use_query_map();
    Memo::new(move |_| {
        query.with(|q| {
            let get = |k: &str| q.get(k).unwrap_or_default();
            AuditParams {
                range: get("range"),
                from: get("from"),
                to: get("to"),
                actor: get("actor"),
                action: get("action"),
                entity_type: get("entity_type"),
                entity_id: get("entity_id"),
                status: get("status"),
                method: get("method"),
                path: get("path"),
                ip: get("ip"),
                text: get("text"),
                order: get("order"),
                size: get("size"),
                after: get("after"),
                before: get("before"),
                involving: get("involving"),
            }
        })
    })
}

const RANGES: &[(&str, &str)] = &[
    ("", "All time"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("365d", "Last year"),
    ("custom", "From … to … (UTC)"),
];

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = params_of_query();
    let page = crate::codec::resource(move || params.get(), audit_search);
    let facets = crate::codec::resource(move || params.get().first_page(), get_audit_facets);
    let p = move || params.get();
    let text_input = move |name: &'static str,
                           label: &'static str,
                           hint: &'static str,
                           get: fn(&AuditParams) -> String| {
        view! {
            <label>{label}" "<input name=name placeholder=hint value=move || get(&p()) data-test-id=format!("audit-{name}")/></label>
        }
    };
    view! {
        <h1>"Audit log"</h1>
        <form method="get" action="/audit" class="filters audit-filters" data-test-id="audit-filters">
            <label>
                "When "
                <select name="range" data-test-id="audit-range">
                    {RANGES.iter().map(|(v, l)| view! { <option value=*v selected=move || p().range == *v>{*l}</option> }).collect_view()}
                </select>
            </label>
            <label>"From "<input name="from" type="datetime-local" value=move || p().from/></label>
            <label>"To "<input name="to" type="datetime-local" value=move || p().to/></label>
            <TimeZoneNote/>
            {text_input("actor", "Actor", "username or user id", |p| p.actor.clone())}
            {text_input("action", "Action", "user.status.set, or user.status.", |p| p.action.clone())}
            {text_input("entity_type", "Entity type", "user", |p| p.entity_type.clone())}
            {text_input("entity_id", "Entity id", "", |p| p.entity_id.clone())}
            {text_input("status", "Outcome", "2xx, 4xx, 5xx, errors or 404", |p| p.status.clone())}
            {text_input("method", "Method", "GET, POST, CLI…", |p| p.method.clone())}
            {text_input("path", "Path starts with", "/api/", |p| p.path.clone())}
            {text_input("ip", "Address", "10.1.2.3 or 10.1.", |p| p.ip.clone())}
            {text_input("text", "Message contains", "", |p| p.text.clone())}
            <input type="hidden" name="involving" value=move || p().involving/>
            <label>
                "Order "
                <select name="order">
                    <option value="newest">"Newest first"</option>
                    <option value="oldest" selected=move || p().order == "oldest">"Oldest first"</option>
                </select>
            </label>
            <label>
                "Page "
                <select name="size">
                    {pathfinder::audit::PAGE_SIZES
                        .iter()
                        .map(|n| view! { <option value=n.to_string() selected=move || p().size == n.to_string()>{*n}</option> })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" data-test-id="audit-search">"Search"</button>
            <a href="/audit">"Clear"</a>
        </form>
        {move || (!p().involving.is_empty()).then(|| view! {
            <p class="info" data-test-id="audit-timeline">"The timeline of one user: events by them and about them. "
                <a href=format!("/users/{}", p().involving)>"Their page"</a>" · "
                <a href=format!("/audit?entity_type=user&entity_id={}&action=read.", p().involving) data-test-id="who-looked">
                    "Who looked at this person"
                </a>
            </p>
        })}
        <Suspense fallback=|| view! { <p>"Counting…"</p> }>
            {move || Suspend::new(async move {
                match facets.await {
                    Err(_) => ().into_any(),
                    Ok(f) => view! { <FacetsPanel facets=f params=p()/> }.into_any(),
                }
            })}
        </Suspense>
        <p class="exports">
            "Export exactly this filter: "
            <a href=move || format!("/export/audit?{}&format=csv", p().first_page().query_string()) rel="external" data-test-id="audit-export-csv">"CSV"</a>" · "
            <a href=move || format!("/export/audit?{}&format=ndjson", p().first_page().query_string()) rel="external" data-test-id="audit-export-ndjson">"NDJSON"</a>
        </p>
        <crate::components::Paged>
            {move || {
                let shown = p();
                Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(pg) if pg.events.is_empty() => view! { <p data-test-id="no-events">"No events match."</p> }.into_any(),
                        Ok(pg) => {
                            let link = |k: &str, c: String| shown.link_with(k, &c);
                            let (back, forth) = if shown.order == "oldest" { ("← Older", "Newer →") } else { ("← Newer", "Older →") };
                            let previous = pg.previous.map(|c| view! { <a href=link("before", c) data-test-id="previous-page">{back}</a> });
                            let next = pg.next.map(|c| view! { <a href=link("after", c) data-test-id="next-page">{forth}</a> });
                            view! {
                                <EventsTable events=pg.events page=page_key(&shown.after, &shown.before)/>
                                <nav class="pager">{previous}" "{next}</nav>
                            }
                                .into_any()
                        }
                    }
                })
            }}
        </crate::components::Paged>
        <VerifyPanel/>
    }
}

/// The browser's offset from UTC, once hydrated (the server does not know it).
#[component]
fn TimeZoneNote() -> impl IntoView {
    let offset = RwSignal::new(None::<i32>);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        offset.set(Some(-(js_sys::Date::new_0().get_timezone_offset() as i32)));
    });
    view! {
        <small class="tz" data-test-id="audit-tz">
            {move || match offset.get() {
                None => "Times are UTC.".to_string(),
                Some(0) => "Times are UTC (as is your browser).".to_string(),
                Some(m) => format!("Times are UTC; your browser is UTC{}{:02}:{:02}.", if m < 0 { "−" } else { "+" }, m.abs() / 60, m.abs() % 60),
            }}
        </small>
    }
}

/// The events of a page, each linking to its own page.
#[component]
pub fn EventsTable(events: Vec<AuditRow>, #[prop(optional, into)] page: String) -> impl IntoView {
    let rows = events
        .into_iter()
        .map(|e| {
            let actor = match (&e.user_id, &e.username) {
                (Some(id), name) => {
                    view! { <a href=format!("/users/{id}")>{name.clone().unwrap_or_else(|| id.clone())}</a> }.into_any()
                }
                (None, _) => view! { <span class="muted">{e.unnamed_actor()}</span> }.into_any(),
            };
            let entity = [e.entity_type.clone().unwrap_or_default(), e.entity_id.clone().unwrap_or_default()].join(" ");
            let status = e.response_status.map(|s| s.to_string()).unwrap_or_default();
            let class = match e.response_status {
                Some(s) if s >= 500 => "status suspended",
                Some(s) if s >= 400 => "status pending",
                _ => "status",
            };
            let request =
                [e.request_method.clone().unwrap_or_default(), e.request_path.clone().unwrap_or_default()].join(" ");
            view! {
                <tr>
                    <td><a href=format!("/audit/{}", e.id) data-test-id="event-link">{when(&e.created_at)}</a></td>
                    <td>{actor}</td>
                    <td><code>{e.action.clone()}</code></td>
                    <td>{entity}</td>
                    <td><span class=class>{status}</span></td>
                    <td>{request}</td>
                    <td>{e.ip_address.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-test-id="audit-table" data-page=page>
            <thead><tr><th>"When (UTC)"</th><th>"Actor"</th><th>"Action"</th><th>"Entity"</th><th>"Status"</th><th>"Request"</th><th>"Address"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// How many events match, by action, outcome and actor; the chart of the filter.
#[component]
fn FacetsPanel(facets: AuditFacets, params: AuditParams) -> impl IntoView {
    let narrowed = |k: &str, v: &str| params.link_with(k, v);
    let list = |items: Vec<(String, i64)>, key: &'static str| {
        items
            .into_iter()
            .map(|(v, n)| {
                let href = match key {
                    "status" if v == "none" => None,
                    _ => Some(narrowed(key, &v)),
                };
                view! { <li><a href=href>{v.clone()}</a>" "<span class="muted">{n}</span></li> }
            })
            .collect_view()
    };
    let total = match facets.total {
        Some(Count::Exact(n)) => format!("{n} events"),
        Some(Count::MoreThan(n)) => format!("more than {n} events"),
        None => String::new(),
    };
    let more = matches!(facets.total, Some(Count::MoreThan(_)));
    let actors_note = facets.actors_among_newest.map(|n| format!("among the newest {n}"));
    let chart = format!("/charts/audit.svg?{}", params.first_page().query_string());
    view! {
        <section class="cards facets" data-test-id="audit-facets">
            <div class="card">
                <h2>"Matching"</h2>
                <p class="big" data-test-id="audit-total">{total}</p>
                {more.then(|| view! { <CountJob params=params.clone()/> })}
                <small>{if facets.from_kept_counts { "from the hourly counts" } else { "from the events" }}</small>
            </div>
            <div class="card"><h2>"Top actions"</h2><ul data-test-id="facet-actions">{list(facets.actions, "action")}</ul></div>
            <div class="card"><h2>"Outcomes"</h2><ul data-test-id="facet-outcomes">{list(facets.outcomes, "status")}</ul></div>
            <div class="card">
                <h2>"Top actors"</h2>
                <ul data-test-id="facet-actors">{list(facets.actors, "actor")}</ul>
                <small>{actors_note}</small>
            </div>
        </section>
        <img class="chart" src=chart alt="Events over time for this filter" data-test-id="audit-chart" width="960" height="240"/>
    }
}

/// A background job (a verification or an exact count) followed until it ends: its
/// state is in the database, so any console instance answers.
#[component]
fn JobProgress(id: String) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let job = Resource::new(move || (id.clone(), tick.get()), |(id, _)| get_audit_job(id));
    view! {
        <Transition fallback=|| view! { <span>"Starting…"</span> }>
            {move || job.get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(j) => {
                    if j.finished_at.is_none() && j.running {
                        set_timeout(move || tick.update(|t| *t += 1), std::time::Duration::from_millis(700));
                    }
                    view! { <JobState job=j/> }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn JobState(job: AuditJob) -> impl IntoView {
    let progress = match job.total {
        Some(t) if t > 0 => format!("{} of {} ({}%)", job.done, t, job.done * 100 / t),
        _ => format!("{}", job.done),
    };
    let class = match job.outcome.as_deref() {
        Some("ok") => "info",
        Some(_) => "error",
        None => "",
    };
    view! {
        <p class=class data-test-id="job-state" data-outcome=job.outcome.clone().unwrap_or_default()>
            {match (&job.finished_at, job.running) {
                (Some(_), _) => job.result.clone().unwrap_or_default(),
                (None, true) => format!("Working: {progress}"),
                (None, false) => "Stopped: the console instance running it went away. Start it again.".to_string(),
            }}
        </p>
    }
}

#[component]
fn CountJob(params: AuditParams) -> impl IntoView {
    let start = Action::new(move |_: &()| start_audit_job("count".into(), params.first_page()));
    view! {
        <button type="button" on:click=move |_| { start.dispatch(()); } data-test-id="count-exactly">"Count exactly"</button>
        {move || start.value().get().map(|r| match r {
            Ok(id) => view! { <JobProgress id/> }.into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })}
    }
}

/// Verify the hash chain and the signed checkpoints (a background job).
#[component]
fn VerifyPanel() -> impl IntoView {
    let start = Action::new(move |_: &()| start_audit_job("verify".into(), AuditParams::default()));
    view! {
        <section class="card" data-test-id="verify">
            <h2>"Tamper evidence"</h2>
            <p>
                "Every event is chained to the one before it by a SHA-256 hash, and the chain's head is signed "
                "periodically with a key kept outside the database. Verifying walks the whole chain."
            </p>
            <button type="button" on:click=move |_| { start.dispatch(()); } data-test-id="verify-button">"Verify the chain"</button>
            {move || start.value().get().map(|r| match r {
                Ok(id) => view! { <JobProgress id/> }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
        </section>
    }
}

/// A user's timeline on their page: the newest events by them or about them, with
/// the way to the whole of it on the Audit page (every filter, paged).
#[component]
pub fn Timeline(user_id: String) -> impl IntoView {
    let params = AuditParams { involving: user_id.clone(), ..AuditParams::default() };
    let events = crate::codec::resource(move || params.clone(), audit_search);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) if p.events.is_empty() => view! { <p data-test-id="no-timeline">"Nothing yet."</p> }.into_any(),
                    Ok(p) => view! { <EventsTable events=p.events/> }.into_any(),
                }
            })}
        </Suspense>
        <p>
            <a href=format!("/audit?involving={user_id}") data-test-id="timeline-link">"The whole timeline, with filters →"</a>
            " · "
            // Every read of this person's data (actions `read.…` about them).
            <a href=format!("/audit?entity_type=user&entity_id={user_id}&action=read.") data-test-id="who-looked">
                "Who looked at this person →"
            </a>
        </p>
    }
}
