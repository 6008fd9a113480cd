//! The Security page: the review's last run and a run now, the open findings (most
//! severe first) and the history of closed ones.

use super::api::{get_security, RunSecurityReview};
use crate::components::{when, when_or, ErrorNote};
use leptos::prelude::*;
use pathfinder::security::{Check, FindingRow};

/// A finding as a table row: its check's title, what it names, what was seen, since
/// when, and how to fix it (with a link to where).
fn finding_row(f: FindingRow, closed: bool) -> impl IntoView {
    let check = Check::parse(&f.check);
    let title = check.map_or(f.check.clone(), |c| c.title().to_string());
    let fix = check.map(|c| view! { {c.fix()}" "<a href=c.link()>"Go there"</a> });
    let seen = if closed {
        format!("{} to {}; closed {}", when(&f.first_seen_at), when(&f.last_seen_at), when_or(&f.closed_at, ""))
    } else {
        format!("since {}; last {}", when(&f.first_seen_at), when(&f.last_seen_at))
    };
    view! {
        <tr data-test-id="security-finding" data-check=f.check.clone() data-severity=f.severity.as_str()>
            <td class=format!("severity {}", f.severity.as_str())>{f.severity.as_str()}</td>
            <td>{title}</td>
            <td>{f.names.clone()}</td>
            <td>{f.detail.clone()}</td>
            <td>{seen}</td>
            <td>{fix}</td>
        </tr>
    }
}

fn findings_table(rows: Vec<FindingRow>, closed: bool, test_id: &'static str) -> impl IntoView {
    let rows = rows.into_iter().map(|f| finding_row(f, closed)).collect_view();
    view! {
        <table class="list" data-test-id=test_id>
            <thead><tr><th>"Severity"</th><th>"Check"</th><th>"Names"</th><th>"Seen"</th><th>"When"</th><th>"Fix"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
pub fn SecurityPage() -> impl IntoView {
    let run = ServerAction::<RunSecurityReview>::new();
    let page = crate::codec::resource(move || run.version().get(), |_| get_security());
    let ran = move || {
        run.value().get().map(|result| match result {
            Ok(outcome) => {
                view! { <p data-test-id="security-ran">"Ran the review: "{outcome.note()}"."</p> }.into_any()
            }
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })
    };
    view! {
        <h1>"Security review"</h1>
        <p class="hint">
            "The review checks the console accounts, keys and secrets, upkeep, each instance's configuration and the \
             last day's sign-ins, daily and on demand (also pathfinder-admin security review). A finding closes at the \
             first run that no longer sees it."
        </p>
        <ActionForm action=run attr:class="inline" attr:data-test-id="security-run-form">
            <button type="submit">"Run the review now"</button>
        </ActionForm>
        {ran}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(v) => {
                        let last = match (&v.last_run.finished_at, &v.last_run.status) {
                            (Some(at), Some(status)) => format!("Last run {} ({status}).", when(at)),
                            _ => "No run yet.".to_string(),
                        };
                        let running = v.running_since.map(|t| format!(" A run started {} is under way.", when(&t)));
                        let [high, medium, low] = v.open_counts;
                        let open = if v.open.is_empty() {
                            view! { <p data-test-id="security-none">"No open finding."</p> }.into_any()
                        } else {
                            findings_table(v.open, false, "security-open").into_any()
                        };
                        view! {
                            <p data-test-id="security-last-run">{last}{running}</p>
                            <p data-test-id="security-counts" data-high=high data-medium=medium data-low=low>
                                {format!("Open: {high} high, {medium} medium, {low} low.")}
                            </p>
                            <h2>"Open findings"</h2>
                            {open}
                            <h2>"Closed"</h2>
                            {findings_table(v.closed, true, "security-closed")}
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
