//! A user's data key and sensitive fields, as a section of their page.

use super::api::{get_user_key, reveal_sensitive, RotateUserKey, SetSensitive};
use crate::components::{when_or, ErrorNote};
use crate::policy::path_of;
use leptos::prelude::*;
use pathfinder::dto::SensitiveFields;

/// Which sensitive fields hold a value (`present`); the values only after
/// "Reveal" (each reveal is an audited read), with a form to change them; and the
/// user's data key with its rotation.
#[component]
pub fn UserKeySection(user_id: String, present: Vec<String>) -> impl IntoView {
    let reveal = Action::new({
        let id = user_id.clone();
        move |_: &()| reveal_sensitive(id.clone())
    });
    let id = user_id.clone();
    let key = crate::codec::resource(move || id.clone(), get_user_key);
    let summary = if present.is_empty() { "none stored".to_string() } else { present.join(", ") };
    let form_id = user_id.clone();
    view! {
        <p>
            "Encrypted with the user's own key: "<span data-test-id="sensitive-present">{summary}</span>" "
            <button type="button" data-test-id="reveal" on:click=move |_| { reveal.dispatch(()); }>
                "Reveal (recorded in the audit log)"
            </button>
        </p>
        {move || reveal.value().get().map(|r| match r {
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            Ok(f) => view! { <SensitiveForm user_id=form_id.clone() fields=f/> }.into_any(),
        })}
        <h3>"Data key"</h3>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let user_id = user_id.clone();
                Suspend::new(async move {
                    match key.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(None) => view! { <p data-test-id="no-key">"No data key yet: one is made with the first encrypted field."</p> }.into_any(),
                        Ok(Some(k)) => view! {
                            <dl class="profile" data-test-id="key">
                                <dt>"Algorithm"</dt><dd>{k.algorithm}</dd>
                                <dt>"Version"</dt><dd data-test-id="key-version">{k.rotation_count}</dd>
                                <dt>"Created"</dt><dd>{when_or(&k.created_at, "unknown")}</dd>
                                <dt>"Last rotated"</dt><dd>{when_or(&k.last_rotated, "never")}{k.overdue.then_some(" (overdue)")}</dd>
                                <dt>"Master key"</dt><dd><code>{k.master_key_id.unwrap_or_default()}</code></dd>
                            </dl>
                            <form method="post" action={path_of::<RotateUserKey>()} class="inline" data-test-id="rotate-form">
                                <input type="hidden" name="user_id" value=user_id/>
                                <button type="submit">"Rotate key"</button>
                            </form>
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
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
        <form method="post" action={path_of::<SetSensitive>()} class="fields" data-test-id="sensitive-form">
            <input type="hidden" name="user_id" value=user_id/>
            {input("phone_number", "Phone", fields.phone_number, "tel")}
            {input("date_of_birth", "Date of birth", fields.date_of_birth, "date")}
            {input("gender", "Gender", fields.gender, "text")}
            {input("nationality", "Nationality", fields.nationality, "text")}
            <button type="submit">"Save (encrypted)"</button>
        </form>
    }
}
