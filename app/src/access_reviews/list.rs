//! The campaigns: each with its scope, deadline, progress and state; and the form
//! that starts one (compliance reviewers).

use super::api::{get_access_reviews, StartAccessReview};
use crate::components::{when, ErrorNote};
use leptos::prelude::*;
use pathfinder::access_reviews::Campaign;

fn campaign_row(c: Campaign) -> impl IntoView {
    let decided = c.kept + c.revoked;
    view! {
        <tr data-test-id="access-review" data-review=c.review_id.clone() data-closed=c.is_closed().to_string()>
            <td><a href=format!("/access-reviews/{}", c.review_id)>{c.name.clone()}</a></td>
            <td>{c.scope_label()}</td>
            <td>{when(&c.started_at)}" by "{c.started_by.clone().unwrap_or_else(|| "unknown".into())}</td>
            <td>{when(&c.deadline)}</td>
            <td>{format!("{decided} of {} decided ({} kept, {} revoked)", c.lines, c.kept, c.revoked)}</td>
            <td>{c.state()}</td>
        </tr>
    }
}

#[component]
pub fn AccessReviewsPage() -> impl IntoView {
    let start = ServerAction::<StartAccessReview>::new();
    let list = crate::codec::resource(move || start.version().get(), |_| get_access_reviews());
    let started = move || {
        start.value().get().map(|r| match r {
            Ok(c) => view! {
                <p data-test-id="access-review-started">
                    "Started "<a href=format!("/access-reviews/{}", c.review_id)>{c.name.clone()}</a>
                    {format!(": {} lines; the reviewers were told by mail.", c.lines)}
                </p>
            }
            .into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })
    };
    view! {
        <h1>"Access reviews"</h1>
        <p class="hint">
            "A campaign certifies who holds which console role. Each line (one role of one account, as it stood at the \
             start) is kept or revoked with a comment by a reviewer other than that account; revoking removes the role \
             and ends the account's sessions. The campaign closes when every line is decided, or at its deadline with \
             the lines left open reported. Its report is signed so that an auditor can check it."
        </p>
        <ActionForm action=start attr:class="fields" attr:data-test-id="access-review-start">
            <label>"Name "<input type="text" name="name" required placeholder="2026 Q4 console access"/></label>
            <label>"Scope "
                <select name="scope">
                    <option value="all">"Every console account"</option>
                    <option value="admin">"Administrators"</option>
                    <option value="sre">"SREs"</option>
                    <option value="compliance">"Compliance reviewers"</option>
                </select>
            </label>
            <label>"Days to decide "<input type="number" name="days" value="14" min="1" max="90"/></label>
            <button type="submit">"Start a campaign"</button>
            <span class="hint">"Compliance reviewers start campaigns."</span>
        </ActionForm>
        {started}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(campaigns) => {
                        let rows = campaigns.into_iter().map(campaign_row).collect_view();
                        view! {
                            <table class="list" data-test-id="access-reviews" data-loaded="true">
                                <thead><tr><th>"Campaign"</th><th>"Scope"</th><th>"Started"</th><th>"Deadline"</th><th>"Progress"</th><th>"State"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}
