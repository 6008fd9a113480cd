//! The operations pages (SREs and administrators). Pool: this instance's
//! connection pool now, its acquire and usage times, charts of the last hour and
//! day drawn by the server from samples it keeps itself, and the database's own
//! view. Queries: its storage operations by name with their times, and the slowest
//! calls of the hour.

use super::api::{get_pool, get_queries};
use crate::components::ErrorNote;
use leptos::prelude::*;

#[component]
pub fn PoolPage() -> impl IntoView {
    let page = crate::codec::resource(|| (), |_| get_pool());
    view! {
        <h1>"Connection pool"</h1>
        <p class="hint">"This console instance's pool (each instance has its own; Prometheus sums them: "
            <code>"pathfinder_db_connections{state}"</code>", "<code>"_pending"</code>", "<code>"_acquire_seconds"</code>
            ", "<code>"_usage_seconds"</code>", "<code>"_timeout_total"</code>"). Sampled every 10 s; kept an hour at 10 s and a day at 5 minutes."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => {
                        let now = p.now.map(|s| view! {
                            <tr><th>"Open"</th><td data-test-id="pool-open">{s.open}</td></tr>
                            <tr><th>"Active / idle"</th><td>{format!("{} / {}", s.active, s.idle)}</td></tr>
                            <tr><th>"Waiting"</th><td>{s.pending}</td></tr>
                            <tr><th>"Acquire timeouts"</th><td>{s.timeouts}</td></tr>
                            <tr><th>"Last 10 s: acquire p50 / p95 / p99"</th><td>{s.acquire.as_ms()}</td></tr>
                        });
                        let database = p.database.rows.iter().map(|(k, v)| view! {
                            <tr><th>{k.clone()}</th><td>{v.clone()}</td></tr>
                        }).collect_view();
                        view! {
                            // Rows inside an explicit tbody: the browser adds one otherwise, and
                            // hydration would not find the rows where the server put them.
                            <table class="facts" data-test-id="pool-now"><tbody>
                                <tr><th>"Backend"</th><td>{p.backend.clone()}</td></tr>
                                <tr><th>"Max / min"</th><td>{format!("{} / {}", p.max, p.min)}</td></tr>
                                {now}
                                <tr><th>"Since start: acquire p50 / p95 / p99"</th><td>{p.acquire.as_ms()}</td></tr>
                                <tr><th>"Since start: held p50 / p95 / p99"</th><td>{p.usage.as_ms()}</td></tr>
                                <tr><th>"Connections handed out"</th><td>{p.acquired}</td></tr>
                            </tbody></table>
                            {p.now.is_none().then(|| view! { <p class="hint">"No sample yet: the first comes 10 s after the start."</p> })}
                            <h2>"The database's view"</h2>
                            <table class="facts" data-test-id="pool-database"><tbody>{database}</tbody></table>
                            {p.database.note.clone().map(|n| view! { <p class="hint" data-test-id="pool-database-note">{n}</p> })}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
        <h2>"The last hour"</h2>
        <img class="chart" data-test-id="pool-chart" src="/charts/pool.svg?range=hour&series=connections" alt="Connections over the last hour"/>
        <img class="chart" src="/charts/pool.svg?range=hour&series=acquire" alt="Acquire time over the last hour"/>
        <h2>"The last 24 hours"</h2>
        <img class="chart" src="/charts/pool.svg?range=day&series=connections" alt="Connections over the last day"/>
        <img class="chart" src="/charts/pool.svg?range=day&series=acquire" alt="Acquire time over the last day"/>
    }
}

#[component]
pub fn QueriesPage() -> impl IntoView {
    let page = crate::codec::resource(|| (), |_| get_queries());
    view! {
        <h1>"Storage operations"</h1>
        <p class="hint">"This console instance's storage operations since it started, named by their module and function (never their arguments), the most total time first; timed with the connection in hand (waiting for one is on the Pool page). Also in "<code>"pathfinder_db_operation_seconds{module,operation}"</code>"."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => {
                        let rows = p.operations.iter().map(|o| view! {
                            <tr>
                                <td><code>{format!("{}::{}", o.module, o.operation)}</code></td>
                                <td>{o.count}</td>
                                <td>{o.times.as_ms()}</td>
                            </tr>
                        }).collect_view();
                        let slowest = p.slowest.iter().map(|c| view! {
                            <tr>
                                <td><code>{format!("{}::{}", c.module, c.operation)}</code></td>
                                <td>{format!("{}.{:03} ms", c.micros / 1000, c.micros % 1000)}</td>
                                <td>{chrono::DateTime::from_timestamp_millis(c.at_ms).map(|t| crate::components::when(&t)).unwrap_or_default()}</td>
                            </tr>
                        }).collect_view();
                        let threshold = match p.slow_ms {
                            0 => "Slow calls are not logged (PF_SLOW_QUERY_MS=0).".to_string(),
                            ms => format!("Calls over {ms} ms are logged as warnings with their request id (PF_SLOW_QUERY_MS)."),
                        };
                        view! {
                            <table class="list" data-test-id="operations">
                                <thead><tr><th>"Operation"</th><th>"Calls"</th><th>"p50 / p95 / p99"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <h2>"The slowest calls of the last hour"</h2>
                            <p class="hint">{threshold}</p>
                            <table class="list" data-test-id="slowest">
                                <thead><tr><th>"Operation"</th><th>"Took"</th><th>"At"</th></tr></thead>
                                <tbody>{slowest}</tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
