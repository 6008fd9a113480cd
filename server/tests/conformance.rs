//! The storage conformance suite: one set of checks over the storage interface,
//! run against SQLite always and against Oracle when PF_ORACLE_TEST_URL is set at
//! build time (the Oracle run is reported as ignored otherwise, never as passed).

#[path = "conformance/audit_log.rs"]
mod audit_log;
mod common;
#[path = "conformance/flags.rs"]
mod flags;
#[path = "conformance/operations.rs"]
mod operations;
#[path = "conformance/retention.rs"]
mod retention;

use common::{add_user, audit, new_user};
use pathfinder::dto::{MfaState, Principal, SensitiveFields, StatusCount};
use pathfinder::filter::{UserFilter, UserSort};
use pathfinder::storage::{
    AuditEntry, DeviceFailure, LoginFailure, LoginGuard, LoginRecord, LoginStart, LoginSuccess, NewSession, NewUser,
    RefreshWhen, RotationScope, SecondFactor, SessionFilter, Storage, TableRows, Value,
};
use pathfinder::{AppError, Role, SessionId, UserId, Username};
use pathfinder_server::crypto::{DataKey, FieldRef, Keyring, MasterKey, WrappedKey};
use std::collections::BTreeSet;
use std::sync::Arc;

/// What the suite needs besides the storage interface: a second console instance
/// on the same database, and SQL sent around the console, as an operator's tool would.
struct Harness {
    storage: Arc<dyn Storage>,
    another_instance: Box<dyn Fn() -> Arc<dyn Storage>>,
    raw: Box<dyn Fn(&str)>,
    /// A time far ahead, as a literal of the backend's SQL.
    far_future: &'static str,
    /// A time long ago, likewise.
    long_ago: &'static str,
    /// A date (YYYY-MM-DD) as a literal of the backend's SQL.
    date: fn(&str) -> String,
    /// The master keys the storage holds.
    keyring: Keyring,
    /// Another instance on the same database, holding these master keys.
    open_with: Box<dyn Fn(Keyring) -> Arc<dyn Storage>>,
    /// The first column of the first row of a query sent around the console, as text.
    raw_text: Box<dyn Fn(&str) -> Option<String>>,
    /// `pathfinder-admin` run on the same database, with extra environment variables.
    cli: Box<dyn Fn(&[&str], &[(&str, String)]) -> std::process::Output>,
}

fn conformance(h: &Harness) {
    let s = h.storage.as_ref();
    migrate_is_idempotent(s);
    users_create_and_conflict(s);
    users_search_and_keyset_pages(s);
    null_creation_times_page(s);
    audit_rows_fit_their_columns(s);
    empty_text_is_stored_as_absent(s);
    sessions_lifecycle(s);
    login_failures_and_lockout(s);
    second_factor_lifecycle(s);
    console_roles_change_with_the_last_admin_kept(s);
    a_change_whose_audit_row_fails_changes_nothing(s);
    user_table_sets(s);
    filling_needs_a_ready_set(h);
    bulk_batches(s);
    users_join_groups(h);
    statistics_refresh(h);
    overview_counts(s);
    concurrent_migrations_apply_each_step_once(h);
    schema_check_reports_changed_definitions(h);
    field_encryption_round_trips_and_refuses_tampering(h);
    key_rotation_re_encrypts_every_field(h);
    master_key_rotation_rewraps_every_key(h);
    deleting_a_user_shreds_their_key(h);
    rotation_runs_take_turns_and_rotate_only_what_is_due(h);
    plaintext_written_later_is_folded_in_never_lost(h);
    rotation_killed_at_every_step_leaves_everything_readable(h);
    the_last_active_admin_stays(h);
    audit_log::search_filters_pages_facets_and_export(s);
    audit_log::the_chain_shows_every_kind_of_tampering(h);
    flags::flags_groups_overrides_and_evaluation(s);
    operations::storage_samples(h);
    operations::statistics_and_verification(s);
    operations::backups(h);
    // Last: it removes whatever the checks before it wrote (a year ahead, all is old).
    retention::retention_runs(h);
}

const VERSION: i64 = 19;

fn actions(s: &dyn Storage) -> Vec<String> {
    s.recent_audit(100_000).unwrap().into_iter().map(|a| a.action).collect()
}

fn count(s: &dyn Storage, action: &str) -> usize {
    actions(s).iter().filter(|a| *a == action).count()
}

fn migrate_is_idempotent(s: &dyn Storage) {
    let again = s.migrate(&audit("schema.migrate")).expect("second migrate");
    assert!(again.applied.is_empty(), "nothing left to apply: {:?}", again.applied);
    assert_eq!(s.schema_version().unwrap(), VERSION);
    assert_eq!(s.schema_check().unwrap(), vec![], "a fresh database has no drift");
}

fn users_create_and_conflict(s: &dyn Storage) {
    let before = s.recent_audit(1000).unwrap().len();
    let u = new_user("conf_dup", "Dup", "Licate", "active", &[Role::Sre]);
    s.create_user(&u, &audit("user.create")).unwrap();
    assert_eq!(s.recent_audit(1000).unwrap().len(), before + 1, "one audit row per change");
    let profile = s.user_profile(&u.user_id).unwrap();
    assert_eq!(profile.summary.username, "conf_dup");
    assert_eq!(profile.roles, vec![Role::Sre]);

    let mut same_name = new_user("conf_dup", "Other", "Person", "active", &[]);
    same_name.email = "other@example.com".into();
    assert!(matches!(s.create_user(&same_name, &audit("user.create")), Err(AppError::Conflict(_))));
    let same_email = NewUser { username: Username::parse("conf_other").unwrap(), ..u.clone() };
    let same_email = NewUser { user_id: UserId::new(), ..same_email };
    assert!(matches!(s.create_user(&same_email, &audit("user.create")), Err(AppError::Conflict(_))));
    assert_eq!(s.recent_audit(1000).unwrap().len(), before + 1, "refused changes write no audit row");
    assert!(matches!(s.user_profile(&UserId::new()), Err(AppError::NotFound(_))));

    // Bad fields are refused alike by both backends, before the database sees them.
    for bad in [
        NewUser { email: "not an email".into(), ..new_user("conf_bad1", "B", "A", "active", &[]) },
        NewUser { first_name: Some("x".repeat(101)), ..new_user("conf_bad2", "B", "A", "active", &[]) },
        NewUser { account_status: "zombie".into(), ..new_user("conf_bad3", "B", "A", "active", &[]) },
    ] {
        assert!(matches!(s.create_user(&bad, &audit("user.create")), Err(AppError::Invalid(_))));
    }
    // Empty text is stored as absent, as Oracle does with ''.
    let blank = NewUser { first_name: Some("  ".into()), ..new_user("conf_blank", "B", "A", "active", &[]) };
    s.create_user(&blank, &audit("user.create")).unwrap();
    assert_eq!(s.user_profile(&blank.user_id).unwrap().summary.first_name, None);
    assert_eq!(s.recent_audit(1000).unwrap().len(), before + 2, "refused changes write no audit row");
}

fn all_pages(s: &dyn Storage, mut f: UserFilter) -> Vec<pathfinder::dto::UserSummary> {
    let mut got = Vec::new();
    loop {
        let page = s.search_users(&f).unwrap();
        assert!(page.items.len() <= f.page_size() as usize);
        got.extend(page.items);
        match page.next_cursor {
            Some(c) => f.after = Some(c),
            None => return got,
        }
    }
}

fn users_search_and_keyset_pages(s: &dyn Storage) {
    for i in 0..23 {
        let status = if i % 3 == 0 { "suspended" } else { "active" };
        add_user(s, &format!("page_{i:02}"), status, &[]);
    }
    // Non-ASCII emails and names: both backends fold case beyond ASCII alike.
    for (name, email, first) in [("page_u1", "ÉLODIE@Example.com", "Élodie"), ("page_u2", "zoë@example.com", "Zoë")]
    {
        let mut u = new_user(name, first, "Ünal", "active", &[]);
        u.email = email.into();
        s.create_user(&u, &audit("user.create")).unwrap();
    }
    let mut f = UserFilter::from_query("PAGE_", "", "", "username", "", "").unwrap();
    f.limit = 5;
    let seen: Vec<String> = all_pages(s, f).into_iter().map(|u| u.username).collect();
    let mut expected: Vec<String> = (0..23).map(|i| format!("page_{i:02}")).collect();
    expected.extend(["page_u1".to_string(), "page_u2".to_string()]);
    assert_eq!(seen, expected, "keyset pages cover every match once, in order");

    // Descending by email, and by creation time, both complete and ordered.
    for (sort, dir) in [("email", "desc"), ("email", "asc"), ("created_at", "asc"), ("created_at", "desc")] {
        let mut f = UserFilter::from_query("page_", "", "", sort, dir, "").unwrap();
        f.limit = 4;
        let got = all_pages(s, f);
        assert_eq!(got.len(), 25, "{sort} {dir}");
        let names: BTreeSet<_> = got.iter().map(|u| u.username.clone()).collect();
        assert_eq!(names.len(), 25, "no row twice ({sort} {dir})");
        if sort == "email" {
            let keys: Vec<String> = got.iter().map(|u| u.email.to_lowercase()).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if dir == "desc" {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "emails in Unicode lower-case order, {dir}");
        }
    }

    // Case-insensitive on every searched column; status filter; wildcards are literal.
    let count = |q: &str, status: &str| {
        s.search_users(&UserFilter::from_query(q, "", status, "", "", "").unwrap()).unwrap().items.len()
    };
    assert_eq!(count("LASTPAGE_07", ""), 1, "last name");
    assert_eq!(count("firstpage_07", ""), 1, "first name");
    assert_eq!(count("PAGE_07@EXAMPLE", ""), 1, "email");
    assert_eq!(count("page_", "suspended"), 8);
    assert_eq!(count("élodie@", ""), 1, "email, folded beyond ASCII");
    assert_eq!(count("ZOË", ""), 1, "first name, folded beyond ASCII");
    assert_eq!(count("ünal", ""), 2, "last name, folded beyond ASCII");
    assert_eq!(count("%", ""), 0, "a % in the search is a literal");
    assert_eq!(count("page\\_0", ""), 0, "a backslash is a literal too");
    let f = UserFilter { sort: UserSort::Username, ..UserFilter::from_query("page_1", "", "", "", "", "").unwrap() };
    assert_eq!(s.search_users(&f).unwrap().items.len(), 10);
}

/// The seed allows a NULL `pf_users.created_at`: such a user is listed in every
/// order, first by creation time, and pages step over it.
fn null_creation_times_page(s: &dyn Storage) {
    let t = |x: &str| Value::Text(x.to_string());
    let ghost = TableRows {
        table: "pf_users".into(),
        columns: &["user_id", "username", "email", "password_hash", "created_at"],
        rows: vec![vec![
            t("01JNULLCREATED000000000001"),
            t("nullcreated_ghost"),
            t("ghost@nullcreated.example"),
            t(common::NO_LOGIN_HASH),
            Value::Null,
        ]],
    };
    s.insert_batch(&[ghost], &AuditEntry { entity_id: Some("ghost".into()), ..audit("data.import") }).unwrap();
    for n in 0..3 {
        add_user(s, &format!("nullcreated_{n}"), "active", &[]);
    }
    for (sort, dir) in [("created_at", "asc"), ("created_at", "desc"), ("username", "asc"), ("email", "desc")] {
        let mut f = UserFilter::from_query("nullcreated", "", "", sort, dir, "").unwrap();
        f.limit = 1;
        let got = all_pages(s, f);
        assert_eq!(got.len(), 4, "{sort} {dir}");
        if sort == "created_at" {
            let ghost_at = if dir == "asc" { 0 } else { 3 };
            assert_eq!(got[ghost_at].username, "nullcreated_ghost", "{sort} {dir}");
            assert_eq!(got[ghost_at].created_at, None);
        }
    }
    let status = UserFilter::from_query("nullcreated", "", "active", "created_at", "", "").unwrap();
    assert_eq!(s.search_users(&status).unwrap().items.len(), 4, "a NULL status counts as active");
}

fn audit_rows_fit_their_columns(s: &dyn Storage) {
    let mut entry = audit("user.create");
    entry.entity_type = Some("user".into());
    entry.entity_id = Some("e".repeat(60));
    entry.user_agent = Some("ü".repeat(400));
    s.create_user(&new_user("long_audit", "L", "A", "active", &[]), &entry).unwrap();
    let row = s.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.entity_id.map(|e| e.len()), Some(36), "cut to VARCHAR2(36)");
    let ua = row.user_agent.unwrap();
    assert_eq!((ua.len(), ua.chars().count()), (500, 250), "cut to 500 bytes on a character boundary");
}

/// `''` is NULL on Oracle; both backends store empty text as absent (an empty
/// User-Agent, an empty bulk field, an empty JSON document).
fn empty_text_is_stored_as_absent(s: &dyn Storage) {
    let entry = AuditEntry { user_agent: Some(String::new()), ip_address: Some(String::new()), ..audit("user.create") };
    s.create_user(&new_user("empty_ua", "E", "U", "active", &[]), &entry).unwrap();
    let row = s.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.user_agent, row.ip_address), (None, None));

    let id = add_user(s, "empty_session", "active", &[]);
    let now = chrono::Utc::now();
    let session = NewSession {
        session_id: SessionId::new(),
        user_id: id.clone(),
        token_hash: "e".repeat(64),
        created_at: now,
        expires_at: now + chrono::Duration::hours(1),
        ip_address: Some(String::new()),
        user_agent: Some(String::new()),
    };
    s.record_login_success(&session, &success("e"), &audit("login.success")).unwrap();
    let listed = s.list_sessions(&id).unwrap().remove(0);
    assert_eq!((listed.ip_address, listed.user_agent), (None, None));

    // An empty JSON document is no document: accepted (as NULL) by both.
    let prefs = TableRows {
        table: "pf_user_preferences".into(),
        columns: &["preference_id", "user_id", "ui_preferences", "privacy_settings"],
        rows: vec![vec![
            Value::Text("01JEMPTYPREFS0000000000001".into()),
            Value::Text(id.0.clone()),
            Value::Text(String::new()),
            Value::Text("{\"public\": false}".into()),
        ]],
    };
    s.insert_batch(&[prefs], &AuditEntry { entity_id: Some("prefs".into()), ..audit("data.import") }).unwrap();
}

fn sessions_lifecycle(s: &dyn Storage) {
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

    s.set_account_status(&id, "suspended", &audit("user.suspend")).unwrap();
    assert!(
        s.session_principal(&sid, &"a".repeat(64), now, idle).unwrap().is_none(),
        "suspended users have no session"
    );
    s.set_account_status(&id, "active", &audit("user.activate")).unwrap();
    assert!(s.session_principal(&sid, &"a".repeat(64), now, idle).unwrap().is_some());
    assert!(matches!(s.set_account_status(&id, "banana", &audit("x")), Err(AppError::Invalid(_))));
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
    sessions_end_by_filter(s);
}

fn success(device: &str) -> LoginSuccess {
    LoginSuccess {
        device_hash: device.repeat(64),
        reset_guard: true,
        forget_unused_before: chrono::Utc::now() - chrono::Duration::days(90),
        second_factor: None,
    }
}

fn ready(start: LoginStart) -> LoginRecord {
    match start {
        LoginStart::Ready(r) => r,
        other => panic!("expected a record, got {other:?}"),
    }
}

/// The sign-in guard's storage: the lease lets one attempt per account through at a
/// time (on every instance: it is a conditional update), the guard and the device
/// counts are stored as decided, and an unlock clears them.
fn login_failures_and_lockout(s: &dyn Storage) {
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

/// TOTP setup, sign-in with a code (each step and each recovery code used once,
/// decided in the database), a session's confirmation, and a reset.
fn second_factor_lifecycle(s: &dyn Storage) {
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

/// Roles are replaced in one audited step; the last active admin keeps theirs.
fn console_roles_change_with_the_last_admin_kept(s: &dyn Storage) {
    let id = add_user(s, "roles_user", "active", &[]);
    let (before, after) =
        s.set_console_roles(&id, &[Role::Sre, Role::Sre, Role::Compliance], &audit("user.roles")).unwrap();
    assert_eq!((before, after.clone()), (vec![], vec![Role::Compliance, Role::Sre]));
    let row = s.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "user.roles");
    assert_eq!(s.user_profile(&id).unwrap().roles, after);
    assert!(s.console_accounts().unwrap().iter().any(|a| a.user_id == id && a.roles == after));
    s.set_console_roles(&id, &[], &audit("user.roles")).unwrap();
    assert!(s.user_profile(&id).unwrap().roles.is_empty());
    assert!(matches!(
        s.set_console_roles(&UserId::new(), &[Role::Sre], &audit("user.roles")),
        Err(AppError::NotFound(_))
    ));
    // Every active admin but one loses the role: the last one cannot.
    let admins: Vec<UserId> = s
        .console_accounts()
        .unwrap()
        .into_iter()
        .filter(|a| a.roles.contains(&Role::Admin) && a.account_status == "active")
        .map(|a| a.user_id)
        .collect();
    let (last, others) = admins.split_last().unwrap();
    for other in others {
        s.set_console_roles(other, &[Role::Sre], &audit("user.roles")).unwrap();
    }
    assert!(matches!(s.set_console_roles(last, &[Role::Sre], &audit("user.roles")), Err(AppError::Conflict(_))));
    assert!(s.user_profile(last).unwrap().roles.contains(&Role::Admin));
    for other in others {
        s.set_console_roles(other, &[Role::Admin], &audit("user.roles")).unwrap();
    }
}

/// Sessions end together by filter (a user's, users not active, started before a
/// date, from an address), after a preview count, with one audit row.
fn sessions_end_by_filter(s: &dyn Storage) {
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

/// An audit row that cannot be written (here: an empty action, which NOT NULL
/// refuses) takes the change with it, whatever the operation.
fn a_change_whose_audit_row_fails_changes_nothing(s: &dyn Storage) {
    let broken = AuditEntry { action: String::new(), ..audit("x") };
    let before = s.recent_audit(100_000).unwrap().len();
    let u = new_user("audit_broken", "A", "B", "active", &[]);
    assert!(s.create_user(&u, &broken).is_err());
    assert!(matches!(s.user_profile(&u.user_id), Err(AppError::NotFound(_))), "no user was made");

    let id = add_user(s, "audit_target", "active", &[]);
    assert!(s.set_account_status(&id, "suspended", &broken).is_err());
    assert_eq!(s.user_profile(&id).unwrap().summary.account_status, "active");
    let guard = LoginGuard { failed_attempts: 1, last_failed_at: Some(chrono::Utc::now()), ..LoginGuard::default() };
    let failure = LoginFailure { user_id: Some(id.clone()), guard: Some(guard), device: None };
    assert!(s.record_login_failure(&failure, &broken).is_err());
    assert_eq!(s.sign_in_state(&id).unwrap().guard.failed_attempts, 0);

    let owner = Username::parse("audit_fill").unwrap();
    s.provision_user_tables(&owner, &audit("user_tables.provision")).unwrap();
    let skills = TableRows {
        table: "pf_user_audit_fill_skills".into(),
        columns: &["id", "skill_name"],
        rows: vec![vec![Value::Text("s1".into()), Value::Text("Auditing".into())]],
    };
    assert!(s.fill_user_tables(&owner, &[skills], &broken).is_err());
    let set = s.user_table_set(&owner).unwrap().unwrap();
    let rows = set.tables.iter().find(|t| t.name == "pf_user_audit_fill_skills").unwrap().rows;
    assert_eq!(rows, 0, "the rows went with their audit row");
    s.drop_user_tables(&owner, &audit("user_tables.drop")).unwrap();
    assert_eq!(s.recent_audit(100_000).unwrap().len(), before + 1 + 4, "only the successful changes are audited");
}

fn user_table_sets(s: &dyn Storage) {
    let alice = Username::parse("conf_alice").unwrap();
    assert!(s.user_table_set(&alice).unwrap().is_none());
    let set = s.provision_user_tables(&alice, &audit("user_tables.provision")).unwrap();
    assert_eq!(set.status, "ready");
    assert_eq!(set.tables.len(), 11, "{:?}", set.tables);
    for t in &set.tables {
        // The career summary aggregates: one row even over no experiences.
        let want = if t.name.contains("career_summary") { 1 } else { 0 };
        assert_eq!(t.rows, want, "{}", t.name);
    }
    assert_eq!(set.career.as_ref().map(|c| c.total_positions), Some(0));
    assert!(set.tables.iter().any(|t| t.name == "pf_user_conf_alice_pert_responses"));

    // Provisioning a ready set again changes nothing, and is audited like the first
    // time: its intent and its outcome.
    let (begins, outcomes) = (count(s, "user_tables.provision.begin"), count(s, "user_tables.provision"));
    let again = s.provision_user_tables(&alice, &audit("user_tables.provision")).unwrap();
    assert_eq!(again, set, "provisioning is idempotent");
    assert_eq!(count(s, "user_tables.provision.begin"), begins + 1);
    assert_eq!(count(s, "user_tables.provision"), outcomes + 1, "every .begin has its outcome");
    assert_eq!(s.schema_check().unwrap(), vec![], "a provisioned set is no drift");

    // Filling the set refreshes what its career summary says.
    let t = |x: &str| Value::Text(x.to_string());
    let day = |y: i32| Value::Date(chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap());
    let experiences = TableRows {
        table: "pf_user_conf_alice_experiences".into(),
        columns: &["id", "title", "company", "start_date", "end_date"],
        rows: vec![
            vec![t("e1"), t("Junior auditor"), t("KPMG"), day(2015), day(2018)],
            vec![t("e2"), t("Senior auditor"), t("KPMG"), day(2018), day(2021)],
            vec![t("e3"), t("Controller"), t("Shopify"), day(2021), day(2025)],
        ],
    };
    s.fill_user_tables(&alice, &[experiences], &audit("user_tables.fill")).unwrap();
    let filled = s.user_table_set(&alice).unwrap().unwrap();
    let career = filled.career.expect("a career summary");
    assert_eq!((career.total_positions, career.total_companies), (3, 2));
    assert_eq!(career.career_start_date.as_deref(), Some("2015-01-01"));
    assert_eq!(career.years_experience_tenths, Some(100), "ten years");

    s.drop_user_tables(&alice, &audit("user_tables.drop")).unwrap();
    assert!(s.user_table_set(&alice).unwrap().is_none());
    assert!(matches!(s.drop_user_tables(&alice, &audit("user_tables.drop")), Err(AppError::NotFound(_))));
    assert_eq!(s.schema_check().unwrap(), vec![], "dropping leaves nothing behind");
}

/// Rows go only into a set that is ready: not one never provisioned, not one that
/// a crash left half made or half dropped.
fn filling_needs_a_ready_set(h: &Harness) {
    let s = h.storage.as_ref();
    let bob = Username::parse("conf_fill_bob").unwrap();
    let skills = || TableRows {
        table: "pf_user_conf_fill_bob_skills".into(),
        columns: &["id", "skill_name"],
        rows: vec![vec![Value::Text("s1".into()), Value::Text("IFRS".into())]],
    };
    let before = s.recent_audit(100_000).unwrap().len();
    assert!(matches!(s.fill_user_tables(&bob, &[skills()], &audit("user_tables.fill")), Err(AppError::Conflict(_))));
    s.provision_user_tables(&bob, &audit("user_tables.provision")).unwrap();
    for status in ["provisioning", "dropping"] {
        (h.raw)(&format!("UPDATE pf_user_table_sets SET status = '{status}' WHERE username = 'conf_fill_bob'"));
        let refused = s.fill_user_tables(&bob, &[skills()], &audit("user_tables.fill"));
        assert!(matches!(refused, Err(AppError::Conflict(_))), "{status}: {refused:?}");
    }
    (h.raw)("UPDATE pf_user_table_sets SET status = 'ready' WHERE username = 'conf_fill_bob'");
    assert_eq!(s.recent_audit(100_000).unwrap().len(), before + 2, "refused fills write no audit row");
    s.fill_user_tables(&bob, &[skills()], &audit("user_tables.fill")).unwrap();
    let set = s.user_table_set(&bob).unwrap().unwrap();
    assert_eq!(set.tables.iter().find(|t| t.name == "pf_user_conf_fill_bob_skills").unwrap().rows, 1);
    s.drop_user_tables(&bob, &audit("user_tables.drop")).unwrap();
}

/// Needs the groups `bulk_batches` made (conf_bulk_a/b/c).
fn users_join_groups(h: &Harness) {
    let s = h.storage.as_ref();
    let groups = s.list_groups().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g.group_name.as_str()).collect();
    assert_eq!(names, ["conf_bulk_a", "conf_bulk_b", "conf_bulk_c"]);
    let (a, b) = (groups[0].group_id.clone(), groups[1].group_id.clone());
    assert_eq!(s.find_group(&a).unwrap(), Some(groups[0].clone()));
    assert_eq!(s.find_group("01JNOSUCHGROUP000000000000").unwrap(), None);

    // Created in a group; an unknown group is refused and makes nobody.
    let u = NewUser { feature_group_id: Some(a.clone()), ..new_user("conf_grouped", "G", "R", "active", &[]) };
    s.create_user(&u, &audit("user.create")).unwrap();
    let in_a = s.user_profile(&u.user_id).unwrap().group.unwrap();
    assert_eq!((in_a.group_id.as_str(), in_a.group_name.as_str()), (a.as_str(), "conf_bulk_a"));
    let stray = NewUser {
        feature_group_id: Some("01JNOSUCHGROUP000000000000".into()),
        ..new_user("conf_stray", "G", "R", "active", &[])
    };
    assert!(matches!(s.create_user(&stray, &audit("user.create")), Err(AppError::Invalid(_))));
    assert_eq!(s.user_id_by_username(&stray.username).unwrap(), None);

    // Moved, audited with names; an unknown group changes nothing and writes no row.
    // error_message is a CLOB on Oracle: compared through DBMS_LOB there.
    let said = |text: &str| {
        let sql = format!(
            "SELECT COUNT(*) FROM pf_audit_log WHERE action = 'conf.group' AND {}",
            match s.backend_name() {
                "oracle" => format!("DBMS_LOB.COMPARE(error_message, TO_CLOB('{text}')) = 0"),
                _ => format!("error_message = '{text}'"),
            }
        );
        (h.raw_text)(&sql).as_deref() == Some("1")
    };
    s.set_user_group(&u.user_id, Some(&b), &audit("conf.group")).unwrap();
    assert!(said("group: conf_bulk_a -> conf_bulk_b"));
    let rows = count(s, "conf.group");
    let refused = s.set_user_group(&u.user_id, Some("01JNOSUCHGROUP000000000000"), &audit("conf.group"));
    assert!(matches!(refused, Err(AppError::Invalid(_))), "{refused:?}");
    assert_eq!(count(s, "conf.group"), rows);
    assert_eq!(s.user_profile(&u.user_id).unwrap().group.map(|g| g.group_name).as_deref(), Some("conf_bulk_b"));
    s.set_user_group(&u.user_id, None, &audit("conf.group")).unwrap();
    assert!(said("group: conf_bulk_b -> none"));
    assert_eq!(s.user_profile(&u.user_id).unwrap().group, None);
    assert!(matches!(s.set_user_group(&UserId::new(), Some(&a), &audit("conf.group")), Err(AppError::NotFound(_))));
}

fn bulk_batches(s: &dyn Storage) {
    let t = |x: &str| Value::Text(x.to_string());
    let at = Value::Time(chrono::Utc::now());
    let group = |id: &str, name: &str| vec![t(id), t(name), Value::Int(3), at.clone()];
    let groups = |rows: Vec<Vec<Value>>| TableRows {
        table: "pf_user_groups".into(),
        columns: &["group_id", "group_name", "priority", "created_at"],
        rows,
    };
    let flags = TableRows {
        table: "pf_feature_flags".into(),
        columns: &["flag_id", "flag_key", "flag_name", "is_system_wide"],
        rows: vec![vec![t("01JBULKFLAG000000000000001"), t("conf_bulk_flag"), t("Bulk flag"), Value::Null]],
    };
    let batch_audit = |n: &str| AuditEntry {
        entity_id: Some(n.into()),
        request_path: Some("conformance bulk".into()),
        ..audit("data.generate")
    };
    let g1 = groups(vec![
        group("01JBULKGROUP00000000000001", "conf_bulk_a"),
        group("01JBULKGROUP00000000000002", "conf_bulk_b"),
    ]);
    s.insert_batch(&[g1.clone(), flags], &batch_audit("bulk:0")).unwrap();
    assert_eq!(s.audited_entities("data.generate", "conformance bulk").unwrap(), vec!["bulk:0".to_string()]);

    // A batch that collides midway: nothing of it is written, not even its audit row.
    let before = s.recent_audit(10_000).unwrap().len();
    let clash = groups(vec![
        group("01JBULKGROUP00000000000003", "conf_bulk_c"),
        group("01JBULKGROUP00000000000001", "conf_bulk_a"),
    ]);
    assert!(matches!(s.insert_batch(&[clash], &batch_audit("bulk:1")), Err(AppError::Conflict(_))));
    assert_eq!(s.recent_audit(10_000).unwrap().len(), before);
    let retry = groups(vec![group("01JBULKGROUP00000000000003", "conf_bulk_c")]);
    s.insert_batch(&[retry], &batch_audit("bulk:1")).unwrap();
    let mut done = s.audited_entities("data.generate", "conformance bulk").unwrap();
    done.sort();
    assert_eq!(done, ["bulk:0", "bulk:1"]);

    // Names are spliced into SQL: anything but a plain identifier is refused.
    let mut evil = g1.clone();
    evil.table = "pf_user_groups; DROP TABLE pf_users".into();
    assert!(matches!(s.insert_batch(&[evil], &batch_audit("bulk:2")), Err(AppError::Invalid(_))));

    // A user's own tables: only through fill_user_tables, and only that user's.
    let owner = Username::parse("conf_bulk_owner").unwrap();
    s.provision_user_tables(&owner, &audit("user_tables.provision")).unwrap();
    let skills = |table: &str| TableRows {
        table: table.into(),
        columns: &["id", "skill_name"],
        rows: vec![vec![t("s1"), t("Auditing")], vec![t("s2"), t("IFRS")]],
    };
    let other = skills("pf_user_conf_alice_skills");
    assert!(matches!(s.fill_user_tables(&owner, &[other], &audit("data.generate")), Err(AppError::Invalid(_))));
    s.fill_user_tables(&owner, &[skills("pf_user_conf_bulk_owner_skills")], &audit("data.generate")).unwrap();
    let set = s.user_table_set(&owner).unwrap().unwrap();
    let rows = set.tables.iter().find(|x| x.name == "pf_user_conf_bulk_owner_skills").unwrap().rows;
    assert_eq!(rows, 2);
    s.drop_user_tables(&owner, &audit("user_tables.drop")).unwrap();
}

/// `pf_mv_user_stats`: rebuilt on demand, on schedule when due, by one instance at a
/// time, with the run recorded where every instance reads it.
fn statistics_refresh(h: &Harness) {
    let s = h.storage.as_ref();
    let id = add_user(s, "stats_user", "active", &[]);
    let idle = add_user(s, "stats_idle", "active", &[]);
    let event = |n: u32, session: &str| {
        vec![
            Value::Text(format!("01JSTATSEVENT00000000000{n:02}")),
            Value::Text(id.0.clone()),
            Value::Text("page_view".into()),
            Value::Text(session.into()),
            Value::Time(chrono::DateTime::parse_from_rfc3339(&format!("2026-01-0{n}T10:00:00Z")).unwrap().into()),
        ]
    };
    let events = TableRows {
        table: "pf_user_analytics".into(),
        columns: &["analytics_id", "user_id", "event_type", "session_id", "event_timestamp"],
        rows: vec![event(1, "s1"), event(2, "s1"), event(3, "s2")],
    };
    s.insert_batch(&[events], &AuditEntry { entity_id: Some("events".into()), ..audit("data.import") }).unwrap();
    assert_eq!(s.user_activity(&id).unwrap(), None, "not refreshed yet");

    let begins = count(s, "user_stats.refresh.begin");
    let run = s.refresh_user_stats(RefreshWhen::Now, &audit("user_stats.refresh")).unwrap().expect("a run");
    assert_eq!(run.status.as_deref(), Some("ok"));
    assert!(run.finished_at.is_some() && run.duration_ms.is_some());
    assert_eq!(s.last_stats_refresh().unwrap(), run, "recorded for every instance to read");
    assert_eq!((count(s, "user_stats.refresh.begin"), count(s, "user_stats.refresh")), (begins + 1, begins + 1));
    let a = s.user_activity(&id).unwrap().expect("in the statistics");
    assert_eq!((a.total_sessions, a.total_events), (2, 3));
    assert_eq!(a.first_activity.unwrap().to_rfc3339(), "2026-01-01T10:00:00+00:00");
    assert_eq!(a.last_activity.unwrap().to_rfc3339(), "2026-01-03T10:00:00+00:00");
    let i = s.user_activity(&idle).unwrap().expect("idle users are in it too");
    assert_eq!((i.total_sessions, i.total_events, i.last_activity), (0, 0, None));

    // The schedule: not due an hour after a refresh; due after a minute's period.
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(s.refresh_user_stats(RefreshWhen::Due(hour), &audit("user_stats.refresh")).unwrap(), None);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let soon = std::time::Duration::from_millis(10);
    assert!(s.refresh_user_stats(RefreshWhen::Due(soon), &audit("user_stats.refresh")).unwrap().is_some());

    // Another instance holds the refresh: the scheduled run steps aside, an asked-for
    // one says so; neither writes an audit row.
    (h.raw)(&format!(
        "UPDATE pf_console_jobs SET lease_owner = 'another-instance', lease_until = {} WHERE job_name = 'user_stats'",
        h.far_future
    ));
    let other = (h.another_instance)();
    let audited = s.recent_audit(100_000).unwrap().len();
    let asked = other.refresh_user_stats(RefreshWhen::Now, &audit("user_stats.refresh"));
    assert!(matches!(asked, Err(AppError::Conflict(_))), "{asked:?}");
    assert_eq!(other.refresh_user_stats(RefreshWhen::Due(soon), &audit("user_stats.refresh")).unwrap(), None);
    assert_eq!(s.recent_audit(100_000).unwrap().len(), audited);
    (h.raw)("UPDATE pf_console_jobs SET lease_owner = NULL, lease_until = NULL WHERE job_name = 'user_stats'");
}

fn overview_counts(s: &dyn Storage) {
    let now = chrono::Utc::now();
    let o = s.overview(now).unwrap();
    let total: i64 = o.users_by_status.iter().map(|c| c.count).sum();
    assert_eq!(total, s.search_users(&UserFilter { limit: 200, ..Default::default() }).unwrap().items.len() as i64);
    assert!(o.audit_events_24h > 0);
    assert_eq!(o.schema_version, VERSION);
    assert_eq!(o.backend, s.backend_name());
    assert!(o.stats_refresh.finished_at.is_some());
    assert!(s.count_admins().unwrap() >= 1);
    assert!(s.ping().is_ok());
    let p = s.pool_stats();
    assert!(p.max >= 1 && p.open <= p.max && p.in_use + p.idle == p.open);
}

/// Two instances migrating at once (`serve --migrate` on two machines): each step is
/// applied once, by one of them, with one version row and one audit row.
fn concurrent_migrations_apply_each_step_once(h: &Harness) {
    // Make the last step pending again, with real work left in it.
    (h.raw)("DROP TABLE pf_audit_chain_cuts");
    (h.raw)("DROP TABLE pf_retention_runs");
    (h.raw)("DROP INDEX idx_retention_pattern");
    (h.raw)("ALTER TABLE pf_audit_jobs DROP COLUMN verified_seq");
    (h.raw)("DELETE FROM pf_console_jobs WHERE job_name IN ('retention', 'backup')");
    (h.raw)("DELETE FROM pf_schema_version WHERE version = 19");
    let steps = count(h.storage.as_ref(), "schema.migrate");
    let instances: Vec<_> = (0..2).map(|_| (h.another_instance)()).collect();
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let runs: Vec<_> = instances
        .into_iter()
        .map(|s| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                s.migrate(&audit("schema.migrate"))
            })
        })
        .collect();
    let reports: Vec<_> = runs.into_iter().map(|r| r.join().unwrap().expect("both migrations succeed")).collect();
    let applied: Vec<&String> = reports.iter().flat_map(|r| &r.applied).collect();
    assert_eq!(applied, ["0019_retention"], "{reports:?}");
    let s = h.storage.as_ref();
    assert_eq!(count(s, "schema.migrate"), steps + 1, "one audit row for the step");
    assert_eq!(s.schema_version().unwrap(), VERSION);
    assert_eq!(s.schema_check().unwrap(), vec![]);
}

/// Drift beyond missing objects: indexes (columns, uniqueness, expressions), CHECK
/// and foreign-key constraints, defaults and NOT NULL, on both backends.
fn schema_check_reports_changed_definitions(h: &Harness) {
    let s = h.storage.as_ref();
    let drift = || -> Vec<String> { s.schema_check().unwrap().into_iter().map(|d| d.0).collect() };
    (h.raw)("DROP INDEX idx_sso_provider");
    (h.raw)("CREATE INDEX idx_sso_provider ON pf_sso_accounts(provider, user_id)");
    (h.raw)("DROP INDEX idx_invitation_expires");
    (h.raw)("CREATE UNIQUE INDEX idx_invitation_expires ON pf_user_invitations(expires_at)");
    (h.raw)("DROP INDEX idx_users_status_name");
    (h.raw)("CREATE INDEX idx_users_status_name ON pf_users(account_status, username)");
    (h.raw)("DROP TABLE pf_console_login_state");
    (h.raw)(
        "CREATE TABLE pf_console_login_state (
            user_id VARCHAR2(26) PRIMARY KEY,
            failed_attempts NUMBER(5) DEFAULT 1,
            last_failed_at TIMESTAMP,
            locked_until TIMESTAMP CHECK (locked_until IS NOT NULL OR failed_attempts < 5),
            FOREIGN KEY (user_id) REFERENCES pf_users(user_id)
        )",
    );
    let got = drift();
    for want in [
        "index idx_sso_provider is ON pf_sso_accounts(provider, user_id), expected ON pf_sso_accounts(provider)",
        "index idx_invitation_expires is UNIQUE ON pf_user_invitations(expires_at), expected ON pf_user_invitations(expires_at)",
        "table pf_console_login_state: column failed_attempts is NUMBER(5) DEFAULT 1, expected NUMBER(5) NOT NULL DEFAULT 0",
        "table pf_console_login_state: unexpected CHECK (locked_until is not null or failed_attempts < 5)",
        "table pf_console_login_state: missing FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE",
        "table pf_console_login_state: unexpected FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE NO ACTION",
    ] {
        assert!(got.iter().any(|d| d == want), "expected drift {want:?} in {got:#?}");
    }
    assert!(
        got.iter()
            .any(|d| d.starts_with("index idx_users_status_name is ON pf_users(account_status, username), expected")),
        "{got:#?}"
    );
}

#[test]
fn sqlite_conforms() {
    use pathfinder_server::config::DatabaseUrl;
    let (s, dir) = common::sqlite();
    let path = dir.path().join("pf.db");
    let url = DatabaseUrl::Sqlite(path.clone());
    let (again, with, read, raw, cli) = (path.clone(), url.clone(), path.clone(), path.clone(), path.clone());
    let harness = Harness {
        storage: s,
        another_instance: Box::new(move || {
            Arc::new(pathfinder_server::storage::Store::open_sqlite(&again).unwrap()) as Arc<dyn Storage>
        }),
        raw: Box::new(move |sql| {
            // As another tool would: the file, without the console's functions.
            rusqlite::Connection::open(&raw).unwrap().execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }),
        far_future: "'2999-01-01 00:00:00.000000'",
        long_ago: "'2000-01-01 00:00:00.000000'",
        date: |d| format!("'{d}'"),
        keyring: pathfinder_server::config::keyring(&url).unwrap(),
        open_with: Box::new(move |k| pathfinder_server::storage::open(&with, k).unwrap()),
        raw_text: Box::new(move |sql| {
            let c = rusqlite::Connection::open(&read).unwrap();
            c.query_row(sql, [], |r| {
                Ok(match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Null => None,
                    rusqlite::types::ValueRef::Integer(i) => Some(i.to_string()),
                    v => Some(v.as_str()?.to_string()),
                })
            })
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }),
        cli: Box::new(move |args, env| common::cli(&format!("sqlite:{}", cli.display()), args, env)),
    };
    conformance(&harness);
}

/// Ignored (and so reported as skipped) unless PF_ORACLE_TEST_URL was set when the
/// tests were built; `scripts/test` says so in its summary.
#[test]
#[cfg_attr(not(pf_oracle_test), ignore = "set PF_ORACLE_TEST_URL to run the conformance suite on Oracle")]
fn oracle_conforms() {
    let url = std::env::var("PF_ORACLE_TEST_URL").expect("PF_ORACLE_TEST_URL is set");
    run_oracle(&url);
}

#[cfg(feature = "oracle")]
fn run_oracle(url: &str) {
    use pathfinder_server::config::DatabaseUrl;
    let parsed = DatabaseUrl::parse(url).expect("PF_ORACLE_TEST_URL is an oracle:// URL");
    let DatabaseUrl::Oracle(o) = parsed.clone() else { panic!("PF_ORACLE_TEST_URL is not an oracle:// URL") };
    // The suite's master key: PF_MASTER_KEY when set, else a fresh one for this run.
    let master = match std::env::var("PF_MASTER_KEY") {
        Ok(k) => MasterKey::parse(&k).expect("PF_MASTER_KEY is a master key"),
        Err(_) => MasterKey::generate(),
    };
    let keyring = Keyring::new(Some(master), vec![]);
    let s = pathfinder_server::storage::open(&parsed, keyring.clone()).expect("connect to Oracle");
    s.migrate(&audit("schema.migrate")).expect("migrate Oracle");
    let (again, with, o2) = (parsed.clone(), parsed.clone(), o.clone());
    let k2 = keyring.clone();
    let harness = Harness {
        storage: s,
        another_instance: Box::new(move || pathfinder_server::storage::open(&again, k2.clone()).unwrap()),
        raw: Box::new(move |sql| {
            let c = oracle::Connection::connect(&o.user, &o.password, &o.connect_string).unwrap();
            c.execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.commit().unwrap();
        }),
        far_future: "TIMESTAMP '2999-01-01 00:00:00'",
        long_ago: "TIMESTAMP '2000-01-01 00:00:00'",
        date: |d| format!("DATE '{d}'"),
        keyring,
        open_with: Box::new(move |k| pathfinder_server::storage::open(&with, k).unwrap()),
        raw_text: Box::new(move |sql| {
            let c = oracle::Connection::connect(&o2.user, &o2.password, &o2.connect_string).unwrap();
            c.query_row_as::<Option<String>>(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"))
        }),
        cli: {
            let url = url.to_string();
            Box::new(move |args, env| common::cli(&url, args, env))
        },
    };
    conformance(&harness);
}

#[cfg(not(feature = "oracle"))]
fn run_oracle(_url: &str) {
    panic!("PF_ORACLE_TEST_URL is set but this test build has no Oracle backend: run with --features oracle");
}

// ---- Field encryption (issue 8) ----

fn sensitive(phone: &str, born: &str, gender: &str, nationality: &str) -> SensitiveFields {
    let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
    SensitiveFields {
        phone_number: some(phone),
        date_of_birth: some(born),
        gender: some(gender),
        nationality: some(nationality),
    }
}

fn undecryptable(r: Result<SensitiveFields, AppError>) -> bool {
    matches!(r, Err(AppError::Conflict(_)))
}

/// An SSO link for `user`, as the product would write it (tokens come later, encrypted).
fn add_sso_link(s: &dyn Storage, id: &str, user: &UserId) {
    let t = |x: &str| Value::Text(x.to_string());
    let rows = TableRows {
        table: "pf_sso_accounts".into(),
        columns: &["sso_account_id", "user_id", "provider", "provider_user_id"],
        rows: vec![vec![t(id), t(user.as_str()), t("google"), t(&format!("g-{id}"))]],
    };
    s.insert_batch(&[rows], &audit("sso.link")).unwrap();
}

fn field_encryption_round_trips_and_refuses_tampering(h: &Harness) {
    let s = h.storage.as_ref();
    let alice = add_user(s, "enc_alice", "active", &[]);
    let bob = add_user(s, "enc_bob", "active", &[]);
    assert_eq!(s.key_of(&alice, 90).unwrap(), None, "no key before the first encrypted field");
    let fa = sensitive("+1 555 0100", "1990-02-03", "female", "Canadian");
    let fb = sensitive("+44 20 7946 0000", "1985-12-31", "", "British");
    s.set_sensitive_fields(&alice, &fa, &audit("user.sensitive.update")).unwrap();
    s.set_sensitive_fields(&bob, &fb, &audit("user.sensitive.update")).unwrap();

    // Round trip, and every read in the clear is audited.
    let reads = count(s, "user.sensitive.read");
    assert_eq!(s.read_sensitive_fields(&alice, &audit("user.sensitive.read")).unwrap(), fa);
    assert_eq!(s.read_sensitive_fields(&bob, &audit("user.sensitive.read")).unwrap(), fb);
    assert_eq!(count(s, "user.sensitive.read"), reads + 2);
    let profile = s.user_profile(&alice).unwrap();
    assert_eq!(profile.sensitive_present, ["phone number", "date of birth", "gender", "nationality"]);
    assert_eq!(s.user_profile(&bob).unwrap().sensitive_present, ["phone number", "date of birth", "nationality"]);

    // Stored encrypted, the seed's columns empty, a key of version 0 under the master key.
    let stored = (h.raw_text)("SELECT phone_number_enc FROM pf_users WHERE username = 'enc_alice'").unwrap();
    // The whole plaintext, not a piece of it: a random ciphertext's base64 holds
    // "555" about once in 4,500 runs.
    assert!(stored.starts_with("pf1:0:") && !stored.contains("+1 555 0100"), "{stored}");
    let plain = "SELECT COUNT(*) FROM pf_users WHERE username LIKE 'enc%' AND (phone_number IS NOT NULL OR date_of_birth IS NOT NULL OR gender IS NOT NULL OR nationality IS NOT NULL)";
    assert_eq!((h.raw_text)(plain).as_deref(), Some("0"));
    let key = s.key_of(&alice, 90).unwrap().unwrap();
    assert_eq!((key.algorithm.as_str(), key.rotation_count, key.overdue), ("AES-256-GCM", 0, false));
    assert_eq!(key.master_key_id.as_deref(), h.keyring.current_id());

    // Bad input: a clear error, nothing changed, no audit row.
    let rows = s.recent_audit(100_000).unwrap().len();
    for bad in [
        sensitive("call me maybe", "", "", ""),
        sensitive("+1 555 0100 0100 0100 01", "", "", ""),
        sensitive("", "1990-02-30", "", ""),
        sensitive("", "2999-01-01", "", ""),
    ] {
        assert!(matches!(
            s.set_sensitive_fields(&alice, &bad, &audit("user.sensitive.update")),
            Err(AppError::Invalid(_))
        ));
    }
    assert!(matches!(
        s.set_sensitive_fields(&UserId::new(), &fa, &audit("user.sensitive.update")),
        Err(AppError::NotFound(_))
    ));
    assert_eq!(s.recent_audit(100_000).unwrap().len(), rows);
    assert_eq!(s.read_sensitive_fields(&alice, &audit("user.sensitive.read")).unwrap(), fa);

    // MFA secret and SSO tokens: same envelope, readable by the server only.
    s.set_mfa_secret(&alice, Some("JBSWY3DPEHPK3PXP"), &audit("user.mfa.set")).unwrap();
    assert_eq!(s.mfa_secret(&alice).unwrap().as_deref(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(s.read_sensitive_fields(&alice, &audit("user.sensitive.read")).unwrap(), fa, "other fields kept");
    add_sso_link(s, "01JENCSSO00000000000000001", &alice);
    let long_token = "t".repeat(2000);
    s.set_sso_tokens("01JENCSSO00000000000000001", Some(&long_token), Some("refresh-1"), &audit("sso.tokens.set"))
        .unwrap();
    assert_eq!(
        s.sso_tokens("01JENCSSO00000000000000001").unwrap(),
        (Some(long_token.clone()), Some("refresh-1".to_string()))
    );
    let token = (h.raw_text)(
        "SELECT access_token_enc FROM pf_sso_accounts WHERE sso_account_id = '01JENCSSO00000000000000001'",
    );
    assert!(token.is_some_and(|t| t.starts_with("pf1:0:") && !t.contains("ttttt")));

    // A changed ciphertext, one moved to another column or row, one relabelled with
    // another key version: each is refused, by name, never read as something else.
    let flip = "UPDATE pf_users SET gender_enc = SUBSTR(gender_enc, 1, 12) || CASE WHEN SUBSTR(gender_enc, 13, 1) = 'A' THEN 'B' ELSE 'A' END || SUBSTR(gender_enc, 14) WHERE username = 'enc_alice'";
    let moved_column = "UPDATE pf_users SET gender_enc = nationality_enc WHERE username = 'enc_alice'";
    let moved_row = "UPDATE pf_users SET gender_enc = (SELECT nationality_enc FROM pf_users WHERE username = 'enc_bob') WHERE username = 'enc_alice'";
    let relabelled =
        "UPDATE pf_users SET gender_enc = REPLACE(gender_enc, 'pf1:0:', 'pf1:1:') WHERE username = 'enc_alice'";
    for damage in [flip, moved_column, moved_row, relabelled] {
        (h.raw)(damage);
        let read = s.read_sensitive_fields(&alice, &audit("user.sensitive.read"));
        assert!(undecryptable(read.clone()), "{damage}: {read:?}");
        // A damaged value can be overwritten: what is replaced is not decrypted.
        s.set_sensitive_fields(&alice, &fa, &audit("user.sensitive.update")).unwrap();
        assert_eq!(s.read_sensitive_fields(&alice, &audit("user.sensitive.read")).unwrap(), fa);
    }
    (h.raw)(relabelled);
    let said = s.read_sensitive_fields(&alice, &audit("user.sensitive.read")).unwrap_err().to_string();
    assert!(said.contains("key version 1") && said.contains("version 0"), "{said}");
    s.set_sensitive_fields(&alice, &fa, &audit("user.sensitive.update")).unwrap();
    // A wrapped key copied to another user's row does not unwrap there.
    (h.raw)("UPDATE pf_encryption_keys SET key_encrypted = (SELECT key_encrypted FROM pf_encryption_keys WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_alice')), key_salt = (SELECT key_salt FROM pf_encryption_keys WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_alice')) WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_bob')");
    assert!(undecryptable(s.read_sensitive_fields(&bob, &audit("user.sensitive.read"))));
}

fn key_rotation_re_encrypts_every_field(h: &Harness) {
    let s = h.storage.as_ref();
    let carol = add_user(s, "enc_carol", "active", &[]);
    let f = sensitive("+1 555 0199", "1970-01-01", "", "Irish");
    s.set_sensitive_fields(&carol, &f, &audit("user.sensitive.update")).unwrap();
    s.set_mfa_secret(&carol, Some("MFASECRET"), &audit("user.mfa.set")).unwrap();
    add_sso_link(s, "01JENCSSO00000000000000002", &carol);
    s.set_sso_tokens("01JENCSSO00000000000000002", Some("access-2"), None, &audit("sso.tokens.set")).unwrap();

    let rotations = count(s, "key.rotate");
    let k1 = s.rotate_user_key(&carol, &audit("key.rotate")).unwrap();
    let k2 = s.rotate_user_key(&carol, &audit("key.rotate")).unwrap();
    assert_eq!((k1.rotation_count, k2.rotation_count), (1, 2));
    assert!(k2.last_rotated.is_some() && !k2.overdue);
    assert_eq!(count(s, "key.rotate"), rotations + 2);
    assert_eq!(s.read_sensitive_fields(&carol, &audit("user.sensitive.read")).unwrap(), f);
    assert_eq!(s.mfa_secret(&carol).unwrap().as_deref(), Some("MFASECRET"));
    assert_eq!(s.sso_tokens("01JENCSSO00000000000000002").unwrap(), (Some("access-2".into()), None));
    let stored = (h.raw_text)("SELECT mfa_secret_enc FROM pf_users WHERE username = 'enc_carol'").unwrap();
    assert!(stored.starts_with("pf1:2:"), "{stored}");
    let token = (h.raw_text)(
        "SELECT access_token_enc FROM pf_sso_accounts WHERE sso_account_id = '01JENCSSO00000000000000002'",
    );
    assert!(token.is_some_and(|t| t.starts_with("pf1:2:")));

    let nobody = add_user(s, "enc_nokey", "active", &[]);
    assert!(matches!(s.rotate_user_key(&nobody, &audit("key.rotate")), Err(AppError::NotFound(_))));
    assert_eq!(count(s, "key.rotate"), rotations + 2, "a refused rotation writes no audit row");

    // The inventory: every key, oldest rotation first, keyset pages; overdue by policy.
    let inv = s.key_inventory(90, None, 2).unwrap();
    assert!(inv.total >= 3 && inv.keys.items.len() == 2 && inv.keys.next_cursor.is_some());
    let mut seen = inv.keys.items.clone();
    let mut after = inv.keys.next_cursor;
    while let Some(a) = after {
        let page = s.key_inventory(90, Some(&a), 2).unwrap();
        seen.extend(page.keys.items);
        after = page.keys.next_cursor;
    }
    assert_eq!(seen.len() as i64, inv.total);
    assert_eq!(seen.last().map(|k| k.username.as_str()), Some("enc_carol"), "the latest rotation last");
    let ages: Vec<_> = seen.iter().map(|k| k.last_rotated.or(k.created_at)).collect();
    assert!(ages.windows(2).all(|w| w[0] <= w[1]), "{ages:?}");
    assert_eq!(inv.overdue, 0);
    (h.raw)(&format!(
        "UPDATE pf_encryption_keys SET created_at = {} WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_bob')",
        h.long_ago
    ));
    let inv = s.key_inventory(90, None, 10).unwrap();
    assert_eq!(inv.overdue, 1);
    assert_eq!((inv.keys.items[0].username.as_str(), inv.keys.items[0].overdue), ("enc_bob", true));
    assert!(matches!(s.key_inventory(90, Some("garbage"), 10), Err(AppError::Invalid(_))));
}

/// Every key re-wrapped under a new master key; fields untouched; the old master key
/// no longer needed; and back again, so the rest of the suite reads with its own key.
fn master_key_rotation_rewraps_every_key(h: &Harness) {
    let s = h.storage.as_ref();
    let dave = add_user(s, "enc_dave", "active", &[]);
    let f = sensitive("+1 555 0142", "", "", "");
    s.set_sensitive_fields(&dave, &f, &audit("user.sensitive.update")).unwrap();
    let field_before = (h.raw_text)("SELECT phone_number_enc FROM pf_users WHERE username = 'enc_dave'");
    let old = h.keyring.current().unwrap().clone();
    let new = MasterKey::generate();
    let keys: i64 = s.keys_by_master_key().unwrap().iter().map(|k| k.count).sum();

    let rotating = (h.open_with)(Keyring::new(Some(new.clone()), vec![old.clone()]));
    // enc_bob's key was damaged above: it is left as it is and reported, the rest done.
    assert_eq!(rewrap_all(rotating.as_ref(), 2), (keys as u64 - 1, 1));
    let by_master = rotating.keys_by_master_key().unwrap();
    assert_eq!(by_master[0], StatusCount { status: new.id().into(), count: keys - 1 });
    assert_eq!(by_master[1], StatusCount { status: old.id().into(), count: 1 });
    assert_eq!((h.raw_text)("SELECT phone_number_enc FROM pf_users WHERE username = 'enc_dave'"), field_before);
    assert_eq!(rewrap_all(rotating.as_ref(), 2), (0, 1), "a second pass has nothing more to do");
    let bob = s.user_id_by_username(&Username::parse("enc_bob").unwrap()).unwrap().unwrap();
    s.delete_user(&bob, &audit("user.delete")).unwrap();
    let keys = keys - 1;

    let only_new = (h.open_with)(Keyring::new(Some(new.clone()), vec![]));
    assert_eq!(only_new.read_sensitive_fields(&dave, &audit("user.sensitive.read")).unwrap(), f);
    let only_old = (h.open_with)(Keyring::new(Some(old.clone()), vec![]));
    let refused = only_old.read_sensitive_fields(&dave, &audit("user.sensitive.read")).unwrap_err().to_string();
    assert!(refused.contains(new.id()), "says which master key is missing: {refused}");

    let back = (h.open_with)(Keyring::new(Some(old.clone()), vec![new]));
    assert_eq!(rewrap_all(back.as_ref(), 1000), (keys as u64, 0));
    assert_eq!(s.read_sensitive_fields(&dave, &audit("user.sensitive.read")).unwrap(), f);
}

/// (re-wrapped, failed)
fn rewrap_all(s: &dyn Storage, batch: u32) -> (u64, u64) {
    let audit = audit("key.master.rewrap");
    let all = pathfinder::storage::walk_batches(|after| s.rewrap_keys(after, batch, &audit), |_| {}).unwrap();
    (all.changed, all.failed)
}

/// Deleting a user destroys their key: the live database can no longer decrypt what
/// any copy of their fields holds. A copy taken before (a backup) holds the wrapped
/// key too: it opens with the master key of its time, and no longer once that
/// master key has been rotated away and destroyed.
fn deleting_a_user_shreds_their_key(h: &Harness) {
    let s = h.storage.as_ref();
    let erin = add_user(s, "enc_erin", "active", &[]);
    let f = sensitive("+1 555 0123", "2000-05-05", "", "");
    s.set_sensitive_fields(&erin, &f, &audit("user.sensitive.update")).unwrap();
    // The backup: the key row and the field, as a copy of the database holds them.
    let q = |sql: &str| (h.raw_text)(&sql.replace("{id}", erin.as_str())).unwrap();
    let wrapped = WrappedKey {
        key_encrypted: q("SELECT key_encrypted FROM pf_encryption_keys WHERE user_id = '{id}'"),
        key_salt: q("SELECT key_salt FROM pf_encryption_keys WHERE user_id = '{id}'"),
        master_key_id: q("SELECT master_key_id FROM pf_encryption_keys WHERE user_id = '{id}'"),
    };
    let phone = q("SELECT phone_number_enc FROM pf_users WHERE user_id = '{id}'");
    let field = FieldRef { table: "pf_users", column: "phone_number", row_id: erin.as_str() };

    let owner = Username::parse("enc_erin").unwrap();
    s.provision_user_tables(&owner, &audit("user_tables.provision")).unwrap();
    assert!(matches!(s.delete_user(&erin, &audit("user.delete")), Err(AppError::Conflict(_))), "tables first");
    s.drop_user_tables(&owner, &audit("user_tables.drop")).unwrap();
    // Rows of hers in shared tables, one of them without a foreign key (CPA PERT).
    (h.raw)(&format!(
        "INSERT INTO pf_cpa_pert_reports (id, user_id, report_period_start, report_period_end) VALUES ('RPTERIN', '{}', {}, {})",
        erin.0,
        (h.date)("2026-01-01"),
        (h.date)("2026-06-30")
    ));
    (h.raw)(&format!("INSERT INTO pf_user_preferences (preference_id, user_id) VALUES ('PREFERIN', '{}')", erin.0));
    let deletes = count(s, "user.delete");
    s.delete_user(&erin, &audit("user.delete")).unwrap();
    assert_eq!(count(s, "user.delete"), deletes + 1);
    let said = q("SELECT COUNT(*) FROM pf_audit_log WHERE action = 'user.delete'
                  AND error_message LIKE 'removed: pf_users 1, pf_cpa_pert_reports 1, pf_user_preferences 1%'");
    assert_eq!(said, "1", "the audit row says what went");
    assert_eq!(
        q("SELECT COUNT(*) FROM pf_cpa_pert_reports WHERE user_id = '{id}'"),
        "0",
        "rows without a foreign key go too"
    );
    assert_eq!(q("SELECT COUNT(*) FROM pf_user_preferences WHERE user_id = '{id}'"), "0");
    assert!(matches!(s.user_profile(&erin), Err(AppError::NotFound(_))));
    assert_eq!(q("SELECT COUNT(*) FROM pf_encryption_keys WHERE user_id = '{id}'"), "0");
    assert!(matches!(s.delete_user(&erin, &audit("user.delete")), Err(AppError::NotFound(_))));

    // The copy, with the master key of its time: readable (for as long as that key exists).
    let key = DataKey::unwrap(&h.keyring, &wrapped, erin.as_str(), 0).unwrap();
    assert_eq!(key.open(field, &phone).unwrap(), "+1 555 0123");
    // After a master-key rotation, once the old master key is destroyed: unreadable.
    let after_rotation = Keyring::new(Some(MasterKey::generate()), vec![]);
    assert!(DataKey::unwrap(&after_rotation, &wrapped, erin.as_str(), 0).is_err());
}

/// `rotate-keys --all` and `rotate-master-key` killed at each step: every field of
/// every user stays readable, and running the command again finishes the work.
fn rotation_killed_at_every_step_leaves_everything_readable(h: &Harness) {
    let s = h.storage.as_ref();
    let mut users = Vec::new();
    for i in 0..3 {
        let id = add_user(s, &format!("enc_kill_{i}"), "active", &[]);
        let f = sensitive(&format!("+1 555 01{i}0"), "1999-09-09", "", "");
        s.set_sensitive_fields(&id, &f, &audit("user.sensitive.update")).unwrap();
        users.push((id, f));
    }
    let old = h.keyring.current().unwrap().clone();
    let env_old = [("PF_MASTER_KEY", old.to_hex().to_string())];
    let readable = |s: &dyn Storage| {
        for (id, f) in &users {
            assert_eq!(&s.read_sensitive_fields(id, &audit("user.sensitive.read")).unwrap(), f);
        }
    };
    for point in ["key.rotate.unwrapped", "key.rotate.fields_written", "key.rotate.key_written", "key.rotate.committed"]
    {
        let versions_before = key_versions(s);
        let out =
            (h.cli)(&["rotate-keys", "--all"], &[&env_old[..], &[("PF_TEST_CRASH_AT", format!("{point}:2"))]].concat());
        assert!(!out.status.success() && out.status.code().is_none(), "{point}: killed, {out:?}");
        // The dead run holds the job's lease (two minutes): another run is refused until it runs out.
        let refused = (h.cli)(&["rotate-keys", "--all"], &env_old);
        assert_eq!(refused.status.code(), Some(2), "{refused:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("already running"), "{refused:?}");
        (h.raw)(&format!("UPDATE pf_console_jobs SET lease_until = {} WHERE job_name = 'key_rotation'", h.long_ago));
        let fresh = (h.open_with)(h.keyring.clone());
        readable(fresh.as_ref());
        let rotated = key_versions(fresh.as_ref()).iter().zip(&versions_before).filter(|(a, b)| a != b).count();
        let expected = if point == "key.rotate.committed" { 2 } else { 1 };
        assert_eq!(rotated, expected, "{point}: whole users only");
    }
    let out = (h.cli)(&["rotate-keys", "--all"], &env_old);
    assert!(out.status.success(), "{out:?}");
    readable(s);
    let job = s.key_inventory(90, None, 1).unwrap().rotation_job;
    assert_eq!(job.status.as_deref(), Some("ok"), "the finished run is recorded: {job:?}");

    let new = MasterKey::generate();
    let env_new = [("PF_MASTER_KEY", new.to_hex().to_string()), ("PF_MASTER_KEY_PREVIOUS", old.to_hex().to_string())];
    let both = Keyring::new(Some(new.clone()), vec![old.clone()]);
    for point in ["key.rewrap.batch_written", "key.rewrap.committed"] {
        let out = (h.cli)(&["rotate-master-key"], &[&env_new[..], &[("PF_TEST_CRASH_AT", point.to_string())]].concat());
        assert!(out.status.code().is_none(), "{point}: killed, {out:?}");
        readable((h.open_with)(both.clone()).as_ref());
    }
    let out = (h.cli)(&["rotate-master-key"], &env_new);
    assert!(out.status.success(), "{out:?}");
    readable((h.open_with)(Keyring::new(Some(new.clone()), vec![])).as_ref());
    // And back under the suite's own key.
    let back = [("PF_MASTER_KEY", old.to_hex().to_string()), ("PF_MASTER_KEY_PREVIOUS", new.to_hex().to_string())];
    assert!((h.cli)(&["rotate-master-key"], &back).status.success());
    readable(s);
}

/// A rotation run: only the overdue keys, one run at a time across instances, and a
/// caller may stop it between users.
fn rotation_runs_take_turns_and_rotate_only_what_is_due(h: &Harness) {
    let s = h.storage.as_ref();
    let ids: Vec<UserId> = (0..3)
        .map(|i| {
            let id = add_user(s, &format!("enc_run_{i}"), "active", &[]);
            s.set_sensitive_fields(&id, &sensitive("+1 555 0111", "", "", ""), &audit("user.sensitive.update"))
                .unwrap();
            id
        })
        .collect();
    for id in &ids {
        (h.raw)(&format!(
            "UPDATE pf_encryption_keys SET created_at = {}, last_rotated = NULL WHERE user_id = '{id}'",
            h.long_ago
        ));
    }
    let overdue = s.key_inventory(90, None, 1).unwrap().overdue as u64;
    assert!(overdue >= 3);
    let version = |id: &UserId| s.key_of(id, 90).unwrap().unwrap().rotation_count;
    let before: Vec<i64> = ids.iter().map(version).collect();
    let untouched = s.user_id_by_username(&Username::parse("enc_carol").unwrap()).unwrap().unwrap();
    let carol = version(&untouched);
    let scope = RotationScope::Overdue { rotation_days: 90 };
    let begun = count(s, "key.rotation_run.begin");

    // Stopped by its caller after the first user.
    let run = s.rotate_keys(scope, &audit("key.rotation_run"), &mut |_, _| false).unwrap();
    assert_eq!((run.rotated, run.interrupted), (1, true));
    // Another instance holding the run: refused, nothing rotated.
    (h.raw)(&format!(
        "UPDATE pf_console_jobs SET lease_owner = 'elsewhere', lease_until = {} WHERE job_name = 'key_rotation'",
        h.far_future
    ));
    assert!(s.key_inventory(90, None, 1).unwrap().rotation_running_since.is_some());
    let other = (h.another_instance)();
    let refused = other.rotate_keys(scope, &audit("key.rotation_run"), &mut |_, _| true);
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    (h.raw)("UPDATE pf_console_jobs SET lease_owner = NULL, lease_until = NULL WHERE job_name = 'key_rotation'");
    let runs = count(s, "key.rotation_run");
    let mut seen = Vec::new();
    let run = other
        .rotate_keys(scope, &audit("key.rotation_run"), &mut |done, total| {
            seen.push((done, total));
            true
        })
        .unwrap();
    assert_eq!((run.rotated, run.failed, run.interrupted), (overdue - 1, 0, false));
    assert_eq!(seen.last(), Some(&(overdue - 1, overdue - 1)));
    assert_eq!(s.key_inventory(90, None, 1).unwrap().overdue, 0);
    let after: Vec<i64> = ids.iter().map(version).collect();
    assert!(after.iter().zip(&before).all(|(a, b)| *a == b + 1), "{before:?} -> {after:?}");
    assert_eq!(version(&untouched), carol, "a key that is not due is left alone");
    assert_eq!(count(s, "key.rotation_run"), runs + 1, "the run's outcome row");
    assert_eq!(count(s, "key.rotation_run.begin"), begun + 2, "one intent row per run that started");
}

/// Plaintext the product writes into a seed column after the console sealed the row
/// is folded in by the next write, rotation or sealing pass, never lost; a user whose
/// ciphertext is damaged does not hold up the sealing of everyone else.
fn plaintext_written_later_is_folded_in_never_lost(h: &Harness) {
    let s = h.storage.as_ref();
    let fay = add_user(s, "enc_fay", "active", &[]);
    s.set_sensitive_fields(&fay, &sensitive("+1 555 0101", "", "", ""), &audit("user.sensitive.update")).unwrap();
    let product_writes = |sql: &str| (h.raw)(&sql.replace("{id}", fay.as_str()));
    // The product sets a phone number and an MFA secret the old way.
    product_writes(
        "UPDATE pf_users SET phone_number = '+1 555 0199', mfa_secret = 'PRODUCTSECRET' WHERE user_id = '{id}'",
    );
    let read = |s: &dyn Storage| s.read_sensitive_fields(&fay, &audit("user.sensitive.read")).unwrap();
    assert_eq!(read(s).phone_number.as_deref(), Some("+1 555 0199"), "the newer plaintext is what is read");
    // Changing another field keeps both; the seed columns are cleared, the values encrypted.
    s.set_sensitive_fields(
        &fay,
        &SensitiveFields { nationality: Some("Maltese".into()), ..read(s) },
        &audit("user.sensitive.update"),
    )
    .unwrap();
    assert_eq!(s.mfa_secret(&fay).unwrap().as_deref(), Some("PRODUCTSECRET"));
    assert_eq!(read(s).nationality.as_deref(), Some("Maltese"));
    let cleared = "SELECT COUNT(*) FROM pf_users WHERE user_id = '{id}' AND phone_number IS NULL AND mfa_secret IS NULL AND mfa_secret_enc IS NOT NULL";
    assert_eq!((h.raw_text)(&cleared.replace("{id}", fay.as_str())).as_deref(), Some("1"));
    // And a rotation folds in what came meanwhile.
    product_writes("UPDATE pf_users SET gender = 'nonbinary' WHERE user_id = '{id}'");
    s.rotate_user_key(&fay, &audit("key.rotate")).unwrap();
    assert_eq!(read(s).gender.as_deref(), Some("nonbinary"));

    // Sealing: one user's damaged ciphertext is reported, the others are sealed.
    let gus = add_user(s, "enc_gus", "active", &[]);
    s.set_sensitive_fields(&gus, &sensitive("+1 555 0102", "", "", "Swiss"), &audit("user.sensitive.update")).unwrap();
    (h.raw)(&format!("UPDATE pf_users SET nationality_enc = 'pf1:0:AAAA', gender = 'male' WHERE user_id = '{gus}'"));
    product_writes(&format!("UPDATE pf_users SET date_of_birth = {} WHERE user_id = '{{id}}'", (h.date)("1980-01-02")));
    let (sealed, failed) = s.seal_all_plaintext(&audit("fields.seal")).unwrap();
    assert_eq!((sealed, failed), (1, 1));
    assert_eq!(read(s).date_of_birth.as_deref(), Some("1980-01-02"));
    let left = format!("SELECT COUNT(*) FROM pf_users WHERE user_id = '{gus}' AND gender = 'male'");
    assert_eq!((h.raw_text)(&left).as_deref(), Some("1"), "left as found");
    s.delete_user(&gus, &audit("user.delete")).unwrap();
}

/// The last active administrator cannot be suspended or deleted, also when two
/// administrators suspend each other at the same moment; inactive admins do not count.
fn the_last_active_admin_stays(h: &Harness) {
    let s = h.storage.as_ref();
    let before = s.count_admins().unwrap();
    // Every other active admin out of the way, by SQL, as another tool might.
    (h.raw)("UPDATE pf_users SET account_status = 'deactivated' WHERE user_id IN (SELECT user_id FROM pf_console_roles WHERE role = 'admin')");
    assert_eq!(s.count_admins().unwrap(), 0, "inactive admins do not count");
    let ann = add_user(s, "adm_ann", "active", &[Role::Admin]);
    let bob = add_user(s, "adm_bob", "active", &[Role::Admin]);
    let suspend = |s: &dyn Storage, id: &UserId| s.set_account_status(id, "suspended", &audit("user.status.suspended"));
    // At the same moment, each suspends the other: one wins, one is refused.
    let results: Vec<_> = [ann.clone(), bob.clone()]
        .into_iter()
        .map(|target| {
            let other = (h.another_instance)();
            std::thread::spawn(move || suspend(other.as_ref(), &target))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(AppError::Conflict(_)))), "{results:?}");
    assert_eq!(s.count_admins().unwrap(), 1);
    let last = if results[0].is_ok() { &bob } else { &ann };
    assert!(matches!(s.delete_user(last, &audit("user.delete")), Err(AppError::Conflict(_))));
    assert!(matches!(suspend(s, last), Err(AppError::Conflict(_))));
    assert_eq!(s.user_profile(last).unwrap().summary.account_status, "active", "refused, nothing changed");
    // A non-admin is never held back by the rule.
    let cy = add_user(s, "adm_cy", "active", &[Role::Sre]);
    suspend(s, &cy).unwrap();
    (h.raw)("UPDATE pf_users SET account_status = 'active' WHERE user_id IN (SELECT user_id FROM pf_console_roles WHERE role = 'admin')");
    assert_eq!(s.count_admins().unwrap(), before + 2);
}

fn key_versions(s: &dyn Storage) -> Vec<i64> {
    let inv = s.key_inventory(90, None, 500).unwrap();
    let mut v: Vec<_> = inv.keys.items.into_iter().map(|k| (k.user_id.0, k.rotation_count)).collect();
    v.sort();
    v.into_iter().map(|(_, n)| n).collect()
}
