//! A report's page: the report, its experiences (activities, hours tracked against
//! the report's hours and period, version chain, narratives revealed with a
//! reason), the candidate's milestones, and each submission's history with the
//! form that records a review.

use super::api::{get_pert_report, record_pert_review, reveal_pert_narrative};
use crate::components::{when_or, ErrorNote, NotFound};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use pathfinder::pert::{
    ExperienceView, MilestoneView, PertAction, PertCheck, PertStatus, ReportDetail, SubmissionView,
};

fn status_label(s: &str) -> String {
    PertStatus::parse(s).map(|s| s.label().to_string()).unwrap_or_else(|_| s.to_string())
}

fn hours(h: f64) -> String {
    if h.fract() == 0.0 {
        format!("{h:.0}")
    } else {
        format!("{h:.2}")
    }
}

#[component]
pub fn PertReportPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    // Bumped after a review is recorded: the page reads the report again.
    let (version, set_version) = signal(0u32);
    let report = crate::codec::resource(move || (id(), version.get()), |(id, _)| get_pert_report(id));
    view! {
        <p><a href="/pert">"← All reports"</a></p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Ok(Some(detail)) => view! { <Report detail set_version/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Report(detail: ReportDetail, set_version: WriteSignal<u32>) -> impl IntoView {
    let r = detail.report;
    let tracked: f64 = detail.experiences.iter().map(|e| e.tracked_hours).sum();
    let outside: i64 = detail.experiences.iter().map(|e| e.tracked_days_outside).sum();
    let over = r.hours_worked.is_some_and(|h| tracked > h);
    let findings = (!detail.findings.is_empty()).then(|| {
        let items = detail
            .findings
            .iter()
            .map(|(name, what)| {
                let label = PertCheck::parse(name).map(|c| c.label()).unwrap_or("Other");
                view! { <li data-check=name.clone()><strong>{label}</strong>": "{what.clone()}</li> }
            })
            .collect_view();
        view! { <div class="card warn" data-test-id="report-findings"><h2>"Needs attention"</h2><ul>{items}</ul></div> }
    });
    let experiences = detail
        .experiences
        .into_iter()
        .map(|e| view! { <Experience e period=(r.period_start, r.period_end)/> })
        .collect_view();
    let submissions = detail.submissions.into_iter().map(|s| view! { <Submission s set_version/> }).collect_view();
    view! {
        <h1>"CPA PERT report"</h1>
        <dl class="profile" data-test-id="pert-report" data-status=r.status.clone()>
            <dt>"Candidate"</dt>
            <dd><a href=format!("/users/{}", r.user_id)>{r.username.clone().unwrap_or(r.user_id.clone())}</a></dd>
            <dt>"Status"</dt><dd data-test-id="report-status">{status_label(&r.status)}</dd>
            <dt>"Period"</dt><dd>{format!("{} – {}", r.period_start, r.period_end)}</dd>
            <dt>"Deadline"</dt><dd>{r.deadline.map(|d| d.to_string()).unwrap_or_else(|| "none".into())}</dd>
            <dt>"Route"</dt><dd>{r.route.clone().unwrap_or_default()}</dd>
            <dt>"Employer"</dt><dd>{r.employer.clone().unwrap_or_default()}</dd>
            <dt>"Position"</dt><dd>{r.position.clone().unwrap_or_default()}</dd>
            <dt>"Hours worked"</dt><dd>{r.hours_worked.map(hours).unwrap_or_default()}</dd>
            <dt>"Hours tracked"</dt>
            <dd data-test-id="hours-tracked" class=over.then_some("warn")>
                {hours(tracked)}
                {over.then_some(" — more than the hours worked")}
                {(outside > 0).then(|| format!(" — {outside} days outside the report's period"))}
            </dd>
            <dt>"Version"</dt><dd>{r.version.unwrap_or(1)}</dd>
        </dl>
        {findings}
        <h2>"Experiences"</h2>
        <p class="info">
            "What the candidate wrote (challenge, actions, results, lessons learned) is hidden. "
            "Reveal an experience's to read it: you are asked why, and the reason goes into the audit log with the read."
        </p>
        <table class="list" data-test-id="pert-experiences">
            <thead><tr>
                <th>"Experience"</th><th>"Sub-competency"</th><th>"Level"</th><th>"Dates"</th>
                <th>"Hours"</th><th>"Tracked"</th><th>"Activities"</th><th>"Version"</th><th>"Narrative"</th>
            </tr></thead>
            <tbody>{experiences}</tbody>
        </table>
        <h2>"Milestones"</h2>
        <Milestones milestones=detail.milestones/>
        <h2>"Submissions"</h2>
        <div data-test-id="pert-submissions">{submissions}</div>
    }
}

#[component]
fn Experience(e: ExperienceView, period: (chrono::NaiveDate, chrono::NaiveDate)) -> impl IntoView {
    let outside = e.start < period.0 || e.end > period.1;
    let (reason, set_reason) = signal(String::new());
    let reveal = Action::new({
        let id = e.id.clone();
        move |why: &String| reveal_pert_narrative(id.clone(), why.clone())
    });
    let hidden: usize = e.narrative_chars.iter().sum();
    let activities = e
        .activities
        .iter()
        .map(|a| {
            view! { <li>{format!("{} {} – {}, {} h", a.activity_type.clone().unwrap_or_default(), a.start, a.end, hours(a.hours))}</li> }
        })
        .collect_view();
    let chain = e.previous_version_id.clone().map(|p| view! { <br/><small>{format!("revises {p}")}</small> });
    view! {
        <tr data-experience=e.id.clone()>
            <td>{e.title.clone()}</td>
            <td>
                {e.sub_competency.clone().unwrap_or_else(|| "unknown sub-competency".into())}
                " "<small>{e.sub_competency_id.clone()}</small>
            </td>
            <td>{e.proficiency.map(|p| p.to_string()).unwrap_or_default()}</td>
            <td class=outside.then_some("warn")>
                {format!("{} – {}", e.start, e.end)}
                {outside.then_some(" (outside the report's period)")}
            </td>
            <td>{e.time_spent_hours.map(hours).unwrap_or_default()}</td>
            <td>{format!("{} h on {} days", hours(e.tracked_hours), e.tracked_days)}</td>
            <td><ul class="plain">{activities}</ul></td>
            <td>{e.version.unwrap_or(1)}{chain}</td>
            <td>
                <span class="muted" data-test-id="hidden-text">{format!("hidden ({hidden} characters)")}</span>
                <input type="text" placeholder="Why you reveal it" data-test-id="reveal-reason"
                    prop:value=reason on:input=move |ev| set_reason.set(event_target_value(&ev))/>
                <button type="button" data-test-id="reveal-narrative" on:click=move |_| { reveal.dispatch(reason.get_untracked()); }>
                    "Reveal"
                </button>
            </td>
        </tr>
        {move || reveal.value().get().map(|r| view! {
            <tr class="revealed">
                <td colspan="9">
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

#[component]
fn Milestones(milestones: Vec<MilestoneView>) -> impl IntoView {
    if milestones.is_empty() {
        return view! { <p>"No milestones recorded."</p> }.into_any();
    }
    let rows = milestones
        .into_iter()
        .map(|m| {
            let from = m.previous_level.map_or("—".to_string(), |l| l.to_string());
            view! {
                <tr>
                    <td>{m.sub_competency.unwrap_or_default()}" "<small>{m.sub_competency_id}</small></td>
                    <td>{m.date.to_string()}</td>
                    <td>{format!("{from} → {}", m.achieved_level)}</td>
                    <td>{m.hours.map(hours).unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-test-id="pert-milestones">
            <thead><tr><th>"Sub-competency"</th><th>"Date"</th><th>"Level"</th><th>"Hours"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Submission(s: SubmissionView, set_version: WriteSignal<u32>) -> impl IntoView {
    let status = PertStatus::parse(&s.status).ok();
    let history = s
        .history
        .iter()
        .map(|h| {
            let action = PertAction::parse(&h.action).map(|a| a.label()).unwrap_or("Other");
            let moved = format!(
                "{} → {}",
                h.previous_status.as_deref().map(status_label).unwrap_or_else(|| "—".into()),
                h.new_status.as_deref().map(status_label).unwrap_or_else(|| "—".into())
            );
            view! {
                <li data-action=h.action.clone()>
                    <strong>{action}</strong>" "{when_or(&h.at, "")}" by "{h.by.clone().unwrap_or_else(|| "unknown".into())}
                    " · "{moved}
                    {h.details.clone().map(|d| view! { <br/><q>{d}</q> })}
                </li>
            }
        })
        .collect_view();
    // The reviews the state machine allows from here.
    let reviews: Vec<PertAction> =
        PertAction::REVIEWS.into_iter().filter(|a| status.is_some_and(|s| a.from(Some(s)).is_some())).collect();
    let record = Action::new({
        let id = s.id.clone();
        move |(action, comment): &(String, String)| record_pert_review(id.clone(), action.clone(), comment.clone())
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = record.value().get() {
            set_version.update(|v| *v += 1);
        }
    });
    let (action, set_action) = signal(reviews.first().map(|a| a.as_str().to_string()).unwrap_or_default());
    let (comment, set_comment) = signal(String::new());
    let form = (!reviews.is_empty()).then(|| {
        let options = reviews
            .iter()
            .map(|a| view! { <option value=a.as_str()>{a.label()}</option> })
            .collect_view();
        view! {
            <div class="fields" data-test-id="review-form">
                <select data-test-id="review-action" on:change=move |ev| set_action.set(event_target_value(&ev))>{options}</select>
                <input type="text" placeholder="Comment for the candidate and the audit log" data-test-id="review-comment"
                    prop:value=comment on:input=move |ev| set_comment.set(event_target_value(&ev))/>
                <button type="button" data-test-id="review-record"
                    on:click=move |_| { record.dispatch((action.get_untracked(), comment.get_untracked())); }>
                    "Record review"
                </button>
                {move || record.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
            </div>
        }
    });
    view! {
        <section class="card" data-submission=s.id.clone() data-status=s.status.clone()>
            <h3>{format!("{} submission", s.submission_type.clone().unwrap_or_else(|| "A".into()))}" · "{status_label(&s.status)}</h3>
            <p>
                {format!(
                    "Deadline {} · {} experiences, {} words · submitted {}",
                    s.deadline.map(|d| d.to_string()).unwrap_or_else(|| "none".into()),
                    s.experience_count.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                    s.total_word_count.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                    when_or(&s.submitted_at, "not yet"),
                )}
            </p>
            {s.reviewer.clone().map(|r| view! { <p>"Reviewer: "{r}{s.comments.clone().map(|c| view! { " — "<q>{c}</q> })}</p> })}
            <ol class="timeline" data-test-id="submission-history">{history}</ol>
            {form}
        </section>
    }
}
