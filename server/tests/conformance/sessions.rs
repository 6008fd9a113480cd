//! Sign-in and sessions: the lifecycle, failures and the lockout, ending sessions by filter.

use crate::common::{add_user, audit};
use crate::Harness;
use pathfinder::dto::Principal;
use pathfinder::storage::{
    DeviceFailure, LoginFailure, LoginGuard, LoginRecord, LoginStart, LoginSuccess, NewSession, SessionFilter,
};
use pathfinder::{AppError, Role, SessionId, UserId};

checks!(
    sessions_lifecycle,
    statuses_that_cannot_sign_in_end_sessions,
    login_failures_and_lockout,
    sessions_end_by_filter
);

/// Suspended, deactivated, pending or deleted: the account's sessions end then, so
/// that setting it active again does not bring an old cookie back to life.
fn statuses_that_cannot_sign_in_end_sessions(h: &Harness) {
    let s = h.s();
    let id = add_user(s, "sess_status_user", "active", &[Role::Sre]);
    let now = chrono::Utc::now();
    let idle = now - chrono::Duration::minutes(30);
    for (i, status) in ["suspended", "deactivated", "pending", "deleted"].into_iter().enumerate() {
        let sid = SessionId::new();
        let token = format!("{i}").repeat(64);
        let session = NewSession {
            session_id: sid.clone(),
            user_id: id.clone(),
            token_hash: token.clone(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
            ip_address: None,
            user_agent: None,
        };
        s.record_login_success(&session, &success("a"), &audit("login.success")).unwrap();
        assert!(s.session_principal(&sid, &token, now, idle).unwrap().is_some());
        s.set_account_status(&id, status, true, &audit("user.status")).unwrap();
        assert!(s.session_principal(&sid, &token, now, idle).unwrap().is_none(), "{status}: no session");
        s.set_account_status(&id, "active", true, &audit("user.status.active")).unwrap();
        assert!(s.session_principal(&sid, &token, now, idle).unwrap().is_none(), "{status}, then active: still ended");
        let ended = s.list_sessions(&id).unwrap().into_iter().find(|x| x.session_id == sid).unwrap();
        assert_eq!(ended.end_reason.as_deref(), Some(format!("account {status}").as_str()));
    }
}

fn sessions_lifecycle(h: &Harness) {
    let s = h.s();
    // Another active administrator, so that this one may be suspended.
    add_user(s, "sess_spare_admin", "active", &[Role::Admin]);
    let id = add_user(s, "sess_user", "active", &[Role::Admin, Role::Compliance]);
    let now = chrono::Utc::now();
    let sid = SessionId::new();
    let session = NewSession {
        session_id: sid.clone(),
        user_id: id.clone(),
        token_hash: "a".repeat(64),
        created_at: now,
        expires_at: now + chrono::Duration::hours(1),
        ip_address: Some("127.0.0.1".into()),
        user_agent: Some("conformance".into()),
    };
    s.record_login_success(&session, &success("a"), &audit("login.success")).unwrap();
    let idle = now - chrono::Duration::minutes(30);
    let p: Principal = s.session_principal(&sid, &"a".repeat(64), now, idle).unwrap().expect("live session");
    assert_eq!(p.user_id, id);
    assert_eq!(p.roles, vec![Role::Admin, Role::Compliance]);
    assert!(s.session_principal(&sid, &"b".repeat(64), now, idle).unwrap().is_none(), "token hash must match");
    assert!(
        s.session_principal(&sid, &"a".repeat(64), now + chrono::Duration::hours(2), idle).unwrap().is_none(),
        "expired"
    );
    let profile = s.user_profile(&id).unwrap();
    assert_eq!(profile.total_logins, 1);
    assert!(profile.summary.last_login.is_some());
    assert_eq!(s.list_sessions(&id).unwrap().len(), 1);
    // The sessions section of their page: the sessions and the sign-in's guard.
    let section = s.user_sessions(&id).unwrap();
    assert_eq!(section.sessions, s.list_sessions(&id).unwrap());
    assert_eq!(section.sign_in, s.sign_in_state(&id).unwrap());

    assert!(matches!(s.set_account_status(&id, "banana", true, &audit("x")), Err(AppError::Invalid(_))));
    // Idle: unused since before the cutoff, refused; a use recorded, live again. A
    // use is written only when the last one is older than the given bound.
    let later = now + chrono::Duration::minutes(40);
    let idle_later = later - chrono::Duration::minutes(30);
    assert!(s.session_principal(&sid, &"a".repeat(64), later, idle_later).unwrap().is_none(), "idle");
    s.touch_session(&sid, later, later - chrono::Duration::minutes(1)).unwrap();
    assert!(s.session_principal(&sid, &"a".repeat(64), later, idle_later).unwrap().is_some(), "used again");
    s.touch_session(&sid, now, now - chrono::Duration::minutes(1)).unwrap();
    assert!(s.session_principal(&sid, &"a".repeat(64), later, idle_later).unwrap().is_some(), "not moved back");

    s.revoke_session(&sid, "signed out", &audit("logout")).unwrap();
    assert!(s.session_principal(&sid, &"a".repeat(64), now, idle).unwrap().is_none(), "revoked");
    assert!(!s.list_sessions(&id).unwrap()[0].is_active);
    assert!(matches!(s.revoke_session(&SessionId::new(), "signed out", &audit("logout")), Err(AppError::NotFound(_))));
    let ended = s.list_sessions(&id).unwrap().remove(0);
    assert_eq!(ended.end_reason.as_deref(), Some("signed out"));
    assert!(ended.ended_at.is_some());
}

pub fn success(device: &str) -> LoginSuccess {
    LoginSuccess {
        device_hash: device.repeat(64),
        reset_guard: true,
        forget_unused_before: chrono::Utc::now() - chrono::Duration::days(90),
        second_factor: None,
    }
}

pub fn ready(start: LoginStart) -> LoginRecord {
    match start {
        LoginStart::Ready(r) => r,
        other => panic!("expected a record, got {other:?}"),
    }
}

/// The sign-in guard's storage: the lease lets one attempt per account through at a
/// time (on every instance: it is a conditional update), the guard and the device
/// counts are stored as decided, and an unlock clears them.
fn login_failures_and_lockout(h: &Harness) {
    let s = h.s();
    let id = add_user(s, "lock_user", "active", &[Role::Sre]);
    let product = add_user(s, "lock_product_user", "active", &[]);
    let now = chrono::Utc::now();
    let lease = now + chrono::Duration::seconds(30);
    let rec = ready(s.begin_login("lock_user", None, now, lease).unwrap());
    assert_eq!((rec.guard, rec.device_failures, rec.console_role), (LoginGuard::default(), None, true));
    assert!(matches!(s.begin_login("lock_user", None, now, lease).unwrap(), LoginStart::Busy), "the lease is held");
    let later = lease + chrono::Duration::seconds(1);
    assert!(
        matches!(s.begin_login("lock_user", None, later, later).unwrap(), LoginStart::Ready(_)),
        "an abandoned lease expires"
    );
    let guard = LoginGuard {
        failed_attempts: 0,
        last_failed_at: Some(now),
        lockouts: 2,
        locked_until: Some(now + chrono::Duration::minutes(10)),
    };
    let failure = LoginFailure { user_id: Some(id.clone()), guard: Some(guard), device: None };
    s.record_login_failure(&failure, &audit("login.failure")).unwrap();
    let rec = ready(s.begin_login("lock_user", None, now, lease).unwrap());
    assert_eq!(rec.guard.lockouts, 2);
    assert!((rec.guard.locked_until.unwrap() - guard.locked_until.unwrap()).num_seconds().abs() <= 1);
    assert!(s.sign_in_state(&id).unwrap().locked);

    // A success from a trusted browser while locked leaves the lock; the device is remembered.
    let session = |n: u8| NewSession {
        session_id: SessionId::new(),
        user_id: id.clone(),
        token_hash: format!("{n:0>64}"),
        created_at: now,
        expires_at: now + chrono::Duration::hours(1),
        ip_address: None,
        user_agent: None,
    };
    let kept = LoginSuccess { reset_guard: false, ..success("d") };
    s.record_login_success(&session(1), &kept, &audit("login.success")).unwrap();
    let state = s.sign_in_state(&id).unwrap();
    assert!(state.locked && state.trusted_devices == 1, "{state:?}");
    let rec = ready(s.begin_login("lock_user", Some(&"d".repeat(64)), now, lease).unwrap());
    assert_eq!(rec.device_failures, Some(0));
    let device = |n| DeviceFailure { device_hash: "d".repeat(64), failed_attempts: n };
    let failure = LoginFailure { user_id: Some(id.clone()), guard: None, device: Some(device(Some(3))) };
    s.record_login_failure(&failure, &audit("login.failure")).unwrap();
    let rec = ready(s.begin_login("lock_user", Some(&"d".repeat(64)), now, lease).unwrap());
    assert_eq!((rec.device_failures, rec.guard.lockouts), (Some(3), 2));
    let failure = LoginFailure { user_id: Some(id.clone()), guard: None, device: Some(device(None)) };
    s.record_login_failure(&failure, &audit("login.failure")).unwrap();
    assert_eq!(s.sign_in_state(&id).unwrap().trusted_devices, 0, "the device is trusted no more");

    s.unlock_login(&id, &audit("user.unlock")).unwrap();
    let state = s.sign_in_state(&id).unwrap();
    assert!(!state.locked && state.guard == LoginGuard::default(), "{state:?}");
    assert!(matches!(s.unlock_login(&UserId::new(), &audit("user.unlock")), Err(AppError::NotFound(_))));

    // A product account is looked up, but nothing of theirs is written (no lease).
    let rec = ready(s.begin_login("lock_product_user", None, now, lease).unwrap());
    assert!(!rec.console_role);
    assert!(matches!(s.begin_login("lock_product_user", None, now, lease).unwrap(), LoginStart::Ready(_)));
    assert_eq!(s.sign_in_state(&product).unwrap(), Default::default());
    assert!(matches!(s.begin_login("nobody_here", None, now, lease).unwrap(), LoginStart::Unknown));
}

/// Sessions end together by filter (a user's, users not active, started before a
/// date, from an address), after a preview count, with one audit row.
fn sessions_end_by_filter(h: &Harness) {
    let s = h.s();
    let now = chrono::Utc::now();
    let open = |user: &UserId, n: u32, ip: &str, started: chrono::DateTime<chrono::Utc>| {
        let session = NewSession {
            session_id: SessionId::new(),
            user_id: user.clone(),
            token_hash: format!("{:0>60}{n:04}", user.0),
            created_at: started,
            expires_at: now + chrono::Duration::hours(1),
            ip_address: Some(ip.into()),
            user_agent: None,
        };
        let device = LoginSuccess { device_hash: format!("{:d>60}{n:04}", user.0), ..success("s") };
        s.record_login_success(&session, &device, &audit("login.success")).unwrap();
    };
    let a = add_user(s, "filter_a", "active", &[Role::Sre]);
    let b = add_user(s, "filter_b", "suspended", &[Role::Sre]);
    open(&a, 1, "192.0.2.10", now - chrono::Duration::days(3));
    open(&a, 2, "192.0.2.11", now);
    open(&b, 1, "192.0.2.10", now);
    assert!(matches!(s.count_sessions(&SessionFilter::default()), Err(AppError::Invalid(_))), "a filter is needed");
    let by_ip = SessionFilter { ip_address: Some("192.0.2.10".into()), ..Default::default() };
    assert_eq!(s.count_sessions(&by_ip).unwrap(), 2);
    let inactive = SessionFilter { inactive_users: true, ..Default::default() };
    let old = SessionFilter {
        started_before: Some(now - chrono::Duration::days(1)),
        user_id: Some(a.clone()),
        ..Default::default()
    };
    assert_eq!(s.count_sessions(&old).unwrap(), 1);
    assert_eq!(s.revoke_sessions(&inactive, "revoked", &audit("session.revoke_many")).unwrap(), 1);
    assert!(s.recent_audit(1).unwrap()[0].action == "session.revoke_many");
    assert_eq!(s.count_sessions(&by_ip).unwrap(), 1, "the suspended user's session ended");
    assert_eq!(s.revoke_sessions(&old, "revoked", &audit("session.revoke_many")).unwrap(), 1);
    let mine = SessionFilter { user_id: Some(a.clone()), ..Default::default() };
    assert_eq!(s.count_sessions(&mine).unwrap(), 1, "the recent one stays");
    let listed = s.list_sessions(&a).unwrap();
    assert_eq!(listed.iter().filter(|x| x.end_reason.as_deref() == Some("revoked")).count(), 1);
}
