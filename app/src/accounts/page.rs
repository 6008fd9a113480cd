//! Who holds which console role: their second factor, last sign-in and lock.

use super::api::get_console_accounts;
use crate::components::when_or;
use crate::components::ErrorNote;
use leptos::prelude::*;

#[component]
pub fn AccountsPage() -> impl IntoView {
    let accounts = crate::codec::resource(|| (), |_| get_console_accounts());
    view! {
        <h1>"Console accounts"</h1>
        <p>"Roles are granted and taken away on each user's page; nobody changes their own."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) => {
                        let rows = list
                            .into_iter()
                            .map(|a| {
                                let roles = a.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
                                view! {
                                    <tr>
                                        <td><a href=format!("/users/{}", a.user_id.0)>{a.username}</a></td>
                                        <td>{roles}</td>
                                        <td>{a.account_status}</td>
                                        <td>{if a.mfa_enabled { "on" } else { "off" }}</td>
                                        <td>{when_or(&a.last_login, "never")}</td>
                                        <td>{if a.locked { "locked" } else { "" }}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <table class="list" data-test-id="accounts-table">
                                <thead><tr><th>"User"</th><th>"Roles"</th><th>"Status"</th><th>"Two-factor"</th><th>"Last sign-in"</th><th>"Sign-in"</th></tr></thead>
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

/// Ticks for the three console roles, on a user's page. Granting admin needs the
/// admin's own sign-in within the last 5 minutes; nobody changes their own roles.
#[component]
pub fn RolesForm(user_id: String, current: Vec<pathfinder::Role>) -> impl IntoView {
    use pathfinder::Role;
    let tick = |role: Role, label: &'static str| {
        let name = role.as_str();
        view! {
            <label><input type="checkbox" name=name value="on" checked=current.contains(&role) data-test-id=format!("role-{name}")/>" "{label}</label>
        }
    };
    view! {
        <form method="post" action={crate::policy::path_of::<super::api::SetConsoleRoles>()} class="inline" data-test-id="roles-form">
            <input type="hidden" name="user_id" value=user_id/>
            {tick(Role::Admin, "admin")}
            {tick(Role::Sre, "SRE")}
            {tick(Role::Compliance, "compliance")}
            <button type="submit">"Save roles"</button>
        </form>
    }
}
