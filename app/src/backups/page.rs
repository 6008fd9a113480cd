//! The Backups page (administrators and SREs): the backups the console took of the
//! embedded database (scheduled or by `backup create`), newest first, with their
//! age, size and verification; on Oracle, what the platform does instead.

use super::api::get_backups;
use crate::components::when;
use crate::components::ErrorNote;
use leptos::prelude::*;
use pathfinder::usage::bytes_text;

/// "3 h", "2 d": how long before `now`.
fn age(t: &chrono::DateTime<chrono::Utc>, now: &chrono::DateTime<chrono::Utc>) -> String {
    let minutes = (*now - *t).num_minutes().max(0);
    match minutes {
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} d", m / (24 * 60)),
    }
}

#[component]
pub fn BackupsPage() -> impl IntoView {
    let page = crate::codec::resource(|| (), |_| get_backups());
    view! {
        <h1>"Backups"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(v) if v.platform_takes_them => view! {
                        <p data-test-id="backups-platform">
                            "On Oracle the platform takes the backups: Autonomous Database backs up continuously \
                             (full, cumulative and incremental backups, kept 60 days by default, 1 to 60 on ECPU) \
                             and restores to any time in that window from the OCI console or API. Oracle's \
                             objectives: from backups, RPO under 10 seconds and RTO 1 hour plus 1 hour per 5 TB; with \
                             a local Autonomous Data Guard standby, RPO 0 and RTO 2 minutes. The seed asks for RPO 5 \
                             minutes and RTO 1 hour. The database shows its backups to no SQL view a console user can \
                             read, so this page lists none; see README, Backups."
                        </p>
                    }
                    .into_any(),
                    Ok(v) if v.backups.is_empty() => view! {
                        <p data-test-id="backups-none">"No backup yet: run pathfinder-admin backup create (see README, Backups)."</p>
                    }
                    .into_any(),
                    Ok(v) => {
                        let now = v.asked_at;
                        let rows = v.backups.into_iter().map(|b| {
                            let verified = match (&b.verify_status, &b.verified_at) {
                                (Some(status), Some(at)) => format!("{status} ({})", when(at)),
                                _ => "not verified yet".into(),
                            };
                            view! {
                                <tr data-test-id="backup-row">
                                    <td>{when(&b.started_at)}</td>
                                    <td>{age(&b.started_at, &now)}</td>
                                    <td>{b.kind.clone()}{b.base_id.as_ref().map(|_| " (with its full backup)")}</td>
                                    <td>{b.status.clone()}</td>
                                    <td>{b.total_bytes.map(bytes_text).unwrap_or_default()}</td>
                                    <td>{b.file_count.unwrap_or_default()}</td>
                                    <td data-test-id="backup-verified" title=b.verify_note.clone().unwrap_or_default()>{verified}</td>
                                    <td><code>{b.location.clone()}</code></td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="list" data-test-id="backups">
                                <thead><tr><th>"Started"</th><th>"Age"</th><th>"Kind"</th><th>"Status"</th><th>"Size"</th><th>"Files"</th><th>"Verification"</th><th>"Folder"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
