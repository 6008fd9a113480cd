//! The storage conformance suite: one set of checks over the storage interface,
//! run against SQLite always and against Oracle when PF_ORACLE_TEST_URL is set at
//! build time (the Oracle run is reported as ignored otherwise, never as passed).

mod common;

use common::{add_user, audit, new_user};
use pathfinder::dto::Principal;
use pathfinder::filter::{UserFilter, UserSort};
use pathfinder::storage::{AuditEntry, LoginFailure, NewSession, NewUser, RefreshWhen, Storage, TableRows, Value};
use pathfinder::{AppError, Role, SessionId, UserId, Username};
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
    a_change_whose_audit_row_fails_changes_nothing(s);
    user_table_sets(s);
    filling_needs_a_ready_set(h);
    bulk_batches(s);
    statistics_refresh(h);
    overview_counts(s);
    concurrent_migrations_apply_each_step_once(h);
    schema_check_reports_changed_definitions(h);
}

const VERSION: i64 = 9;

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
    s.record_login_success(&session, &audit("login.success")).unwrap();
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
    s.record_login_success(&session, &audit("login.success")).unwrap();
    let p: Principal = s.session_principal(&sid, &"a".repeat(64), now).unwrap().expect("live session");
    assert_eq!(p.user_id, id);
    assert_eq!(p.roles, vec![Role::Admin, Role::Compliance]);
    assert!(s.session_principal(&sid, &"b".repeat(64), now).unwrap().is_none(), "token hash must match");
    assert!(s.session_principal(&sid, &"a".repeat(64), now + chrono::Duration::hours(2)).unwrap().is_none(), "expired");
    let profile = s.user_profile(&id).unwrap();
    assert_eq!(profile.total_logins, 1);
    assert!(profile.summary.last_login.is_some());
    assert_eq!(s.list_sessions(&id).unwrap().len(), 1);

    s.set_account_status(&id, "suspended", &audit("user.suspend")).unwrap();
    assert!(s.session_principal(&sid, &"a".repeat(64), now).unwrap().is_none(), "suspended users have no session");
    s.set_account_status(&id, "active", &audit("user.activate")).unwrap();
    assert!(s.session_principal(&sid, &"a".repeat(64), now).unwrap().is_some());
    assert!(matches!(s.set_account_status(&id, "banana", &audit("x")), Err(AppError::Invalid(_))));

    s.revoke_session(&sid, &audit("logout")).unwrap();
    assert!(s.session_principal(&sid, &"a".repeat(64), now).unwrap().is_none(), "revoked");
    assert!(!s.list_sessions(&id).unwrap()[0].is_active);
    assert!(matches!(s.revoke_session(&SessionId::new(), &audit("logout")), Err(AppError::NotFound(_))));
}

fn login_failures_and_lockout(s: &dyn Storage) {
    let id = add_user(s, "lock_user", "active", &[]);
    let rec = s.login_record("lock_user").unwrap().unwrap();
    assert_eq!((rec.failed_attempts, rec.locked_until), (0, None));
    let until = chrono::Utc::now() + chrono::Duration::minutes(15);
    s.record_login_failure(&LoginFailure { user_id: Some(id.clone()), locked_until: None }, &audit("login.failure"))
        .unwrap();
    s.record_login_failure(
        &LoginFailure { user_id: Some(id.clone()), locked_until: Some(until) },
        &audit("login.failure"),
    )
    .unwrap();
    let rec = s.login_record("lock_user").unwrap().unwrap();
    assert_eq!(rec.failed_attempts, 2);
    let locked = rec.locked_until.expect("locked");
    assert!((locked - until).num_seconds().abs() <= 1);
    s.record_login_failure(&LoginFailure { user_id: None, locked_until: None }, &audit("login.failure")).unwrap();
    assert!(s.login_record("nobody_here").unwrap().is_none());
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
    let failure = LoginFailure { user_id: Some(id.clone()), locked_until: None };
    assert!(s.record_login_failure(&failure, &broken).is_err());
    assert_eq!(s.login_record("audit_target").unwrap().unwrap().failed_attempts, 0);

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
    (h.raw)("DROP TABLE pf_console_jobs");
    (h.raw)("DROP INDEX idx_mv_user_stats_user");
    (h.raw)("DELETE FROM pf_schema_version WHERE version = 9");
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
    assert_eq!(applied, ["0009_one_storage"], "{reports:?}");
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
    let (s, dir) = common::sqlite();
    let path = dir.path().join("pf.db");
    let again = path.clone();
    let harness = Harness {
        storage: s,
        another_instance: Box::new(move || {
            Arc::new(pathfinder_server::storage::Store::open_sqlite(&again).unwrap()) as Arc<dyn Storage>
        }),
        raw: Box::new(move |sql| {
            // As another tool would: the file, without the console's functions.
            rusqlite::Connection::open(&path).unwrap().execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }),
        far_future: "'2999-01-01 00:00:00.000000'",
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
    let s = pathfinder_server::storage::open(&parsed).expect("connect to Oracle");
    s.migrate(&audit("schema.migrate")).expect("migrate Oracle");
    let harness = Harness {
        storage: s,
        another_instance: Box::new(move || pathfinder_server::storage::open(&parsed).unwrap()),
        raw: Box::new(move |sql| {
            let c = oracle::Connection::connect(&o.user, &o.password, &o.connect_string).unwrap();
            c.execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.commit().unwrap();
        }),
        far_future: "TIMESTAMP '2999-01-01 00:00:00'",
    };
    conformance(&harness);
}

#[cfg(not(feature = "oracle"))]
fn run_oracle(_url: &str) {
    panic!("PF_ORACLE_TEST_URL is set but this test build has no Oracle backend: run with --features oracle");
}
