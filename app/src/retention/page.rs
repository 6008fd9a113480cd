//! The Retention page (administrators): the policies of `pf_data_retention_policies`
//! (which tables keep rows how long, archived first or not), edited here with each
//! change audited; a dry run that says what a run would archive and delete; a run
//! now; and the last run with what it did per table (its progress while it runs).

use super::api::{get_retention, DeleteRetentionPolicy, RunRetentionNow, SaveRetentionPolicy};
use crate::components::ErrorNote;
use crate::components::{when, when_or};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::retention::{RetentionPolicy, RetentionSummary};
use pathfinder::AppError;

const RULES: &str = "A pattern names a table, with * for any run of characters: pf_user_analytics (whole days; \
on Oracle its daily partitions are dropped), pf_user_sessions (counted from when they expired), pf_audit_log (by its \
name only; events go only when older than the last verification that found the chain whole, and verification then \
starts at a signed cut), pf_user_*_experiences (counted from their end; archived into pf_user_<name>_experiences_archive; \
deleting one deletes its skills) and pf_user_*_chat_messages. Runs are daily (PF_RETENTION_HOURS), one at a time \
across instances, and resume where a stopped one got to.";

/// What a run did or would do, per table.
fn summary_table(s: &RetentionSummary, test_id: &'static str) -> impl IntoView {
    let (archived, deleted) = if s.dry_run { ("Would archive", "Would delete") } else { ("Archived", "Deleted") };
    let rows = s
        .tables
        .iter()
        .map(|t| {
            view! {
                <tr>
                    <td><code>{t.table.clone()}</code></td>
                    <td>{t.cutoff.as_ref().map(when).unwrap_or_default()}</td>
                    <td>{t.archived}</td>
                    <td>{t.deleted}</td>
                    <td>{if t.done { "done" } else { "not yet" }}</td>
                    <td>{t.note.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-test-id=test_id>
            <thead><tr><th>"Table"</th><th>"Older than"</th><th>{archived}</th><th>{deleted}</th><th></th><th>"Note"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// One policy's row: its settings as a form of their own (saved or removed here).
fn policy_row(p: RetentionPolicy) -> impl IntoView {
    let form = format!("policy-{}", p.id);
    view! {
        <tr data-test-id="retention-policy">
            <td><code>{p.table_pattern.clone()}</code></td>
            <td><input form=form.clone() name="retention_days" type="number" min="1" value=p.retention_days.to_string()/></td>
            <td><input form=form.clone() name="archive" type="checkbox" checked=p.archive_enabled/></td>
            <td><input form=form.clone() name="delete" type="checkbox" checked=p.delete_enabled/></td>
            <td>{when_or(&p.last_run, "never")}</td>
            <td>
                <form id=form method="post" action={crate::policy::path_of::<SaveRetentionPolicy>()} class="inline">
                    <input type="hidden" name="id" value=p.id.clone()/>
                    <input type="hidden" name="table_pattern" value=p.table_pattern.clone()/>
                    <button type="submit">"Save"</button>
                </form>
                <form method="post" action={crate::policy::path_of::<DeleteRetentionPolicy>()} class="inline">
                    <input type="hidden" name="id" value=p.id.clone()/>
                    <button type="submit">"Remove"</button>
                </form>
            </td>
        </tr>
    }
}

#[component]
pub fn RetentionPage() -> impl IntoView {
    let query = use_query_map();
    let run = ServerAction::<RunRetentionNow>::new();
    let page = crate::codec::resource(move || run.version().get(), |_| get_retention());
    let form_error = move || query.with(|q| q.get("__err")).and_then(|code| AppError::from_code(&code));
    let ran = move || {
        run.value().get().map(|result| match result {
            Ok(Some(summary)) => view! {
                <div data-test-id="retention-dry-run">
                    <p>{summary.text().lines().next().unwrap_or_default().to_string()}</p>
                    {summary_table(&summary, "retention-dry-run-tables")}
                </div>
            }
            .into_any(),
            Ok(None) => {
                view! { <p data-test-id="retention-started">"The run started; its progress is below."</p> }.into_any()
            }
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })
    };
    view! {
        <h1>"Retention"</h1>
        <p class="hint">{RULES}</p>
        {move || form_error().map(|e| view! { <ErrorNote error=e/> })}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => {
                        let policies = p.policies.into_iter().map(policy_row).collect_view();
                        let last = match p.last_run {
                            None => view! { <p data-test-id="retention-last-run">"No run yet."</p> }.into_any(),
                            Some(r) => {
                                let state = match (&r.finished_at, &r.outcome) {
                                    (Some(at), Some(outcome)) => format!("finished {} ({outcome})", when(at)),
                                    _ => "under way, or stopped midway (the next run resumes it)".to_string(),
                                };
                                view! {
                                    <p data-test-id="retention-last-run">"Started "{when(&r.started_at)}", "{state}"."</p>
                                    {summary_table(&r.summary, "retention-last-run-tables")}
                                }
                                .into_any()
                            }
                        };
                        view! {
                            <table class="list" data-test-id="retention-policies">
                                <thead><tr><th>"Tables"</th><th>"Days"</th><th>"Archive"</th><th>"Delete"</th><th>"Last run"</th><th></th></tr></thead>
                                <tbody>{policies}</tbody>
                            </table>
                            <h2>"Last run"</h2>
                            {last}
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
        <h2>"New policy"</h2>
        <form method="post" action={crate::policy::path_of::<SaveRetentionPolicy>()} class="fields" data-test-id="retention-new">
            <label>"Tables "<input name="table_pattern" required=true placeholder="pf_user_*_chat_messages"/></label>
            <label>"Days "<input name="retention_days" type="number" min="1" required=true/></label>
            <label><input type="checkbox" name="archive"/>" archive first"</label>
            <label><input type="checkbox" name="delete" checked=true/>" delete"</label>
            <button type="submit">"Add"</button>
        </form>
        <h2>"Run"</h2>
        <ActionForm action=run attr:class="inline" attr:data-test-id="retention-dry-run-form">
            <input type="hidden" name="dry_run" value="on"/>
            <button type="submit">"Dry run"</button>
        </ActionForm>
        <ActionForm action=run attr:class="inline" attr:data-test-id="retention-run-form">
            <button type="submit">"Run now"</button>
        </ActionForm>
        {ran}
    }
}
