//! A user's sessions and their console sign-in lock, as a section of their page.

use super::api::{get_user_sessions, RevokeSession, RevokeSessions, UnlockSignIn};
use crate::components::{when, when_or, ErrorNote};
use crate::policy::path_of;
use leptos::prelude::*;
use pathfinder::dto::{SessionInfo, SignInState};

#[component]
pub fn UserSessionsSection(user_id: String, console_account: bool) -> impl IntoView {
    let id = user_id.clone();
    let data = crate::codec::resource(move || id.clone(), get_user_sessions);
    // Hidden by default; the toggle works once hydrated.
    let (show_inactive, set_show_inactive) = signal(false);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let user_id = user_id.clone();
                Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(d) => {
                            let sessions = d.sessions;
                            let inactive = sessions.iter().filter(|s| !s.is_active).count();
                            let active = sessions.len() - inactive;
                            let has_sessions = !sessions.is_empty();
                            let rows = move || {
                                sessions
                                    .iter()
                                    .filter(|x| x.is_active || show_inactive.get())
                                    .map(session_row)
                                    .collect_view()
                            };
                            view! {
                                {console_account.then(|| view! {
                                    <h3>"Console sign-in"</h3>
                                    <SignInPanel user_id=user_id.clone() state=d.sign_in/>
                                })}
                                {(active > 0).then(|| view! {
                                    <form method="post" action={path_of::<RevokeSessions>()} class="inline" data-test-id="revoke-all-form">
                                        <input type="hidden" name="user_id" value=user_id.clone()/>
                                        <input type="hidden" name="started_before" value=""/>
                                        <input type="hidden" name="ip_address" value=""/>
                                        <button type="submit">{format!("Revoke all {active} active sessions")}</button>
                                    </form>
                                })}
                                {(inactive > 0).then(|| view! {
                                    <button type="button" data-test-id="toggle-inactive" on:click=move |_| set_show_inactive.update(|v| *v = !*v)>
                                        {move || if show_inactive.get() { format!("Hide {inactive} revoked") } else { format!("Show {inactive} revoked") }}
                                    </button>
                                })}
                                {if has_sessions {
                                    view! {
                                        <table class="list" data-test-id="sessions">
                                            <thead><tr><th>"Started"</th><th>"Expires"</th><th>"IP"</th><th>"Browser"</th><th>"State"</th><th></th></tr></thead>
                                            <tbody>{rows}</tbody>
                                        </table>
                                    }.into_any()
                                } else {
                                    view! { <p data-test-id="no-sessions">"No sessions."</p> }.into_any()
                                }}
                            }
                            .into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

fn session_row(x: &SessionInfo) -> impl IntoView {
    view! {
        <tr>
            <td>{when(&x.created_at)}</td>
            <td>{when(&x.expires_at)}</td>
            <td>{x.ip_address.clone().unwrap_or_default()}</td>
            <td>{x.user_agent.clone().unwrap_or_default()}</td>
            <td>{session_state(x)}</td>
            <td>{x.is_active.then(|| view! {
                <form method="post" action={path_of::<RevokeSession>()} class="inline">
                    <input type="hidden" name="session_id" value=x.session_id.0.clone()/>
                    <button type="submit" data-test-id="revoke-session">"Revoke"</button>
                </form>
            })}</td>
        </tr>
    }
}

/// A session's state: active, or how and by whom it ended.
fn session_state(s: &SessionInfo) -> String {
    if s.is_active {
        return "active".into();
    }
    let reason = s.end_reason.clone().unwrap_or_else(|| "ended".into());
    match (&s.ended_by, &s.ended_at) {
        (Some(by), Some(at)) => format!("{reason} by {by}, {}", when(at)),
        (None, Some(at)) => format!("{reason}, {}", when(at)),
        _ => reason,
    }
}

/// The account's guard against password guessing, with the admin's unlock.
#[component]
fn SignInPanel(user_id: String, state: SignInState) -> impl IntoView {
    let g = state.guard;
    let lock =
        if state.locked { format!("locked until {}", when_or(&g.locked_until, "?")) } else { "not locked".into() };
    view! {
        <dl class="profile" data-test-id="sign-in">
            <dt>"Lock"</dt><dd data-test-id="sign-in-lock">{lock}</dd>
            <dt>"Recent failures"</dt><dd data-test-id="sign-in-failures">{g.failed_attempts}</dd>
            <dt>"Locks in a row"</dt><dd>{g.lockouts}</dd>
            <dt>"Trusted browsers"</dt><dd title="Browsers that signed in before may sign in while the account is locked for others.">{state.trusted_devices}</dd>
        </dl>
        {(state.locked || g.failed_attempts > 0 || g.lockouts > 0).then(|| view! {
            <form method="post" action={path_of::<UnlockSignIn>()} class="inline" data-test-id="unlock-form">
                <input type="hidden" name="user_id" value=user_id/>
                <button type="submit">"Unlock and clear failures"</button>
            </form>
        })}
    }
}
