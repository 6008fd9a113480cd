//! Two-factor sign-in.

use crate::common::{add_user, audit};
use crate::sessions::{ready, success};
use crate::Harness;
use pathfinder::dto::MfaState;
use pathfinder::storage::{LoginSuccess, NewSession, SecondFactor};
use pathfinder::{AppError, Role, SessionId};

checks!(second_factor_lifecycle, setup_is_confirmed_by_the_current_code);

/// TOTP setup, sign-in with a code (each step and each recovery code used once,
/// decided in the database), a session's confirmation, and a reset.
fn second_factor_lifecycle(h: &Harness) {
    let s = h.s();
    let id = add_user(s, "mfa_user", "active", &[Role::Sre]);
    assert_eq!(s.mfa_state(&id).unwrap(), MfaState::default());
    s.start_mfa_setup(&id, "JBSWY3DPEHPK3PXP", &audit("mfa.setup.start")).unwrap();
    assert!(s.mfa_state(&id).unwrap().setup_started);
    assert_eq!(s.mfa_secret(&id).unwrap().as_deref(), Some("JBSWY3DPEHPK3PXP"));
    let hashes = vec!["1".repeat(64), "2".repeat(64)];
    s.enable_mfa(&id, 100, &hashes, &audit("mfa.enable")).unwrap();
    assert_eq!(s.mfa_state(&id).unwrap(), MfaState { enabled: true, setup_started: false, recovery_codes_left: 2 });
    assert!(matches!(s.enable_mfa(&id, 101, &hashes, &audit("mfa.enable")), Err(AppError::Conflict(_))));
    assert!(matches!(s.start_mfa_setup(&id, "X", &audit("mfa.setup.start")), Err(AppError::Conflict(_))));
    let now = chrono::Utc::now();
    let rec = ready(s.begin_login("mfa_user", None, now, now + chrono::Duration::seconds(30)).unwrap());
    assert_eq!((rec.mfa_enabled, rec.totp_last_step), (true, Some(100)));

    let session = |sid: &SessionId| NewSession {
        session_id: sid.clone(),
        user_id: id.clone(),
        token_hash: format!("{:f>64}", sid.0),
        created_at: now,
        expires_at: now + chrono::Duration::hours(1),
        ip_address: None,
        user_agent: None,
    };
    let with = |factor: SecondFactor| LoginSuccess { second_factor: Some(factor), ..success("m") };
    let sid = SessionId::new();
    s.record_login_success(&session(&sid), &with(SecondFactor::Totp { step: 101 }), &audit("login.success")).unwrap();
    let replay = s.record_login_success(
        &session(&SessionId::new()),
        &with(SecondFactor::Totp { step: 101 }),
        &audit("login.success"),
    );
    assert!(matches!(replay, Err(AppError::Conflict(_))), "{replay:?}");
    assert_eq!(s.list_sessions(&id).unwrap().len(), 1, "the refused sign-in left no session");
    assert!(s.recovery_code_unused(&id, &"1".repeat(64)).unwrap());
    let recovery = || with(SecondFactor::Recovery { code_hash: "1".repeat(64) });
    s.record_login_success(&session(&SessionId::new()), &recovery(), &audit("login.success")).unwrap();
    assert!(!s.recovery_code_unused(&id, &"1".repeat(64)).unwrap());
    assert!(matches!(
        s.record_login_success(&session(&SessionId::new()), &recovery(), &audit("login.success")),
        Err(AppError::Conflict(_))
    ));
    assert_eq!(s.mfa_state(&id).unwrap().recovery_codes_left, 1);

    let later = now + chrono::Duration::minutes(20);
    s.confirm_session(&sid, &id, later, Some(&SecondFactor::Totp { step: 150 }), &audit("session.confirm")).unwrap();
    let p = s
        .session_principal(&sid, &format!("{:f>64}", sid.0), now, now - chrono::Duration::minutes(30))
        .unwrap()
        .unwrap();
    assert!(p.mfa_enabled);
    assert!((p.confirmed_at.unwrap() - later).num_seconds().abs() <= 1);
    assert!(s
        .confirm_session(&sid, &id, later, Some(&SecondFactor::Totp { step: 150 }), &audit("session.confirm"))
        .is_err());

    s.reset_mfa(&id, &audit("mfa.reset")).unwrap();
    assert_eq!(s.mfa_state(&id).unwrap(), MfaState::default());
    assert_eq!(s.mfa_secret(&id).unwrap(), None);
    let rec = ready(s.begin_login("mfa_user", None, later, later + chrono::Duration::seconds(30)).unwrap());
    assert_eq!((rec.mfa_enabled, rec.totp_last_step), (false, None));
}

/// The setup is confirmed by the app's current code (refused otherwise, and before
/// a setup), turning TOTP on with the recovery codes; the step is used up.
fn setup_is_confirmed_by_the_current_code(h: &Harness) {
    let s = h.s();
    let id = add_user(s, "mfa_confirm", "active", &[Role::Admin]);
    let secret = pathfinder::mfa::new_secret();
    let secret = secret.as_str();
    let now = 1_800_000_000u64;
    let code = pathfinder::mfa::current_code(secret, now).unwrap();
    let hashes = vec!["3".repeat(64)];
    let before = s.recent_audit(1000).unwrap().len();
    let early = s.confirm_mfa_setup(&id, &code, now, &hashes, &audit("mfa.enable"));
    assert!(matches!(early, Err(AppError::Conflict(_))), "no setup yet: {early:?}");

    s.start_mfa_setup(&id, secret, &audit("mfa.setup.start")).unwrap();
    let stale = pathfinder::mfa::current_code(secret, now - 300).unwrap();
    for wrong in [stale.as_str(), "000000", "abc", ""] {
        if wrong == code {
            continue;
        }
        let refused = s.confirm_mfa_setup(&id, wrong, now, &hashes, &audit("mfa.enable"));
        assert!(matches!(refused, Err(AppError::Invalid(_))), "{wrong:?}: {refused:?}");
    }
    assert_eq!(s.recent_audit(1000).unwrap().len(), before + 1, "only the setup's row");
    assert!(!s.mfa_state(&id).unwrap().enabled);

    s.confirm_mfa_setup(&id, &code, now, &hashes, &audit("mfa.enable")).unwrap();
    assert_eq!(s.mfa_state(&id).unwrap(), MfaState { enabled: true, setup_started: false, recovery_codes_left: 1 });
    let t = chrono::Utc::now();
    let rec = ready(s.begin_login("mfa_confirm", None, t, t + chrono::Duration::seconds(30)).unwrap());
    assert_eq!(rec.totp_last_step, Some(now as i64 / 30), "the confirming code's step is used up");
    assert!(matches!(s.confirm_mfa_setup(&id, &code, now, &hashes, &audit("mfa.enable")), Err(AppError::Conflict(_))));
}
