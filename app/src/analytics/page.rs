//! The Analytics page: the range (links and a form, in the query string), then each
//! chart with its numbers under it.

use super::api::get_analytics;
use crate::components::{when, ErrorNote};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::analytics::{AnalyticsChart, AnalyticsView, RANGES};
use pathfinder::filter::encode_component as encode;

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k).unwrap_or_default());
    let view_of = crate::codec::resource(
        move || (param("range"), param("from"), param("to")),
        |(range, from, to)| get_analytics(range, from, to),
    );
    let range_query = move || {
        format!("range={}&from={}&to={}", encode(&param("range")), encode(&param("from")), encode(&param("to")))
    };
    let ranges = RANGES
        .iter()
        .map(|d| {
            let here = move || {
                let r = param("range");
                (r == format!("{d}d") || (r.is_empty() && *d == 30 && param("from").is_empty())).then_some("page")
            };
            view! { <a href=format!("/analytics?range={d}d") aria-current=here>{format!("{d} days")}</a>" " }
        })
        .collect_view();
    view! {
        <h1>"Analytics"</h1>
        <nav class="ranges" data-test-id="analytics-ranges">
            {ranges}
            <form method="get" action="/analytics" class="filters">
                <label>"From "<input type="date" name="from" value=move || param("from")/></label>
                <label>" to "<input type="date" name="to" value=move || param("to")/></label>
                <button type="submit">"Show"</button>
            </form>
        </nav>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match view_of.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(v) => {
                        let charts = AnalyticsChart::ALL
                            .into_iter()
                            .map(|chart| view! { <Chart chart view=v.clone() query=range_query()/> })
                            .collect_view();
                        let counted = match &v.counted_until {
                            Some(at) => format!("Counted up to {} ({} events); days are UTC.", when(at), v.events_counted),
                            None => "No events counted yet: the analytics job counts them each minute.".to_string(),
                        };
                        view! {
                            <p class="info" data-test-id="analytics-counted">{counted}</p>
                            <div data-test-id="analytics" data-loaded="true" data-from=v.from.to_string() data-to=v.to.to_string()>
                                {charts}
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// A chart and, under it, its numbers.
#[component]
fn Chart(chart: AnalyticsChart, view: AnalyticsView, query: String) -> impl IntoView {
    let src = format!("/charts/analytics.svg?chart={}&{query}", chart.as_str());
    let id = chart.as_str();
    view! {
        <section class="card">
            <h2>{chart.title()}</h2>
            <img class="chart" data-test-id=format!("chart-{id}") src=src alt=chart.title()/>
            <details>
                <summary>"The numbers"</summary>
                <Numbers chart view/>
            </details>
        </section>
    }
}

#[component]
fn Numbers(chart: AnalyticsChart, view: AnalyticsView) -> AnyView {
    let id = format!("numbers-{}", chart.as_str());
    match chart {
        AnalyticsChart::Pages | AnalyticsChart::Referrers => {
            let rows = if chart == AnalyticsChart::Pages { view.top_pages } else { view.top_referrers };
            let what = if chart == AnalyticsChart::Pages { "Page" } else { "Referrer" };
            let rows = rows
                .into_iter()
                .map(|(name, n)| view! { <tr><td>{name}</td><td class="number">{n}</td></tr> })
                .collect_view();
            view! {
                <table class="list" data-test-id=id>
                    <thead><tr><th>{what}</th><th>"Events"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        }
        AnalyticsChart::Active | AnalyticsChart::Sessions | AnalyticsChart::Events => {
            let head: Vec<String> = match chart {
                AnalyticsChart::Active => vec!["Daily".into(), "Weekly".into(), "Monthly".into()],
                AnalyticsChart::Sessions => vec!["Sessions".into()],
                _ => view.event_types.clone(),
            };
            let head = head.into_iter().map(|h| view! { <th>{h}</th> }).collect_view();
            let rows = view
                .days
                .into_iter()
                .map(|d| {
                    let cells: Vec<i64> = match chart {
                        AnalyticsChart::Active => vec![d.daily_active, d.weekly_active, d.monthly_active],
                        AnalyticsChart::Sessions => vec![d.sessions],
                        _ => d.events.clone(),
                    };
                    let cells = cells.into_iter().map(|n| view! { <td class="number">{n}</td> }).collect_view();
                    view! { <tr><td>{d.day.to_string()}</td>{cells}</tr> }
                })
                .collect_view();
            view! {
                <table class="list" data-test-id=id>
                    <thead><tr><th>"Day (UTC)"</th>{head}</tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        }
    }
}
