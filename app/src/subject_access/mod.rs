//! Subject access: everything the database holds about one person, as one zip a
//! person can open, from their page (within five minutes of the administrator's
//! password) or from the command line (`pathfinder-admin user export`). The
//! download is streamed by the server (`server/src/http/export.rs`).

use crate::policy::{endpoint, Access, Capability, ADMIN};
use leptos::prelude::*;

pub const CAPABILITY: Capability =
    Capability { name: "subject_access", rules: &[endpoint("/export/person/:id", Access::Roles(ADMIN))] };

/// The button on a person's page (a plain form post: the browser saves the zip).
#[component]
pub fn ExportPersonForm(user_id: String) -> impl IntoView {
    view! {
        <form method="post" action=format!("/export/person/{user_id}") class="inline" data-test-id="export-person">
            <button type="submit">"Export everything about this person (zip)"</button>
            " "<small>"Needs your password within the last five minutes (Confirm it is you). Recorded in the audit log with what went."</small>
        </form>
    }
}
