//! The career data page: a tab per per-user table, a keyset page of its rows, and
//! a reveal (with a reason) for each row's hidden text.

use super::api::{get_career_page, reveal_career};
use crate::components::{page_key, ErrorNote, Paged};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use pathfinder::career::{CareerCell, CareerPage, CareerRow, CareerSection};

#[component]
pub fn CareerDataPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let user_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let arg = move |name: &str| query.with(|q| q.get(name).unwrap_or_default());
    let section = move || Some(arg("section")).filter(|s| !s.is_empty()).unwrap_or_else(|| "experiences".into());
    let page = crate::codec::resource(
        move || (user_id(), section(), arg("conversation"), arg("after")),
        |(u, s, c, a)| get_career_page(u, s, c, a),
    );
    let tabs = move || {
        let (id, current) = (user_id(), section());
        CareerSection::ALL
            .iter()
            // Messages are read a conversation at a time, from its row.
            .filter(|s| **s != CareerSection::Messages)
            .map(|s| {
                let here = (s.table() == current).then_some("page");
                view! { <a href=format!("/users/{id}/career?section={}", s.table()) aria-current=here>{s.label()}</a> }
            })
            .collect_view()
    };
    view! {
        <h1>"Career data"</h1>
        <p><a href=move || format!("/users/{}", user_id()) data-test-id="back-to-user">"← Their page"</a></p>
        <nav class="tabs" data-test-id="career-sections">{tabs}</nav>
        <p class="info">
            "What this person wrote about themselves is hidden. Reveal a row's to read it: "
            "you are asked why, and the reason goes into the audit log with the read."
        </p>
        <Paged>
            {move || {
                let shown = page_key(&arg("after"), "");
                let (id, conversation) = (user_id(), arg("conversation"));
                Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(None) => view! { <p data-test-id="no-career">"This person has no table set: nothing to show."</p> }.into_any(),
                        Ok(Some(p)) => view! { <CareerTable page=p user_id=id shown conversation/> }.into_any(),
                    }
                })
            }}
        </Paged>
    }
}

#[component]
fn CareerTable(page: CareerPage, user_id: String, shown: String, conversation: String) -> impl IntoView {
    let section = page.section;
    let headings = section.columns().iter().map(|c| view! { <th>{c.label}</th> }).collect_view();
    let next = page.next.clone().map(|after| {
        let href =
            format!("/users/{user_id}/career?section={}&conversation={conversation}&after={after}", section.table());
        view! { <a href=href data-test-id="next-page">"Next page →"</a> }
    });
    let heading = match section {
        CareerSection::Messages => format!("{} of one conversation", section.label()),
        _ => section.label().to_string(),
    };
    let rows =
        page.rows.into_iter().map(|row| view! { <CareerRowView row section user_id=user_id.clone()/> }).collect_view();
    view! {
        <h2>{heading}" "<small data-test-id="career-total">{page.total}" rows"</small></h2>
        <table class="list" data-test-id="career-table" data-section=section.table() data-page=shown>
            <thead><tr>{headings}<th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <nav class="pager">{next}</nav>
    }
}

/// One row: its cells (hidden text as its length), and for a row with hidden text
/// a reason field and a *Reveal* button; the text comes back under the row.
#[component]
fn CareerRowView(row: CareerRow, section: CareerSection, user_id: String) -> impl IntoView {
    let hidden = row.cells.iter().any(|c| matches!(c, CareerCell::Hidden { .. }));
    let cells = row
        .cells
        .iter()
        .map(|cell| match cell {
            CareerCell::Empty => view! { <td></td> }.into_any(),
            CareerCell::Shown(text) => view! { <td>{text.clone()}</td> }.into_any(),
            CareerCell::Hidden { chars } => {
                view! { <td><span class="muted" data-test-id="hidden-text">{format!("hidden ({chars} characters)")}</span></td> }
                    .into_any()
            }
        })
        .collect_view();
    let (reason, set_reason) = signal(String::new());
    let reveal = Action::new({
        let (user_id, row_id) = (user_id.clone(), row.id.clone());
        move |why: &String| reveal_career(user_id.clone(), section.table().to_string(), row_id.clone(), why.clone())
    });
    let messages = (section == CareerSection::Conversations).then(|| {
        let href = format!("/users/{user_id}/career?section=chat_messages&conversation={}", row.id);
        view! { <a href=href data-test-id="conversation-messages">"Messages →"</a> }
    });
    let action = hidden.then(|| {
        view! {
            <input type="text" placeholder="Why you reveal it" data-test-id="reveal-reason"
                prop:value=reason on:input=move |e| set_reason.set(event_target_value(&e))/>
            <button type="button" data-test-id="reveal-row" on:click=move |_| { reveal.dispatch(reason.get_untracked()); }>
                "Reveal"
            </button>
        }
    });
    let width = section.columns().len() + 1;
    view! {
        <tr data-row=row.id.clone()>{cells}<td>{messages}{action}</td></tr>
        {move || reveal.value().get().map(|r| view! {
            <tr class="revealed">
                <td colspan=width>
                    {match r {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(text) => view! {
                            <dl class="profile" data-test-id="revealed">
                                {text.fields.into_iter().map(|(label, value)| view! {
                                    <dt>{label}</dt><dd>{value.unwrap_or_default()}</dd>
                                }).collect_view()}
                            </dl>
                        }.into_any(),
                    }}
                </td>
            </tr>
        })}
    }
}
