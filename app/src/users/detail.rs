//! One user's page: who they are (profile, status, group, roles, second factor,
//! preferences, SSO links, activity), then the sections other capabilities own
//! (sessions, keys, tables, flags, audit), each loading its own, with a list of the
//! sections to jump to.

use super::api::{get_user_detail, DeleteUser, SetPreferences, SetPrimarySso, SetUserStatus, UnlinkSso, UpdateProfile};
use crate::components::{when, when_or, ConfirmPanel, ErrorNote};
use crate::flags::api::SetUserGroup;
use crate::flags::GroupSelect;
use crate::policy::path_of;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use pathfinder::dto::ProfileEdit;
use pathfinder::filter::ACCOUNT_STATUSES;
use pathfinder::AppError;

/// The page's sections, in order: (anchor, title).
const SECTIONS: &[(&str, &str)] = &[
    ("profile", "Profile"),
    ("activity", "Activity"),
    ("sessions", "Sessions"),
    ("keys", "Sensitive fields and key"),
    ("tables", "Per-user tables"),
    ("flags", "Feature flags"),
    ("timeline", "Audit timeline"),
    ("export", "Export"),
    ("delete", "Delete"),
];

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = crate::codec::resource(move || params.with(|p| p.get("id").unwrap_or_default()), get_user_detail);
    // A plain form post comes back here; a refused one brings its error's code in
    // `__err` (see `access::error_code_only`), which we say in our own words.
    let query = use_query_map();
    let form_error = move || query.with(|q| q.get("__err")).and_then(|code| AppError::from_code(&code));
    view! {
        <p><a href="/users">"← Users"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(d) => {
                        let p = d.profile;
                        let s = p.summary;
                        let id = s.user_id.0.clone();
                        let console_account = !p.roles.is_empty();
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
                        let events = view! { <UserEventsView events=d.events.clone()/> };
                        let jump = SECTIONS
                            .iter()
                            .map(|(anchor, title)| view! { <a href=format!("#{anchor}")>{*title}</a> })
                            .collect_view();
                        let sections = view! {
                            <section id="activity"><h2>"Activity"</h2>{activity}{events}</section>
                            <section id="sessions">
                                <h2>"Sessions"</h2>
                                <crate::sessions::UserSessionsSection user_id=id.clone() console_account=console_account/>
                            </section>
                            <section id="keys">
                                <h2>"Sensitive fields and key"</h2>
                                <crate::keys::UserKeySection user_id=id.clone() present=p.sensitive_present.clone()/>
                            </section>
                            <section id="tables">
                                <h2>"Per-user tables"</h2>
                                <crate::user_tables::UserTablesSection user_id=id.clone()/>
                            </section>
                            <section id="flags"><h2>"Feature flags"</h2><crate::flags::UserFlags user_id=id.clone()/></section>
                            <section id="timeline"><h2>"Audit timeline"</h2><crate::audit::Timeline user_id=id.clone()/></section>
                            <section id="export"><h2>"Export"</h2><crate::subject_access::ExportPersonForm user_id=id.clone()/></section>
                            <section id="delete"><h2>"Delete"</h2><DeleteForm user_id=id.clone()/></section>
                        }
                        .into_any();
                        let profile = view! {
                            <dl class="profile">
                                <dt>"Email"</dt><dd>{s.email}</dd>
                                <dt>"Name"</dt><dd>{[s.first_name.unwrap_or_default(), s.last_name.unwrap_or_default()].join(" ")}</dd>
                                <dt>"Status"</dt>
                                <dd>
                                    <span data-test-id="user-status">{s.account_status.clone()}</span>
                                    <StatusForm user_id=id.clone() current=s.account_status.clone()/>
                                    {form_error().map(|e| view! { <ErrorNote error=e/> })}
                                </dd>
                                <dt>"Group"</dt>
                                <dd>
                                    <span data-test-id="user-group">{p.group.as_ref().map_or("none".to_string(), |g| g.group_name.clone())}</span>
                                    <GroupForm user_id=id.clone() current=p.group.clone().map(|g| g.group_id)/>
                                </dd>
                                <dt>"Console roles"</dt>
                                <dd>
                                    <span data-test-id="user-roles">{roles}</span>
                                    <crate::accounts::RolesForm user_id=id.clone() current=p.roles.clone()/>
                                </dd>
                                <dt>"Created"</dt><dd>{when_or(&s.created_at, "unknown")}</dd>
                                <dt>"Last sign-in"</dt><dd>{s.last_login.as_ref().map(when).unwrap_or_else(|| "never".into())}</dd>
                                <dt>"Sign-ins"</dt><dd>{p.total_logins}</dd>
                                <dt>"Title"</dt><dd>{p.current_title.clone().unwrap_or_default()}</dd>
                                <dt>"Company"</dt><dd>{p.current_company.clone().unwrap_or_default()}</dd>
                                <dt>"Time zone"</dt><dd>{p.timezone.clone().unwrap_or_default()}</dd>
                                <dt>"Email verified"</dt><dd>{if p.email_verified { "yes" } else { "no" }}</dd>
                                <dt>"Two-factor sign-in"</dt>
                                <dd>
                                    <span data-test-id="user-mfa">{if p.mfa_enabled { "on" } else { "off" }}</span>
                                    {p.mfa_enabled.then(|| view! {
                                        <form method="post" action={path_of::<crate::mfa::api::ResetMfa>()} class="inline" data-test-id="reset-mfa-form">
                                            <input type="hidden" name="user_id" value=id.clone()/>
                                            <button type="submit" title="Needs your own sign-in within the last 5 minutes; never for your own account.">"Reset"</button>
                                        </form>
                                    })}
                                </dd>
                            </dl>
                        }
                        .into_any();
                        view! {
                            <h1 data-test-id="user-name">{s.username.clone()}</h1>
                            <nav class="sections" data-test-id="user-sections">{jump}</nav>
                            <section id="profile" class="card">
                                {profile}
                                <details data-test-id="edit-profile">
                                    <summary>"Edit profile and preferences"</summary>
                                    <ProfileForm user_id=id.clone() profile=editable/>
                                    <PreferencesForm user_id=id.clone() prefs=d.preferences.clone()/>
                                </details>
                                <ConfirmPanel/>
                                <h3>"SSO links"</h3>
                                <SsoLinks user_id=id.clone() links=d.sso_links.clone()/>
                            </section>
                            {sections}
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
        <form method="post" action={path_of::<SetUserStatus>()} class="inline" data-test-id="status-form">
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
        <form method="post" action={path_of::<SetUserGroup>()} class="inline" data-test-id="group-form">
            <input type="hidden" name="user_id" value=user_id/>
            <GroupSelect name="group_id" current=current.unwrap_or_default()/>
            <button type="submit">"Change group"</button>
        </form>
    }
    .into_any()
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
        <form method="post" action={path_of::<UpdateProfile>()} class="fields" data-test-id="profile-form">
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
        <form method="post" action={path_of::<SetPreferences>()} class="fields" data-test-id="preferences-form">
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
                    <td>{(!l.is_primary).then(|| action(path_of::<SetPrimarySso>(), "Make primary"))}{action(path_of::<UnlinkSso>(), "Unlink")}</td>
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

/// Deleting needs the username typed again; the data key is destroyed with the user.
#[component]
fn DeleteForm(user_id: String) -> impl IntoView {
    view! {
        <form method="post" action={path_of::<DeleteUser>()} class="inline" data-test-id="delete-form">
            <input type="hidden" name="user_id" value=user_id/>
            <label>"Type the username to confirm "<input type="text" name="confirm" autocomplete="off"/></label>
            <button type="submit" class="danger">"Delete user, their rows and tables, and destroy their key"</button>
        </form>
    }
}

/// A person's own events: a row a day over the last 30 days (with a bar against the
/// busiest), and the last pages they saw.
#[component]
fn UserEventsView(events: pathfinder::dto::UserEvents) -> impl IntoView {
    let most = events.per_day.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let days = if events.per_day.is_empty() {
        view! { <p data-test-id="no-events">"No events in the last 30 days."</p> }.into_any()
    } else {
        let rows = events
            .per_day
            .into_iter()
            .map(|(day, n)| {
                view! {
                    <tr><td>{day.to_string()}</td><td class="number">{n}</td>
                    <td><meter min="0" max=most value=n></meter></td></tr>
                }
            })
            .collect_view();
        view! {
            <table class="list" data-test-id="user-events-per-day">
                <thead><tr><th>"Day (UTC)"</th><th>"Events"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let last = events
        .last
        .into_iter()
        .map(|e| {
            view! {
                <tr><td>{when(&e.at)}</td><td>{e.event_type}</td><td>{e.page.unwrap_or_default()}</td></tr>
            }
        })
        .collect_view();
    view! {
        <h3>"Events per day, the last 30 days"</h3>
        {days}
        <h3>"Last pages seen"</h3>
        <table class="list" data-test-id="user-last-events">
            <thead><tr><th>"When"</th><th>"Event"</th><th>"Page"</th></tr></thead>
            <tbody>{last}</tbody>
        </table>
    }
}
