//! One user: profile, sessions, provisioned tables with row counts.

use super::{when, when_or};
use crate::api::{get_user_detail, reveal_sensitive};
use crate::components::{ConfirmPanel, ErrorNote};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use pathfinder::dto::{KeyInfo, ProfileEdit, SensitiveFields, SignInState};
use pathfinder::filter::ACCOUNT_STATUSES;
use pathfinder::AppError;

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = crate::codec::resource(move || params.with(|p| p.get("id").unwrap_or_default()), get_user_detail);
    // A plain form post comes back here; a refused one brings its error's code in
    // `__err` (see `access::error_code_only`), which we say in our own words.
    let query = use_query_map();
    let form_error = move || query.with(|q| q.get("__err")).and_then(|code| AppError::from_code(&code));
    // Hidden by default; the toggle works once hydrated.
    let (show_inactive, set_show_inactive) = signal(false);

    view! {
        <p><a href="/users">"← Users"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(d) => {
                        let p = d.profile;
                        let s = p.summary;
                        let has_roles = !p.roles.is_empty();
                        let editable = ProfileEdit {
                            email: s.email.clone(),
                            first_name: s.first_name.clone(),
                            last_name: s.last_name.clone(),
                            timezone: p.timezone.clone(),
                            language: p.language.clone(),
                            current_title: p.current_title.clone(),
                            current_company: p.current_company.clone(),
                        };
                        let roles = if p.roles.is_empty() {
                            "none".to_string()
                        } else {
                            p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                        };
                        let sessions = d.sessions;
                        let inactive = sessions.iter().filter(|s| !s.is_active).count();
                        let active = sessions.len() - inactive;
                        let has_sessions = !sessions.is_empty();
                        let session_rows = move || {
                            sessions
                                .iter()
                                .filter(|x| x.is_active || show_inactive.get())
                                .map(|x| view! {
                                    <tr>
                                        <td>{when(&x.created_at)}</td>
                                        <td>{when(&x.expires_at)}</td>
                                        <td>{x.ip_address.clone().unwrap_or_default()}</td>
                                        <td>{x.user_agent.clone().unwrap_or_default()}</td>
                                        <td>{session_state(x)}</td>
                                        <td>{x.is_active.then(|| view! {
                                            <form method="post" action="/api/revoke_session" class="inline">
                                                <input type="hidden" name="session_id" value=x.session_id.0.clone()/>
                                                <button type="submit" data-test-id="revoke-session">"Revoke"</button>
                                            </form>
                                        })}</td>
                                    </tr>
                                })
                                .collect_view()
                        };
                        let tables = match d.tables {
                            None => view! {
                                <p data-test-id="no-tables">"No per-user tables are provisioned."</p>
                                <form method="post" action="/api/provision_user_tables" class="inline" data-test-id="provision-form">
                                    <input type="hidden" name="user_id" value=s.user_id.0.clone()/>
                                    <button type="submit">"Provision their table set"</button>
                                </form>
                            }.into_any(),
                            Some(set) => {
                                let career = set.career.map(|c| view! {
                                    <dl class="profile" data-test-id="career">
                                        <dt>"Positions"</dt><dd data-test-id="career-positions">{c.total_positions}</dd>
                                        <dt>"Companies"</dt><dd>{c.total_companies}</dd>
                                        <dt>"Career start"</dt><dd>{c.career_start_date.unwrap_or_default()}</dd>
                                        <dt>"Years of experience"</dt><dd>{c.years_experience_tenths.map(|t| format!("{}.{}", t / 10, t % 10)).unwrap_or_default()}</dd>
                                    </dl>
                                });
                                let size = match (set.size_bytes, &set.size_sampled_at) {
                                    (Some(b), Some(at)) => format!("{} at the storage sample of {}", pathfinder::usage::bytes_text(b), super::when(at)),
                                    _ => "not sampled yet (the Storage page samples every few minutes)".into(),
                                };
                                view! {
                                    <p>"Status: "<strong>{set.status}</strong>"; size: "<span data-test-id="set-size">{size}</span></p>
                                    {career}
                                    <table class="list" data-test-id="user-tables">
                                        <thead><tr><th>"Table"</th><th>"Rows"</th></tr></thead>
                                        <tbody>{set.tables.into_iter().map(|t| view! { <tr><td><code>{t.name}</code></td><td>{t.rows}</td></tr> }).collect_view()}</tbody>
                                    </table>
                                    <form method="post" action="/api/drop_user_tables" class="inline" data-test-id="drop-tables-form">
                                        <input type="hidden" name="user_id" value=s.user_id.0.clone()/>
                                        <label>"Type the username to confirm "<input type="text" name="confirm" autocomplete="off"/></label>
                                        <button type="submit" class="danger">"Drop their tables and rows"</button>
                                    </form>
                                }.into_any()
                            }
                        };
                        let refreshed = when_or(&d.stats_refresh.finished_at, "never");
                        let activity = match d.activity {
                            None => view! { <p data-test-id="no-activity">"Not in the statistics yet (last refreshed: "{refreshed}")."</p> }.into_any(),
                            Some(a) => view! {
                                <dl class="profile" data-test-id="activity">
                                    <dt>"Sessions"</dt><dd data-test-id="activity-sessions">{a.total_sessions}</dd>
                                    <dt>"Events"</dt><dd data-test-id="activity-events">{a.total_events}</dd>
                                    <dt>"First activity"</dt><dd>{when_or(&a.first_activity, "none")}</dd>
                                    <dt>"Last activity"</dt><dd>{when_or(&a.last_activity, "none")}</dd>
                                    <dt>"As of"</dt><dd data-test-id="stats-refreshed">{refreshed}</dd>
                                </dl>
                            }.into_any(),
                        };
                        view! {
                            <h1 data-test-id="user-name">{s.username}</h1>
                            <section class="card">
                                <dl class="profile">
                                    <dt>"Email"</dt><dd>{s.email}</dd>
                                    <dt>"Name"</dt><dd>{[s.first_name.unwrap_or_default(), s.last_name.unwrap_or_default()].join(" ")}</dd>
                                    <dt>"Status"</dt>
                                    <dd>
                                        <span data-test-id="user-status">{s.account_status.clone()}</span>
                                        <StatusForm user_id=s.user_id.0.clone() current=s.account_status.clone()/>
                                        {form_error().map(|e| view! { <ErrorNote error=e/> })}
                                    </dd>
                                    <dt>"Group"</dt>
                                    <dd>
                                        <span data-test-id="user-group">{p.group.as_ref().map_or("none".to_string(), |g| g.group_name.clone())}</span>
                                        <GroupForm user_id=s.user_id.0.clone() current=p.group.map(|g| g.group_id)/>
                                    </dd>
                                    <dt>"Console roles"</dt>
                                    <dd>
                                        <span data-test-id="user-roles">{roles}</span>
                                        <RolesForm user_id=s.user_id.0.clone() current=p.roles.clone()/>
                                    </dd>
                                    <dt>"Created"</dt><dd>{when_or(&s.created_at, "unknown")}</dd>
                                    <dt>"Last sign-in"</dt><dd>{s.last_login.as_ref().map(when).unwrap_or_else(|| "never".into())}</dd>
                                    <dt>"Sign-ins"</dt><dd>{p.total_logins}</dd>
                                    <dt>"Title"</dt><dd>{p.current_title.unwrap_or_default()}</dd>
                                    <dt>"Company"</dt><dd>{p.current_company.unwrap_or_default()}</dd>
                                    <dt>"Time zone"</dt><dd>{p.timezone.unwrap_or_default()}</dd>
                                    <dt>"Email verified"</dt><dd>{if p.email_verified { "yes" } else { "no" }}</dd>
                                    <dt>"Two-factor sign-in"</dt>
                                    <dd>
                                        <span data-test-id="user-mfa">{if p.mfa_enabled { "on" } else { "off" }}</span>
                                        {p.mfa_enabled.then(|| view! {
                                            <form method="post" action="/api/reset_mfa" class="inline" data-test-id="reset-mfa-form">
                                                <input type="hidden" name="user_id" value=s.user_id.0.clone()/>
                                                <button type="submit" title="Needs your own sign-in within the last 5 minutes; never for your own account.">"Reset"</button>
                                            </form>
                                        }.into_any())}
                                    </dd>
                                </dl>
                            </section>
                            {has_roles.then(|| view! {
                                <h2>"Console sign-in"</h2>
                                <SignInPanel user_id=s.user_id.0.clone() state=d.sign_in/>
                            }.into_any())}
                            <details class="card" data-test-id="edit-profile">
                                <summary>"Edit profile and preferences"</summary>
                                <ProfileForm user_id=s.user_id.0.clone() profile=editable/>
                                <PreferencesForm user_id=s.user_id.0.clone() prefs=d.preferences.clone()/>
                            </details>
                            <ConfirmPanel/>
                            <h2>"SSO links"</h2>
                            <SsoLinks user_id=s.user_id.0.clone() links=d.sso_links.clone()/>
                            <h2>"Sensitive fields"</h2>
                            <SensitivePanel user_id=s.user_id.0.clone() present=p.sensitive_present.clone()/>
                            <h2>"Data key"</h2>
                            <KeyPanel user_id=s.user_id.0.clone() key=d.key.clone()/>
                            <h2>"Activity"</h2>
                            {activity}
                            <h2>"Sessions"</h2>
                            {(active > 0).then(|| view! {
                                <form method="post" action="/api/revoke_sessions" class="inline" data-test-id="revoke-all-form">
                                    <input type="hidden" name="user_id" value=s.user_id.0.clone()/>
                                    <input type="hidden" name="started_before" value=""/>
                                    <input type="hidden" name="ip_address" value=""/>
                                    <button type="submit">{format!("Revoke all {active} active sessions")}</button>
                                </form>
                            }.into_any())}
                            {(inactive > 0).then(|| view! {
                                <button type="button" data-test-id="toggle-inactive" on:click=move |_| set_show_inactive.update(|v| *v = !*v)>
                                    {move || if show_inactive.get() { format!("Hide {inactive} revoked") } else { format!("Show {inactive} revoked") }}
                                </button>
                            })}
                            {if has_sessions {
                                view! {
                                    <table class="list" data-test-id="sessions">
                                        <thead><tr><th>"Started"</th><th>"Expires"</th><th>"IP"</th><th>"Browser"</th><th>"State"</th><th></th></tr></thead>
                                        <tbody>{session_rows}</tbody>
                                    </table>
                                }.into_any()
                            } else {
                                view! { <p data-test-id="no-sessions">"No sessions."</p> }.into_any()
                            }}
                            <h2>"Per-user tables"</h2>
                            {tables}
                            <h2>"Feature flags"</h2>
                            <super::flags::UserFlags user_id=s.user_id.0.clone()/>
                            <h2>"Audit timeline"</h2>
                            <super::audit::Timeline user_id=s.user_id.0.clone()/>
                            <h2>"Delete"</h2>
                            <DeleteForm user_id=s.user_id.0.clone()/>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The status picker: a plain form post to the server function, which redirects
/// back here (no JavaScript needed, and none shipped for it).
#[component]
fn StatusForm(user_id: String, current: String) -> impl IntoView {
    view! {
        <form method="post" action="/api/set_user_status" class="inline" data-test-id="status-form">
            <input type="hidden" name="user_id" value=user_id/>
            <select name="status" aria-label="New status">
                {ACCOUNT_STATUSES.iter().map(|v| view! { <option value=*v selected=*v == current>{*v}</option> }).collect_view()}
            </select>
            <button type="submit">"Change status"</button>
        </form>
    }
    .into_any()
}

/// The group picker: a plain form post, like the status.
#[component]
fn GroupForm(user_id: String, current: Option<String>) -> impl IntoView {
    view! {
        <form method="post" action="/api/set_user_group" class="inline" data-test-id="group-form">
            <input type="hidden" name="user_id" value=user_id/>
            <crate::components::GroupSelect name="group_id" current=current.unwrap_or_default()/>
            <button type="submit">"Change group"</button>
        </form>
    }
    .into_any()
}

/// Which sensitive fields hold a value; the values only after "Reveal" (each reveal
/// is an audited read), with a form to change them.
#[component]
fn SensitivePanel(user_id: String, present: Vec<String>) -> impl IntoView {
    let reveal = Action::new({
        let id = user_id.clone();
        move |_: &()| reveal_sensitive(id.clone())
    });
    let summary = if present.is_empty() { "none stored".to_string() } else { present.join(", ") };
    view! {
        <p>
            "Encrypted with the user's own key: "<span data-test-id="sensitive-present">{summary}</span>" "
            <button type="button" data-test-id="reveal" on:click=move |_| { reveal.dispatch(()); }>
                "Reveal (recorded in the audit log)"
            </button>
        </p>
        {move || reveal.value().get().map(|r| match r {
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            Ok(f) => view! { <SensitiveForm user_id=user_id.clone() fields=f/> }.into_any(),
        })}
    }
}

#[component]
fn SensitiveForm(user_id: String, fields: SensitiveFields) -> impl IntoView {
    let input = |name: &'static str, label: &'static str, value: Option<String>, kind: &'static str| {
        view! {
            <label>{label}" "<input type=kind name=name value=value.unwrap_or_default() data-test-id=name/></label>
        }
    };
    view! {
        <form method="post" action="/api/set_sensitive" class="fields" data-test-id="sensitive-form">
            <input type="hidden" name="user_id" value=user_id/>
            {input("phone_number", "Phone", fields.phone_number, "tel")}
            {input("date_of_birth", "Date of birth", fields.date_of_birth, "date")}
            {input("gender", "Gender", fields.gender, "text")}
            {input("nationality", "Nationality", fields.nationality, "text")}
            <button type="submit">"Save (encrypted)"</button>
        </form>
    }
}

#[component]
fn KeyPanel(user_id: String, key: Option<KeyInfo>) -> impl IntoView {
    match key {
        None => view! { <p data-test-id="no-key">"No data key yet: one is made with the first encrypted field."</p> }
            .into_any(),
        Some(k) => view! {
            <dl class="profile" data-test-id="key">
                <dt>"Algorithm"</dt><dd>{k.algorithm}</dd>
                <dt>"Version"</dt><dd data-test-id="key-version">{k.rotation_count}</dd>
                <dt>"Created"</dt><dd>{when_or(&k.created_at, "unknown")}</dd>
                <dt>"Last rotated"</dt><dd>{when_or(&k.last_rotated, "never")}{k.overdue.then_some(" (overdue)")}</dd>
                <dt>"Master key"</dt><dd><code>{k.master_key_id.unwrap_or_default()}</code></dd>
            </dl>
            <form method="post" action="/api/rotate_user_key" class="inline" data-test-id="rotate-form">
                <input type="hidden" name="user_id" value=user_id/>
                <button type="submit">"Rotate key"</button>
            </form>
        }
        .into_any(),
    }
}

/// The editable profile fields, as a plain form (works before hydration).
#[component]
fn ProfileForm(user_id: String, profile: ProfileEdit) -> AnyView {
    let values = profile.values().map(|v| v.unwrap_or_default().to_string());
    let names = ["email", "first_name", "last_name", "timezone", "language", "current_title", "current_company"];
    let fields = names
        .iter()
        .zip(ProfileEdit::LABELS)
        .zip(values)
        .map(|((name, label), value)| {
            view! { <label>{label}" "<input name=format!("edit[{name}]") value=value data-test-id=format!("edit-{name}")/></label> }
        })
        .collect_view();
    view! {
        <form method="post" action="/api/update_profile" class="fields" data-test-id="profile-form">
            <input type="hidden" name="user_id" value=user_id/>
            {fields}
            <button type="submit">"Save profile"</button>
        </form>
    }
    .into_any()
}

/// The five preference documents (JSON objects), each in its own box.
#[component]
fn PreferencesForm(user_id: String, prefs: pathfinder::dto::Preferences) -> AnyView {
    let names = ["notification", "privacy", "ui", "communication", "feature"];
    let boxes = names
        .iter()
        .zip(prefs.values())
        .map(|(name, value)| {
            view! {
                <label>{*name}" (JSON object)"
                    <textarea name=format!("prefs[{name}]") rows="3" data-test-id=format!("prefs-{name}")>{value.unwrap_or_default().to_string()}</textarea>
                </label>
            }
        })
        .collect_view();
    view! {
        <form method="post" action="/api/set_preferences" class="fields" data-test-id="preferences-form">
            <input type="hidden" name="user_id" value=user_id/>
            {boxes}
            <button type="submit">"Save preferences"</button>
        </form>
    }
    .into_any()
}

/// The user's SSO links (tokens never shown), with unlink and make-primary.
#[component]
fn SsoLinks(user_id: String, links: Vec<pathfinder::dto::SsoLink>) -> AnyView {
    if links.is_empty() {
        return view! { <p data-test-id="no-sso">"No SSO links."</p> }.into_any();
    }
    let rows = links
        .into_iter()
        .map(|l| {
            let action = |path: &'static str, label: &'static str| {
                view! {
                    <form method="post" action=path class="inline">
                        <input type="hidden" name="user_id" value=user_id.clone()/>
                        <input type="hidden" name="sso_account_id" value=l.sso_account_id.clone()/>
                        <button type="submit">{label}</button>
                    </form>
                }
            };
            view! {
                <tr>
                    <td>{l.provider.clone()}</td>
                    <td><code>{l.provider_user_id.clone()}</code></td>
                    <td>{l.email.clone().unwrap_or_default()}</td>
                    <td>{when_or(&l.linked_at, "unknown")}</td>
                    <td>{when_or(&l.last_sync_at, "never")}</td>
                    <td>{if l.is_primary { "primary" } else { "" }}</td>
                    <td>{(!l.is_primary).then(|| action("/api/set_primary_sso", "Make primary"))}{action("/api/unlink_sso", "Unlink")}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-test-id="sso-links">
            <thead><tr><th>"Provider"</th><th>"Provider's id"</th><th>"Email"</th><th>"Linked"</th><th>"Last sync"</th><th></th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// A session's state: active, or how and by whom it ended.
fn session_state(s: &pathfinder::dto::SessionInfo) -> String {
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

/// Ticks for the three console roles. Granting admin needs the admin's own sign-in
/// within the last 5 minutes; nobody changes their own roles.
#[component]
fn RolesForm(user_id: String, current: Vec<pathfinder::Role>) -> AnyView {
    use pathfinder::Role;
    let tick = |role: Role, label: &'static str| {
        let name = role.as_str();
        view! {
            <label><input type="checkbox" name=name value="on" checked=current.contains(&role) data-test-id=format!("role-{name}")/>" "{label}</label>
        }
    };
    view! {
        <form method="post" action="/api/set_console_roles" class="inline" data-test-id="roles-form">
            <input type="hidden" name="user_id" value=user_id/>
            {tick(Role::Admin, "admin")}
            {tick(Role::Sre, "SRE")}
            {tick(Role::Compliance, "compliance")}
            <button type="submit">"Save roles"</button>
        </form>
    }
    .into_any()
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
            <form method="post" action="/api/unlock_sign_in" class="inline" data-test-id="unlock-form">
                <input type="hidden" name="user_id" value=user_id/>
                <button type="submit">"Unlock and clear failures"</button>
            </form>
        })}
    }
}

/// Deleting needs the username typed again; the data key is destroyed with the user.
#[component]
fn DeleteForm(user_id: String) -> impl IntoView {
    view! {
        <form method="post" action="/api/delete_user" class="inline" data-test-id="delete-form">
            <input type="hidden" name="user_id" value=user_id/>
            <label>"Type the username to confirm "<input type="text" name="confirm" autocomplete="off"/></label>
            <button type="submit" class="danger">"Delete user, their rows and tables, and destroy their key"</button>
        </form>
    }
}
