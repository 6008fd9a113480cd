//! Career paths: search and filters, each path with its skills (linked to their
//! catalog entries) and steps; administrators edit them as fields (skills and
//! levels in rows, steps one a line), retire and restore them, and import them as
//! CSV (the export's columns).

use super::api::{get_career_paths, get_skills, save_career_path, set_career_path_active};
use super::import::{ImportCard, Imported};
use super::may_edit;
use crate::components::{error_of, ErrorNote};
use crate::sessions::api::me;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::filter::encode_component as encode;
use pathfinder::reference::{CareerPath, PathEdit, Skill, PATH_SKILLS_MAX};

#[component]
pub fn CareerPathsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k).unwrap_or_default());
    let (version, set_version) = signal(0u32);
    let paths = crate::codec::resource(
        move || (param("text"), param("industry"), param("active"), param("after"), version.get()),
        |(t, i, a, after, _)| get_career_paths(t, i, a, after),
    );
    // A link to the page after `cursor` (or the first), the filters kept.
    let page_link = move |cursor: &str| {
        let mut q = format!(
            "/reference/career-paths?text={}&industry={}&active={}",
            encode(&param("text")),
            encode(&param("industry")),
            encode(&param("active"))
        );
        if !cursor.is_empty() {
            q.push_str(&format!("&after={}", encode(cursor)));
        }
        q
    };
    let who = crate::codec::resource(|| (), |_| me());
    let catalog = crate::codec::resource(|| (), |_| get_skills(String::new(), String::new(), "yes".into()));
    view! {
        <h1>"Career paths"</h1>
        <form method="get" action="/reference/career-paths" class="filters" data-test-id="path-filters">
            <input type="search" name="text" placeholder="Name or role" value=move || param("text")/>
            <input type="search" name="industry" placeholder="Industry" value=move || param("industry")/>
            <select name="active">
                <option value="">"Active and retired"</option>
                <option value="yes" selected=move || param("active") == "yes">"Active"</option>
                <option value="no" selected=move || param("active") == "no">"Retired"</option>
            </select>
            <button type="submit">"Filter"</button>
        </form>
        <p class="exports">"Export the paths: "<a href="/export/career-paths" rel="external" data-test-id="export-paths">"CSV"</a></p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let editor = who.await.map(|w| may_edit(&w)).unwrap_or(false);
                editor.then(|| view! { <ImportCard what=Imported::CareerPaths set_version/> })
            })}
        </Suspense>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let editor = who.await.map(|w| may_edit(&w)).unwrap_or(false);
                let skills = if editor { catalog.await.unwrap_or_default() } else { Vec::new() };
                match paths.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) => {
                        let add = editor.then(|| view! { <PathForm path=None skills=skills.clone() set_version/> });
                        let first = (!param("after").is_empty())
                            .then(|| view! { <a href=page_link("") data-test-id="first-page">"← First page"</a> });
                        let next = list.next_cursor.map(|c| {
                            view! { <a href=page_link(&c) data-test-id="next-page">"Next page →"</a> }
                        });
                        let rows = list
                            .items
                            .into_iter()
                            .map(|p| view! { <PathRow p editor skills=skills.clone() set_version/> })
                            .collect_view();
                        view! {
                            {add}
                            <table class="list" data-test-id="paths-table" data-loaded="true">
                                <thead><tr>
                                    <th>"Path"</th><th>"Industry"</th><th>"From → to"</th><th>"Years"</th>
                                    <th>"Skills"</th><th>"Steps"</th><th>"State"</th><th></th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <nav class="pager">{first}" "{next}</nav>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn PathRow(p: CareerPath, editor: bool, skills: Vec<Skill>, set_version: WriteSignal<u32>) -> AnyView {
    let toggle = Action::new({
        let id = p.id.clone();
        move |active: &bool| set_career_path_active(id.clone(), *active)
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = toggle.value().get() {
            set_version.update(|v| *v += 1);
        }
    });
    let active = p.active;
    let required = p
        .required
        .iter()
        .map(|s| {
            let name = s.name.clone().unwrap_or_else(|| format!("(gone: {})", s.skill_id));
            let href = format!("/reference/skills?text={}", encode(s.name.as_deref().unwrap_or("")));
            view! { <li><a href=href>{name}</a>{format!(" (level {})", s.level)}</li> }
        })
        .collect_view();
    let steps = p.steps.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view();
    let history = format!("/audit?entity_type=career_path&entity_id={}", p.id);
    // The form is made when asked for: one per row, each with a list of the whole
    // catalog per skill, made the page megabytes long.
    let editing = RwSignal::new(false);
    let actions = editor.then(|| {
        let edit = p.clone();
        view! {
            <button type="button" on:click=move |_| { toggle.dispatch(!active); }>
                {if active { "Retire" } else { "Restore" }}
            </button>
            {move || error_of(toggle.value().get())}
            <button type="button" data-test-id="edit-path" on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
            {move || editing.get().then(|| view! { <PathForm path=Some(edit.clone()) skills=skills.clone() set_version/> })}
        }
    });
    view! {
        <tr data-path=p.name.clone()>
            <td>{p.name.clone()}</td>
            <td>{p.industry.clone().unwrap_or_default()}</td>
            <td>{format!("{} → {}", p.from_role.clone().unwrap_or_else(|| "anyone".into()), p.to_role)}</td>
            <td>{p.typical_years.map(|y| y.to_string()).unwrap_or_default()}</td>
            <td><ul class="plain">{required}</ul></td>
            <td><ol>{steps}</ol></td>
            <td>{if active { "active" } else { "retired" }}</td>
            <td><a href=history>"History"</a>" "{actions}</td>
        </tr>
    }
    .into_any()
}

/// A path's fields: the required skills as rows of skill and level, the steps one
/// a line.
#[component]
fn PathForm(path: Option<CareerPath>, skills: Vec<Skill>, set_version: WriteSignal<u32>) -> AnyView {
    let id = path.as_ref().map(|p| p.id.clone()).unwrap_or_default();
    let text = |f: fn(&CareerPath) -> String| signal(path.as_ref().map(f).unwrap_or_default());
    let (name, set_name) = text(|p| p.name.clone());
    let (industry, set_industry) = text(|p| p.industry.clone().unwrap_or_default());
    let (from_role, set_from) = text(|p| p.from_role.clone().unwrap_or_default());
    let (to_role, set_to) = text(|p| p.to_role.clone());
    let (years, set_years) = text(|p| p.typical_years.map(|y| y.to_string()).unwrap_or_default());
    let (steps, set_steps) = text(|p| p.steps.join("\n"));
    let (description, set_description) = text(|p| p.description.clone().unwrap_or_default());
    let rows: Vec<(RwSignal<String>, RwSignal<String>)> = (0..PATH_SKILLS_MAX)
        .map(|i| {
            let s = path.as_ref().and_then(|p| p.required.get(i));
            (
                RwSignal::new(s.map(|s| s.skill_id.clone()).unwrap_or_default()),
                RwSignal::new(s.map(|s| s.level.to_string()).unwrap_or_default()),
            )
        })
        .collect();
    let save = Action::new(move |edit: &PathEdit| save_career_path(id.clone(), edit.clone()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            set_version.update(|v| *v += 1);
        }
    });
    let skill_rows = rows
        .iter()
        .map(|(skill, level)| {
            let (skill, level) = (*skill, *level);
            let options = skills
                .iter()
                .map(|s| {
                    let id = s.id.clone();
                    view! { <option value=s.id.clone() selected=move || skill.get() == id>{s.name.clone()}</option> }
                })
                .collect_view();
            view! {
                <li>
                    <select data-test-id="path-skill" on:change=move |e| skill.set(event_target_value(&e))>
                        <option value="">"—"</option>
                        {options}
                    </select>
                    " level "
                    <input type="number" min="1" max="5" prop:value=level on:input=move |e| level.set(event_target_value(&e))/>
                </li>
            }
        })
        .collect_view();
    let title = if path.is_some() { "Edit" } else { "Add a career path" };
    // An edit form is shown open (its row's Edit button made it).
    let editing = path.is_some();
    view! {
        <details class="card" open=editing data-test-id=if editing { "path-form" } else { "add-path" }>
            <summary>{title}</summary>
            <div class="fields">
                <label>"Name "<input prop:value=name on:input=move |e| set_name.set(event_target_value(&e)) data-test-id="path-name"/></label>
                <label>"Industry "<input prop:value=industry on:input=move |e| set_industry.set(event_target_value(&e))/></label>
                <label>"From role "<input prop:value=from_role on:input=move |e| set_from.set(event_target_value(&e))/></label>
                <label>"To role "<input prop:value=to_role on:input=move |e| set_to.set(event_target_value(&e)) data-test-id="path-to"/></label>
                <label>"Typical years "<input prop:value=years on:input=move |e| set_years.set(event_target_value(&e))/></label>
                <fieldset><legend>"Required skills"</legend><ul class="plain">{skill_rows}</ul></fieldset>
                <label>"Steps (one a line) "<textarea prop:value=steps on:input=move |e| set_steps.set(event_target_value(&e)) data-test-id="path-steps"></textarea></label>
                <label>"Description "<textarea prop:value=description on:input=move |e| set_description.set(event_target_value(&e))></textarea></label>
                <button type="button" data-test-id="save-path" on:click=move |_| {
                    save.dispatch(PathEdit {
                        name: name.get_untracked(),
                        industry: industry.get_untracked(),
                        from_role: from_role.get_untracked(),
                        to_role: to_role.get_untracked(),
                        typical_years: years.get_untracked(),
                        skill_ids: rows.iter().map(|(s, _)| s.get_untracked()).collect(),
                        levels: rows.iter().map(|(_, l)| l.get_untracked()).collect(),
                        steps: steps.get_untracked(),
                        description: description.get_untracked(),
                    });
                }>"Save"</button>
                {move || error_of(save.value().get())}
            </div>
        </details>
    }
    .into_any()
}
