//! A user's per-user tables, as a section of their page: the set's state, size and
//! career summary, each table's rows, provision and drop.

use super::api::{get_user_tables, DropUserTables, ProvisionUserTables};
use crate::components::{when, when_or, ErrorNote};
use crate::policy::path_of;
use leptos::prelude::*;

#[component]
pub fn UserTablesSection(user_id: String) -> impl IntoView {
    let id = user_id.clone();
    let set = crate::codec::resource(move || id.clone(), get_user_tables);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let user_id = user_id.clone();
                Suspend::new(async move {
                    match set.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(None) => view! {
                            <p data-test-id="no-tables">"No per-user tables are provisioned."</p>
                            <form method="post" action={path_of::<ProvisionUserTables>()} class="inline" data-test-id="provision-form">
                                <input type="hidden" name="user_id" value=user_id/>
                                <button type="submit">"Provision their table set"</button>
                            </form>
                        }.into_any(),
                        Ok(Some(set)) => {
                            let career = set.career.map(|c| view! {
                                <dl class="profile" data-test-id="career">
                                    <dt>"Positions"</dt><dd data-test-id="career-positions">{c.total_positions}</dd>
                                    <dt>"Companies"</dt><dd>{c.total_companies}</dd>
                                    <dt>"Career start"</dt><dd>{c.career_start_date.unwrap_or_default()}</dd>
                                    <dt>"Years of experience"</dt><dd>{c.years_experience_tenths.map(|t| format!("{}.{}", t / 10, t % 10)).unwrap_or_default()}</dd>
                                    <dt>"As of"</dt><dd data-test-id="career-as-of">{when_or(&c.as_of, "now (always current)")}</dd>
                                </dl>
                            });
                            let size = match (set.size_bytes, &set.size_sampled_at) {
                                (Some(b), Some(at)) => format!("{} at the storage sample of {}", pathfinder::usage::bytes_text(b), when(at)),
                                _ => "not sampled yet (the Storage page samples every few minutes)".into(),
                            };
                            view! {
                                <p>"Status: "<strong>{set.status}</strong>"; size: "<span data-test-id="set-size">{size}</span></p>
                                {career}
                                <p><a href=format!("/users/{user_id}/career") data-test-id="career-link">"Their career data, table by table →"</a></p>
                                <table class="list" data-test-id="user-tables">
                                    <thead><tr><th>"Table"</th><th>"Rows"</th></tr></thead>
                                    <tbody>{set.tables.into_iter().map(|t| view! { <tr><td><code>{t.name}</code></td><td>{t.rows}</td></tr> }).collect_view()}</tbody>
                                </table>
                                <form method="post" action={path_of::<DropUserTables>()} class="inline" data-test-id="drop-tables-form">
                                    <input type="hidden" name="user_id" value=user_id/>
                                    <label>"Type the username to confirm "<input type="text" name="confirm" autocomplete="off"/></label>
                                    <button type="submit" class="danger">"Drop their tables and rows"</button>
                                </form>
                            }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}
