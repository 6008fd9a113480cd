//! The Diagnostics page (administrators and SREs): this console instance and its
//! database — versions, schema and migrations (checked against the build on
//! demand), the clocks' difference, the pool, the settings in effect (secrets only as
//! set or unset) and when each background job last ran.

use super::api::{get_diagnostics, RunSchemaCheck};
use crate::components::ErrorNote;
use crate::components::{when, when_or};
use leptos::prelude::*;

#[component]
pub fn DiagnosticsPage() -> impl IntoView {
    let page = crate::codec::resource(|| (), |_| get_diagnostics());
    let check = ServerAction::<RunSchemaCheck>::new();
    let checked = move || {
        check.value().get().map(|result| match result {
            Ok(drift) if drift.is_empty() => {
                view! { <p data-test-id="schema-check-result">"The schema matches the migrations."</p> }.into_any()
            }
            Ok(drift) => {
                let items = drift.into_iter().map(|d| view! { <li>{d}</li> }).collect_view();
                view! {
                    <div data-test-id="schema-check-result">
                        <p class="error">{format!("{} difference(s) from the migrations:", items.len())}</p>
                        <ul>{items}</ul>
                    </div>
                }
                .into_any()
            }
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })
    };
    view! {
        <h1>"Diagnostics"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(d) => {
                        let schema = d.schema_version();
                        let schema_note = if schema == d.latest_schema {
                            format!("{schema} (this build's)")
                        } else {
                            format!("{schema}; this build brings it to {} (run migrate)", d.latest_schema)
                        };
                        let migrations = d.database.migrations.iter().map(|m| view! {
                            <tr><td>{m.version}</td><td><code>{m.name.clone()}</code></td><td>{when_or(&m.applied_at, "-")}</td></tr>
                        }).collect_view();
                        let settings = d.settings.iter().map(|s| view! {
                            <tr><td><code>{s.name.clone()}</code></td><td>{s.value.clone()}</td><td>{s.source.clone()}</td></tr>
                        }).collect_view();
                        let jobs = d.jobs.iter().map(|j| view! {
                            <tr>
                                <td>{j.name.clone()}</td>
                                <td>{j.finished_at.as_ref().map(when).unwrap_or_else(|| "never".into())}</td>
                                <td>{j.status.clone().unwrap_or_default()}</td>
                                <td>{j.detail.clone()}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <table class="facts" data-test-id="diagnostics"><tbody>
                                <tr><th>"Console"</th><td data-test-id="console-version">{format!("pathfinder-admin {} ({})", d.console_version, d.build)}</td></tr>
                                <tr><th>"Backend"</th><td>{d.backend.clone()}</td></tr>
                                <tr><th>"Database"</th><td data-test-id="database-version">{d.database.version.clone()}</td></tr>
                                <tr><th>"Schema version"</th><td data-test-id="schema-version">{schema_note}</td></tr>
                                <tr><th>"Database clock minus console clock"</th><td data-test-id="clock-difference">{format!("{} ms", d.clock_difference_ms)}</td></tr>
                                <tr><th>"Pool"</th><td>{format!("{} open, max {}, min {}", d.pool_open, d.pool_max, d.pool_min)}</td></tr>
                            </tbody></table>
                            <h2>"Background jobs"</h2>
                            <table class="list" data-test-id="jobs">
                                <thead><tr><th>"Job"</th><th>"Last finished"</th><th>"Outcome"</th><th></th></tr></thead>
                                <tbody>{jobs}</tbody>
                            </table>
                            <h2>"Settings in effect"</h2>
                            <p class="hint">"This instance's; secrets show only whether they are set."</p>
                            <table class="list" data-test-id="settings">
                                <thead><tr><th>"Setting"</th><th>"Value"</th><th>"From"</th></tr></thead>
                                <tbody>{settings}</tbody>
                            </table>
                            <h2>"Migrations applied"</h2>
                            <table class="list" data-test-id="migrations">
                                <thead><tr><th>"Version"</th><th>"Name"</th><th>"Applied"</th></tr></thead>
                                <tbody>{migrations}</tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
        <h2>"Schema check"</h2>
        <p class="hint">"Compares the live schema with what the migrations define (also "<code>"pathfinder-admin schema-check"</code>")."</p>
        <button data-test-id="schema-check" on:click=move |_| { check.dispatch(RunSchemaCheck {}); } disabled=move || check.pending().get()>
            "Check the schema now"
        </button>
        {checked}
    }
}
