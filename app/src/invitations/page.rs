//! Invitations: invite by email with a console role (or none), see who was invited
//! and what became of it, send again (a new link), withdraw.

use super::api::{get_invitations, CreateInvitation, ResendInvitation, WithdrawInvitation};
use crate::components::ErrorNote;
use crate::components::{when, when_or};
use leptos::prelude::*;

#[component]
pub fn InvitationsPage() -> impl IntoView {
    let create = ServerAction::<CreateInvitation>::new();
    let resend = ServerAction::<ResendInvitation>::new();
    let list = crate::codec::resource(move || (create.version().get(), resend.version().get()), |_| get_invitations());
    let link = move |v: Option<Result<pathfinder::dto::InvitationLink, pathfinder::AppError>>| {
        v.map(|r| match r {
            Ok(l) => view! {
                <p data-test-id="invitation-link">
                    "Sent. The link (shown this once; it was mailed too): "<code>{l.link}</code>
                </p>
            }
            .into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })
    };
    view! {
        <h1>"Invitations"</h1>
        <ActionForm action=create attr:class="fields" attr:data-test-id="invite-form">
            <label>"Email "<input type="email" name="email" required=true/></label>
            <label>
                "Console role "
                <select name="role">
                    <option value="user">"none (a product user)"</option>
                    <option value="sre">"SRE"</option>
                    <option value="compliance">"compliance"</option>
                    <option value="admin">"admin"</option>
                </select>
            </label>
            <label>"Group "<crate::flags::GroupSelect name="group_id"/></label>
            <button type="submit">"Invite"</button>
        </ActionForm>
        {move || link(create.value().get())}
        {move || link(resend.value().get())}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(items) => {
                        let rows = items
                            .into_iter()
                            .map(|i| {
                                // A void one (its sender may no longer invite) can be sent again by the
                                // caller, who then stands behind it, or withdrawn.
                                let pending = i.state == "pending" || i.state == "void";
                                let (id, id2) = (i.invitation_id.clone(), i.invitation_id.clone());
                                view! {
                                    <tr>
                                        <td>{i.email}</td>
                                        <td>{i.role}</td>
                                        <td>{i.group_name.unwrap_or_default()}</td>
                                        <td>{i.invited_by.unwrap_or_default()}</td>
                                        <td>{when_or(&i.created_at, "unknown")}</td>
                                        <td>{when(&i.expires_at)}</td>
                                        <td data-test-id="invitation-state">{i.state}</td>
                                        <td>{pending.then(|| view! {
                                            <ActionForm action=resend attr:class="inline">
                                                <input type="hidden" name="invitation_id" value=id.clone()/>
                                                <button type="submit">"Send again"</button>
                                            </ActionForm>
                                            <form method="post" action={crate::policy::path_of::<WithdrawInvitation>()} class="inline">
                                                <input type="hidden" name="invitation_id" value=id2.clone()/>
                                                <button type="submit">"Withdraw"</button>
                                            </form>
                                        })}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <table class="list" data-test-id="invitations-table">
                                <thead><tr><th>"Email"</th><th>"Role"</th><th>"Group"</th><th>"By"</th><th>"Sent"</th><th>"Expires"</th><th>"State"</th><th></th></tr></thead>
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
