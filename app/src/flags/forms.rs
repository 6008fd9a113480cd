//! Pieces the flags' pages share: the resolution rule in words, a flag's fields,
//! the overrides table and the form that sets one.

use super::api::{DeleteOverride, SetOverride};
use crate::components::when_or;
use leptos::prelude::*;
use pathfinder::flags::{Flag, FlagType, Override, Target};

/// How a value comes about, said once where flags are edited.
pub const RULE: &str = "A user's value: their own unexpired override; else the overrides of their group and of \
    the default group, the group of higher priority first (a tie goes to their own group); else the flag's \
    default. An override stops applying at the instant it expires.";

/// The fields of a flag's form, filled from `flag` (a new flag when none).
pub fn flag_fields(flag: Option<&Flag>) -> impl IntoView {
    let f = flag.map(Flag::as_edit).unwrap_or_else(|| pathfinder::flags::FlagEdit {
        flag_type: "boolean".into(),
        default_value: "false".into(),
        ..Default::default()
    });
    let existing = flag.is_some();
    let types = FlagType::ALL.map(|t| {
        let selected = t.as_str() == f.flag_type;
        view! { <option value=t.as_str() selected=selected>{t.as_str()}</option> }
    });
    view! {
        <input type="hidden" name="original" value=if existing { f.key.clone() } else { String::new() }/>
        <label>"Key "<input name="key" value=f.key.clone() required=true readonly=existing
            title="Lower-case letters, digits, '.', '_', '-'; fixed once the flag exists"/></label>
        <label>"Name "<input name="name" value=f.name.clone() required=true/></label>
        <label>"Type "<select name="flag_type">{types}</select></label>
        <label>"Default "<input name="default_value" value=f.default_value.clone()/></label>
        <label>"Allowed values (JSON array, empty for any) "<input name="allowed_values" value=f.allowed_values.clone()/></label>
        <label>"Description "<input name="description" value=f.description.clone()/></label>
        <label><input type="checkbox" name="system_wide" checked=f.system_wide/>" system-wide"</label>
        <label><input type="checkbox" name="requires_restart" checked=f.requires_restart/>" requires a restart"</label>
    }
}

/// A table of overrides; with `remove`, each has a button that deletes it. The
/// first column names the holder (on a flag's page) or the flag.
pub fn override_rows(list: &[Override], remove: Option<ServerAction<DeleteOverride>>, by_holder: bool) -> AnyView {
    if list.is_empty() {
        return view! { <p data-test-id="no-overrides">"No overrides."</p> }.into_any();
    }
    let rows = list
        .iter()
        .map(|o| {
            let first = match (&o.target, by_holder) {
                (Target::User(id), true) => {
                    view! { "user "<a href=format!("/users/{id}")>{o.target_name.clone()}</a> }.into_any()
                }
                (Target::Group(id), true) => {
                    view! { "group "<a href=format!("/groups/{id}")>{o.target_name.clone()}</a> }.into_any()
                }
                (_, false) => view! { <a href=format!("/flags/{}", o.flag_key)>{o.flag_key.clone()}</a> }.into_any(),
            };
            let id = o.override_id.clone();
            view! {
                <tr>
                    <td>{first}</td>
                    <td><code>{o.value.clone()}</code></td>
                    <td>{o.reason.clone().unwrap_or_default()}</td>
                    <td>{when_or(&o.expires_at, "never")}</td>
                    <td>{when_or(&o.created_at, "")}</td>
                    <td>{remove.map(|remove| view! {
                        <ActionForm action=remove attr:class="inline">
                            <input type="hidden" name="override_id" value=id.clone()/>
                            <button type="submit">"Remove"</button>
                        </ActionForm>
                    })}</td>
                </tr>
            }
        })
        .collect_view();
    let first = if by_holder { "For" } else { "Flag" };
    view! {
        <table class="list" data-test-id="overrides-table">
            <thead><tr><th>{first}</th><th>"Value"</th><th>"Reason"</th><th>"Expires"</th><th>"Set"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// The form that sets an override of a flag (`key`, or one the admin names)
/// for a user or a group (fixed when given).
pub fn override_form(set: ServerAction<SetOverride>, key: Option<String>, holder: Option<Target>) -> impl IntoView {
    let flag = match key {
        Some(k) => view! { <input type="hidden" name="key" value=k/> }.into_any(),
        None => view! { <label>"Flag "<input name="key" required=true placeholder="flag key"/></label> }.into_any(),
    };
    let holder = match holder {
        Some(Target::User(id)) => view! { <input type="hidden" name="user" value=id/> }.into_any(),
        Some(Target::Group(id)) => view! { <input type="hidden" name="group_id" value=id/> }.into_any(),
        None => view! {
            <label>"User "<input name="user" placeholder="username"/></label>
            <label>"or group "<super::GroupSelect name="group_id"/></label>
        }
        .into_any(),
    };
    view! {
        <ActionForm action=set attr:class="fields" attr:data-test-id="override-form">
            {flag}
            {holder}
            <label>"Value "<input name="value" required=true/></label>
            <label>"Reason "<input name="reason" required=true/></label>
            <label>"Expires (UTC) "<input type="datetime-local" name="expires_at"/></label>
            <button type="submit">"Set override"</button>
        </ActionForm>
    }
}
