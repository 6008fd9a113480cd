//! The reports list: filters in the query string (every view is a link), the
//! counts by status, keyset pages in the filter's order (newest first, or by
//! deadline or period when the filter asks for one).

use super::api::get_pert_reports;
use crate::components::{page_key, ErrorNote, Paged};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::filter::encode_component as encode;
use pathfinder::pert::{PertCheck, PertFilter, PertParams, PertStatus, ReportSummary};

/// The filter's fields, in the query string's order.
const FIELDS: [&str; 8] = ["status", "route", "from", "to", "deadline", "employer", "user", "check"];

#[component]
pub fn PertReportsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k).unwrap_or_default());
    let args = move || (FIELDS.map(param), param("after"));
    let page = crate::codec::resource(args, |([status, route, from, to, deadline, employer, user, check], after)| {
        get_pert_reports(status, route, from, to, deadline, employer, user, check, after)
    });
    // The current filter as a query string, with one field replaced (the counts' links).
    let with = move |field: &str, value: &str| {
        FIELDS
            .iter()
            .map(|k| format!("{k}={}", encode(&if *k == field { value.to_string() } else { param(k) })))
            .collect::<Vec<_>>()
            .join("&")
    };
    // The order the list comes in, said over it.
    let order = move || {
        let [status, route, from, to, deadline, employer, user, check] = FIELDS.map(param);
        let params = PertParams { status, route, from, to, deadline, employer, user, check, after: String::new() };
        PertFilter::from_params(&params).map_or("", |f| f.order().label())
    };
    view! {
        <h1>"CPA PERT reports"</h1>
        <form method="get" action="/pert" class="filters" data-test-id="pert-filters">
            <select name="status" data-test-id="pert-status">
                <option value="">"Any status"</option>
                {PertStatus::ALL.iter().map(|s| view! {
                    <option value=s.as_str() selected=move || param("status") == s.as_str()>{s.label()}</option>
                }).collect_view()}
            </select>
            <select name="route">
                <option value="">"Any route"</option>
                {pathfinder::pert::ROUTES.iter().map(|r| view! {
                    <option value=*r selected=move || param("route") == *r>{*r}</option>
                }).collect_view()}
            </select>
            <label>"Period from "<input type="date" name="from" value=move || param("from")/></label>
            <label>"to "<input type="date" name="to" value=move || param("to")/></label>
            <select name="deadline" data-test-id="pert-deadline">
                <option value="">"Any deadline"</option>
                <option value="past" selected=move || param("deadline") == "past">"Deadline passed"</option>
                {["7", "30", "90"].iter().map(|d| view! {
                    <option value=*d selected=move || param("deadline") == *d>{format!("Due within {d} days")}</option>
                }).collect_view()}
            </select>
            <input type="search" name="employer" placeholder="Employer (starts with)" value=move || param("employer")/>
            <input type="search" name="user" placeholder="Username or user id" value=move || param("user") data-test-id="pert-user"/>
            <button type="submit" data-test-id="pert-apply">"Filter"</button>
        </form>
        <p class="exports">
            "Export this list: "
            <a href=move || format!("/export/pert?{}&format=csv", with("", "")) data-test-id="export-csv" rel="external">"CSV"</a>" · "
            <a href=move || format!("/export/pert?{}&format=ndjson", with("", "")) data-test-id="export-ndjson" rel="external">"NDJSON"</a>
        </p>
        <Paged>
            {move || {
                let shown = page_key(&param("after"), "");
                Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(p) => {
                            let counts = p.counts.iter().map(|(status, n)| {
                                let label = PertStatus::parse(status).map(|s| s.label()).unwrap_or("Other");
                                view! { <li><a href=format!("/pert?{}", with("status", status))>{label}": "<strong>{*n}</strong></a></li> }
                            }).collect_view();
                            let checks = p.checks.iter().filter_map(|(name, n)| {
                                let check = PertCheck::parse(name).ok()?;
                                let here = (param("check") == check.as_str()).then_some("page");
                                Some(view! {
                                    <li title=check.rule() data-check=check.as_str()>
                                        <a href=format!("/pert?{}", with("check", check.as_str())) aria-current=here>
                                            {check.label()}": "<strong data-test-id="check-count">{*n}</strong>
                                        </a>
                                        <br/><small>{check.rule()}</small>
                                    </li>
                                })
                            }).collect_view();
                            let waiting = (p.waiting > 0).then(|| view! {
                                <p class="info" data-test-id="checks-waiting">
                                    {format!("{} reports changed since their last check: their findings come within a minute.", p.waiting)}
                                </p>
                            });
                            let next = p.next.map(|after| {
                                let href = format!("/pert?{}&after={after}", with("", ""));
                                view! { <a href=href data-test-id="next-page">"Next page →"</a> }
                            });
                            let rows = if p.rows.is_empty() {
                                view! { <tr><td colspan="8" data-test-id="no-reports">"No report matches."</td></tr> }.into_any()
                            } else {
                                p.rows.into_iter().map(|r| view! { <ReportRow r/> }).collect_view().into_any()
                            };
                            view! {
                                <ul class="counts" data-test-id="pert-counts">{counts}</ul>
                                <details class="card" data-test-id="needs-attention" open=!param("check").is_empty()>
                                    <summary>"Needs attention"</summary>
                                    <ul class="checks">{checks}</ul>
                                    {waiting}
                                </details>
                                <table class="list" data-test-id="pert-reports" data-page=shown>
                                    <caption data-test-id="pert-order">{format!("Sorted {}", order())}</caption>
                                    <thead><tr>
                                        <th>"Report"</th><th>"Candidate"</th><th>"Period"</th><th>"Deadline"</th>
                                        <th>"Route"</th><th>"Status"</th><th>"Employer"</th><th>"Position"</th>
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <nav class="pager">{next}</nav>
                            }.into_any()
                        }
                    }
                })
            }}
        </Paged>
    }
}

#[component]
fn ReportRow(r: ReportSummary) -> impl IntoView {
    let status = PertStatus::parse(&r.status).map(|s| s.label()).unwrap_or("Other").to_string();
    view! {
        <tr data-report=r.id.clone()>
            <td><a href=format!("/pert/{}", r.id) data-test-id="report-link">{r.id.clone()}</a></td>
            <td><a href=format!("/users/{}", r.user_id)>{r.username.unwrap_or(r.user_id.clone())}</a></td>
            <td>{format!("{} – {}", r.period_start, r.period_end)}</td>
            <td>{r.deadline.map(|d| d.to_string()).unwrap_or_default()}</td>
            <td>{r.route.unwrap_or_default()}</td>
            <td><span class=format!("status {}", r.status)>{status}</span></td>
            <td>{r.employer.unwrap_or_default()}</td>
            <td>{r.position.unwrap_or_default()}</td>
        </tr>
    }
}
