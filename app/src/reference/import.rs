//! A reference table's CSV import: paste a file in the export's columns, check it
//! (a dry run: every line's outcome), then import it.

use super::api::{import_career_paths, import_skills};
use crate::components::ErrorNote;
use leptos::prelude::*;
use pathfinder::reference::ImportReport;

/// The table an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    Skills,
    CareerPaths,
}

impl Imported {
    /// What the columns hold, for whoever writes the file by hand.
    fn columns(self) -> &'static str {
        match self {
            Imported::Skills => {
                "skill_id (empty for a new skill), skill_name, skill_category, description, aliases (separated by ;), \
                 market_demand_score, is_active (Y or N)"
            }
            Imported::CareerPaths => {
                "path_id (empty for a new path), path_name, industry, from_role, to_role, typical_years, \
                 required_skills (one a line: skill name: level 1 to 5), steps (one a line), description, is_active (Y or N)"
            }
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Imported::Skills => "Skill",
            Imported::CareerPaths => "Career path",
        }
    }
}

/// Paste a CSV, check it, then import it; `set_version` is bumped when it wrote.
#[component]
pub fn ImportCard(what: Imported, set_version: WriteSignal<u32>) -> AnyView {
    let (csv, set_csv) = signal(String::new());
    let run = Action::new(move |dry_run: &bool| {
        let (csv, dry_run) = (csv.get_untracked(), *dry_run);
        async move {
            match what {
                Imported::Skills => import_skills(csv, dry_run).await,
                Imported::CareerPaths => import_career_paths(csv, dry_run).await,
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(r)) = run.value().get() {
            if r.written {
                set_version.update(|v| *v += 1);
            }
        }
    });
    view! {
        <details class="card" data-test-id="import">
            <summary>"Import from CSV"</summary>
            <p class="info">
                "The export's columns: "{what.columns()}". A line without an id is matched by name. "
                "Nothing is written while any line is refused."
            </p>
            <textarea rows="8" cols="100" prop:value=csv on:input=move |e| set_csv.set(event_target_value(&e)) data-test-id="import-csv"></textarea>
            <p>
                <button type="button" data-test-id="import-check" on:click=move |_| { run.dispatch(true); }>"Check (dry run)"</button>
                " "
                <button type="button" data-test-id="import-run" on:click=move |_| { run.dispatch(false); }>"Import"</button>
            </p>
            {move || run.value().get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(report) => view! { <ImportReportView report noun=what.noun()/> }.into_any(),
            })}
        </details>
    }
    .into_any()
}

#[component]
fn ImportReportView(report: ImportReport, noun: &'static str) -> AnyView {
    let summary = format!(
        "{} added, {} changed, {} unchanged, {} refused — {}",
        report.count("added"),
        report.count("changed"),
        report.count("unchanged"),
        report.count("refused"),
        if report.written { "imported." } else { "nothing was written." }
    );
    let rows = report
        .lines
        .into_iter()
        .map(|l| {
            let outcome = l.outcome.clone();
            view! {
                <tr data-line=l.line data-outcome=outcome>
                    <td>{l.line}</td><td>{l.name}</td><td>{l.outcome}</td><td>{l.reason.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p data-test-id="import-summary" data-written=report.written.to_string()>{summary}</p>
        <table class="list" data-test-id="import-report">
            <thead><tr><th>"Line"</th><th>{noun}</th><th>"Outcome"</th><th>"Why"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
