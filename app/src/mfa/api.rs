//! Two-factor sign-in's server functions: the signed-in user's own setup, and an
//! administrator's reset of someone else's.

use leptos::prelude::*;
use pathfinder::dto::{MfaSetup, MfaState};
use pathfinder::AppError;

/// The signed-in user's own second factor.
#[server(prefix = "/api", endpoint = "mfa_state")]
pub async fn get_mfa_state() -> Result<MfaState, AppError> {
    crate::server::serve::<GetMfaState, _>(async |c| {
        let id = c.who.user_id.clone();
        c.db.call(move |s| s.mfa_state(&id)).await
    })
    .await
}

/// Starts setting up TOTP for the signed-in user: a new secret, stored encrypted,
/// shown once as a QR code and as text.
#[server(prefix = "/api", endpoint = "start_mfa_setup")]
pub async fn start_mfa_setup() -> Result<MfaSetup, AppError> {
    use pathfinder::storage::MFA_SETUP_START;
    crate::server::serve::<StartMfaSetup, _>(async |c| {
        let secret = pathfinder::mfa::new_secret();
        let qr_svg = pathfinder::mfa::setup_qr(&secret, &c.who.username)?;
        let id = c.who.user_id.clone();
        let audit = c.audit(MFA_SETUP_START, ("user", Some(id.as_str())));
        let stored = secret.clone();
        c.db.call(move |s| s.start_mfa_setup(&id, &stored, &audit)).await?;
        Ok(MfaSetup { secret, qr_svg })
    })
    .await
}

/// Turns TOTP on once a first code proves the app has the secret; answers the
/// recovery codes, shown this once (the database keeps their hashes).
#[server(prefix = "/api", endpoint = "confirm_mfa_setup")]
pub async fn confirm_mfa_setup(code: String) -> Result<Vec<String>, AppError> {
    use pathfinder::storage::MFA_ENABLE;
    crate::server::serve::<ConfirmMfaSetup, _>(async |c| {
        let id = c.who.user_id.clone();
        let audit = c.audit(MFA_ENABLE, ("user", Some(id.as_str())));
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
        let codes = pathfinder::mfa::new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| pathfinder::mfa::recovery_hash(c)).collect();
        c.db.call(move |s| s.confirm_mfa_setup(&id, &code, now, &hashes, &audit)).await?;
        Ok(codes)
    })
    .await
}

/// Turns another user's second factor off (admins; never their own; only within
/// five minutes of their own sign-in), audited.
#[server(prefix = "/api", endpoint = "reset_mfa")]
pub async fn reset_mfa(user_id: String) -> Result<(), AppError> {
    use pathfinder::storage::MFA_RESET;
    crate::server::serve::<ResetMfa, _>(async |c| {
        if c.is(&user_id) {
            return Err(AppError::invalid("You cannot reset your own two-factor sign-in: ask another admin."));
        }
        c.require_fresh_sign_in("Resetting two-factor sign-in")?;
        let id = pathfinder::UserId(user_id);
        let audit = c.audit(MFA_RESET, ("user", Some(id.as_str())));
        c.db.call(move |s| s.reset_mfa(&id, &audit)).await
    })
    .await
}
