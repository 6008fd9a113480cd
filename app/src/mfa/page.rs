//! The signed-in user's own account: their second factor. Holders of a role that
//! requires one and who have none yet are sent here and see nothing else until
//! they set it up.

use super::api::{get_mfa_state, start_mfa_setup, ConfirmMfaSetup};
use crate::components::ErrorNote;
use leptos::prelude::*;
use pathfinder::dto::MfaSetup;

#[component]
pub fn AccountPage() -> impl IntoView {
    let state = crate::codec::resource(|| (), |_| get_mfa_state());
    view! {
        <h1>"Your account"</h1>
        <h2>"Two-factor sign-in"</h2>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match state.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(m) if m.enabled => view! {
                        <p data-test-id="mfa-on">
                            "On: you sign in with your password and a code from your authenticator app. "
                            {m.recovery_codes_left}" recovery codes left."
                        </p>
                    }
                    .into_any(),
                    Ok(_) => view! { <MfaSetupPanel/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Setting TOTP up: a secret shown once (QR code and text), then the first code
/// proves the app has it, and the recovery codes are shown once.
#[component]
fn MfaSetupPanel() -> impl IntoView {
    let start = Action::new(|_: &()| start_mfa_setup());
    let confirm = ServerAction::<ConfirmMfaSetup>::new();
    view! {
        <p data-test-id="mfa-off">
            "Off. Console roles may require it (PF_MFA_REQUIRED_ROLES; administrators by default): "
            "until it is set up, this page is all such an account sees."
        </p>
        {move || match confirm.value().get() {
            Some(Ok(codes)) => view! { <RecoveryCodes codes/> }.into_any(),
            _ => view! {
                <button type="button" data-test-id="mfa-start" on:click=move |_| { start.dispatch(()); }>
                    "Set up two-factor sign-in"
                </button>
                {move || start.value().get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(setup) => view! { <SetupSteps setup confirm/> }.into_any(),
                })}
            }
            .into_any(),
        }}
    }
}

#[component]
fn SetupSteps(setup: MfaSetup, confirm: ServerAction<ConfirmMfaSetup>) -> impl IntoView {
    view! {
        <ol class="steps">
            <li>
                "Scan this with your authenticator app, or type the key in: "
                <code data-test-id="mfa-secret">{setup.secret}</code>
                // Drawn by the server (qrcode crate): our own SVG, no script in it.
                <div class="qr" inner_html=setup.qr_svg></div>
            </li>
            <li>
                <ActionForm action=confirm attr:data-test-id="mfa-confirm-form">
                    <label>"The code it shows "<input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" data-test-id="mfa-code"/></label>
                    <button type="submit">"Turn on"</button>
                </ActionForm>
                {move || confirm.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            </li>
        </ol>
    }
}

#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    view! {
        <p data-test-id="mfa-enabled">"Two-factor sign-in is on."</p>
        <p>
            "Recovery codes: each signs you in once in place of a code, if you lose your phone. "
            <strong>"They are shown only now"</strong>": keep them somewhere safe."
        </p>
        <ul class="codes" data-test-id="recovery-codes">
            {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
        </ul>
    }
}
