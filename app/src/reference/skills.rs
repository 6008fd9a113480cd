//! The skills catalog: search and filters in the query string, a skill's edit and
//! retire or restore, its history in the audit log, and the CSV import (a dry run
//! first: every line's outcome) and export.

use super::api::{get_skills, save_skill, set_skill_active};
use super::import::{ImportCard, Imported};
use super::may_edit;
use crate::components::{error_of, ErrorNote};
use crate::sessions::api::me;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use pathfinder::reference::{Skill, SkillEdit};

#[component]
pub fn SkillsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k).unwrap_or_default());
    // Bumped after a change: the list is read again.
    let (version, set_version) = signal(0u32);
    let skills = crate::codec::resource(
        move || (param("text"), param("category"), param("active"), version.get()),
        |(t, c, a, _)| get_skills(t, c, a),
    );
    let who = crate::codec::resource(|| (), |_| me());
    view! {
        <h1>"Skills catalog"</h1>
        <form method="get" action="/reference/skills" class="filters" data-test-id="skill-filters">
            <input type="search" name="text" placeholder="Name or alias" value=move || param("text")/>
            <input type="search" name="category" placeholder="Category" value=move || param("category")/>
            <select name="active">
                <option value="">"Active and retired"</option>
                <option value="yes" selected=move || param("active") == "yes">"Active"</option>
                <option value="no" selected=move || param("active") == "no">"Retired"</option>
            </select>
            <button type="submit">"Filter"</button>
        </form>
        <p class="exports">"Export the catalog: "<a href="/export/skills" rel="external" data-test-id="export-skills">"CSV"</a></p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let editor = who.await.map(|w| may_edit(&w)).unwrap_or(false);
                editor.then(|| view! {
                    <SkillForm skill=None set_version/>
                    <ImportCard what=Imported::Skills set_version/>
                })
            })}
        </Suspense>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let editor = who.await.map(|w| may_edit(&w)).unwrap_or(false);
                match skills.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|s| view! { <SkillRow s editor set_version/> }).collect_view();
                        view! {
                            <table class="list" data-test-id="skills-table" data-loaded="true">
                                <thead><tr>
                                    <th>"Skill"</th><th>"Category"</th><th>"Aliases"</th><th>"Demand"</th>
                                    <th>"State"</th><th></th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn SkillRow(s: Skill, editor: bool, set_version: WriteSignal<u32>) -> AnyView {
    let toggle = Action::new({
        let id = s.id.clone();
        move |active: &bool| set_skill_active(id.clone(), *active)
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = toggle.value().get() {
            set_version.update(|v| *v += 1);
        }
    });
    let active = s.active;
    let history = format!("/audit?entity_type=skill&entity_id={}", s.id);
    let actions = editor.then(|| {
        let edit = s.clone();
        view! {
            <button type="button" data-test-id=if active { "retire-skill" } else { "restore-skill" }
                on:click=move |_| { toggle.dispatch(!active); }>
                {if active { "Retire" } else { "Restore" }}
            </button>
            {move || error_of(toggle.value().get())}
            <SkillForm skill=Some(edit.clone()) set_version/>
        }
    });
    view! {
        <tr data-skill=s.name.clone()>
            <td>{s.name.clone()}</td>
            <td>{s.category.clone().unwrap_or_default()}</td>
            <td>{s.aliases.join(", ")}</td>
            <td>{s.market_demand.map(|n| n.to_string()).unwrap_or_default()}</td>
            <td>{if active { "active" } else { "retired" }}</td>
            <td><a href=history>"History"</a>" "{actions}</td>
        </tr>
    }
    .into_any()
}

/// A new skill's form (`skill` None) or an existing one's.
#[component]
fn SkillForm(skill: Option<Skill>, set_version: WriteSignal<u32>) -> AnyView {
    let id = skill.as_ref().map(|s| s.id.clone()).unwrap_or_default();
    let start = skill
        .as_ref()
        .map(|s| SkillEdit {
            name: s.name.clone(),
            category: s.category.clone().unwrap_or_default(),
            description: s.description.clone().unwrap_or_default(),
            aliases: s.aliases.join("; "),
            market_demand: s.market_demand.map(|n| n.to_string()).unwrap_or_default(),
        })
        .unwrap_or_default();
    let field = |v: String| signal(v);
    let (name, set_name) = field(start.name);
    let (category, set_category) = field(start.category);
    let (description, set_description) = field(start.description);
    let (aliases, set_aliases) = field(start.aliases);
    let (demand, set_demand) = field(start.market_demand);
    let save = Action::new(move |edit: &SkillEdit| save_skill(id.clone(), edit.clone()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            set_version.update(|v| *v += 1);
        }
    });
    let title = if skill.is_some() { "Edit" } else { "Add a skill" };
    view! {
        <details class="card" data-test-id=if skill.is_some() { "edit-skill" } else { "add-skill" }>
            <summary>{title}</summary>
            <div class="fields">
                <label>"Name "<input prop:value=name on:input=move |e| set_name.set(event_target_value(&e)) data-test-id="skill-name"/></label>
                <label>"Category "<input prop:value=category on:input=move |e| set_category.set(event_target_value(&e))/></label>
                <label>"Aliases (separated by ;) "<input prop:value=aliases on:input=move |e| set_aliases.set(event_target_value(&e)) data-test-id="skill-aliases"/></label>
                <label>"Market demand (0–100) "<input prop:value=demand on:input=move |e| set_demand.set(event_target_value(&e))/></label>
                <label>"Description "<textarea prop:value=description on:input=move |e| set_description.set(event_target_value(&e))></textarea></label>
                <button type="button" data-test-id="save-skill" on:click=move |_| {
                    save.dispatch(SkillEdit {
                        name: name.get_untracked(),
                        category: category.get_untracked(),
                        description: description.get_untracked(),
                        aliases: aliases.get_untracked(),
                        market_demand: demand.get_untracked(),
                    });
                }>"Save"</button>
                {move || error_of(save.value().get())}
            </div>
        </details>
    }
    .into_any()
}
