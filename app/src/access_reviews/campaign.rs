//! One campaign: its lines (roles, grants, last sign-in, second factor, findings)
//! with keep and revoke for those still open, and once closed its summary: the
//! counts, the lines left open, the signed report and how to check it.

use super::api::{decide_access_line, get_access_review};
use crate::components::{when, when_or, ErrorNote, NotFound};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use pathfinder::access_reviews::{decision_label, verify_command, CampaignView, Line};

#[component]
pub fn AccessReviewPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    // Bumped after a decision: the page reads the campaign again.
    let (version, set_version) = signal(0u32);
    let view = crate::codec::resource(move || (id(), version.get()), |(id, _)| get_access_review(id));
    view! {
        <p><a href="/access-reviews">"← All campaigns"</a></p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match view.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Ok(Some(v)) => view! { <Campaign v set_version/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Campaign(v: CampaignView, set_version: WriteSignal<u32>) -> impl IntoView {
    let c = v.campaign.clone();
    let open = !c.is_closed() && !c.past_deadline;
    let lines = v.lines.iter().cloned().map(|l| view! { <LineRow l open set_version/> }).collect_view();
    let summary = c.is_closed().then(|| summary(&v));
    view! {
        <h1>{format!("Access review: {}", c.name)}</h1>
        <p data-test-id="access-review-state" data-state=c.state() data-undecided=c.undecided().to_string()>
            {format!(
                "{} · {} · started {} by {} · deadline {} · {} of {} lines decided ({} kept, {} revoked)",
                c.state(),
                c.scope_label(),
                when(&c.started_at),
                c.started_by.clone().unwrap_or_else(|| "unknown".into()),
                when(&c.deadline),
                c.kept + c.revoked,
                c.lines,
                c.kept,
                c.revoked
            )}
        </p>
        {summary}
        <h2>"Lines"</h2>
        <table class="list" data-test-id="access-lines" data-loaded="true">
            <thead><tr>
                <th>"Account"</th><th>"Role"</th><th>"Granted"</th><th>"Last sign-in"</th><th>"Second factor"</th>
                <th>"Findings"</th><th>"Decision"</th>
            </tr></thead>
            <tbody>{lines}</tbody>
        </table>
    }
}

/// A closed campaign's summary and its signed report.
fn summary(v: &CampaignView) -> impl IntoView {
    let c = &v.campaign;
    let left: Vec<String> = v
        .lines
        .iter()
        .filter(|l| l.decision.is_none())
        .map(|l| format!("{} ({})", l.username, l.role.as_str()))
        .collect();
    let left = if left.is_empty() {
        view! { <p>"Every line was decided."</p> }.into_any()
    } else {
        view! {
            <p data-test-id="access-left-open">{format!("Left open at the deadline ({}): {}", left.len(), left.join(", "))}</p>
        }
        .into_any()
    };
    let base = format!("/export/access-review/{}/report.csv", c.review_id);
    let key = match &v.public_key {
        Some(k) => view! {
            <p>"Signed with Ed25519. Public key (SHA-256 "<code data-test-id="access-key-fingerprint">{k.fingerprint.clone()}</code>"):"</p>
            <pre data-test-id="access-public-key">{k.pem.clone()}</pre>
            <p>"Check a report with OpenSSL 3 (or "<code>"pathfinder-admin access-review verify"</code>"):"</p>
            <pre>{verify_command(&c.review_id)}</pre>
        }
        .into_any(),
        None => view! { <p>"Reports are not signed: this instance has no audit key (PF_AUDIT_KEY)."</p> }.into_any(),
    };
    view! {
        <section class="card" data-test-id="access-summary">
            <h2>"Summary"</h2>
            <p>{format!(
                "Closed {} ({}): {} lines, {} kept, {} revoked, {} left open.",
                when_or(&c.closed_at, ""),
                c.close_reason.map(|r| r.as_str()).unwrap_or_default(),
                c.lines,
                c.kept,
                c.revoked,
                c.undecided()
            )}</p>
            {left}
            <p>
                <a href=base.clone() download data-test-id="access-report">"Report (CSV)"</a>" · "
                <a href=format!("{base}.sig") download data-test-id="access-signature">"Signature"</a>" · "
                <a href="/export/access-review-key.pem" download data-test-id="access-key">"Public key"</a>
            </p>
            {key}
        </section>
    }
}

#[component]
fn LineRow(l: Line, open: bool, set_version: WriteSignal<u32>) -> impl IntoView {
    let granted = format!(
        "{} by {}",
        when_or(&l.granted_at, "unknown"),
        l.granted_by.clone().unwrap_or_else(|| "unknown".into())
    );
    let decided = l.decision.map(|_| {
        format!(
            "{}: {} ({}, {})",
            decision_label(&l),
            l.comment.clone().unwrap_or_default(),
            l.decided_by.clone().unwrap_or_default(),
            when_or(&l.decided_at, "")
        )
    });
    let decide = Action::new({
        let id = l.line_id.clone();
        move |(decision, comment): &(&'static str, String)| {
            decide_access_line(id.clone(), decision.to_string(), comment.clone())
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = decide.value().get() {
            set_version.update(|v| *v += 1);
        }
    });
    let (comment, set_comment) = signal(String::new());
    let form = (open && l.decision.is_none()).then(|| {
        view! {
            <input type="text" placeholder="Why (goes into the report)" data-test-id="access-comment"
                prop:value=comment on:input=move |ev| set_comment.set(event_target_value(&ev))/>
            <button type="button" data-test-id="access-keep"
                on:click=move |_| { decide.dispatch(("keep", comment.get_untracked())); }>"Keep"</button>
            <button type="button" data-test-id="access-revoke"
                on:click=move |_| { decide.dispatch(("revoke", comment.get_untracked())); }>"Revoke"</button>
            {move || decide.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
        }
    });
    view! {
        <tr data-test-id="access-line" data-username=l.username.clone() data-role=l.role.as_str()
            data-decision=decision_label(&l)>
            <td><a href=format!("/users/{}", l.user_id)>{l.username.clone()}</a></td>
            <td>{l.role.as_str()}</td>
            <td>{granted}</td>
            <td>{when_or(&l.last_sign_in, "never")}</td>
            <td>{if l.second_factor { "yes" } else { "no" }}</td>
            <td>{l.findings.clone()}</td>
            <td>{decided}{form}</td>
        </tr>
    }
}
