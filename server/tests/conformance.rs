//! The storage conformance suite: one set of checks over the storage interface,
//! run against SQLite always and against Oracle when PF_ORACLE_TEST_URL is set.

mod common;

use common::{add_user, audit, new_user};
use pathfinder::dto::Principal;
use pathfinder::filter::{UserFilter, UserSort};
use pathfinder::storage::{LoginFailure, NewSession, Storage};
use pathfinder::{AppError, Role, SessionId, UserId, Username};
use std::collections::BTreeSet;

fn conformance(s: &dyn Storage) {
    migrate_is_idempotent(s);
    users_create_and_conflict(s);
    users_search_and_keyset_pages(s);
    audit_rows_fit_their_columns(s);
    sessions_lifecycle(s);
    login_failures_and_lockout(s);
    user_table_sets(s);
    bulk_batches(s);
    overview_counts(s);
}

fn migrate_is_idempotent(s: &dyn Storage) {
    let again = s.migrate(&audit("schema.migrate")).expect("second migrate");
    assert!(again.applied.is_empty(), "nothing left to apply: {:?}", again.applied);
    assert_eq!(s.schema_version().unwrap(), 8);
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

use pathfinder::storage::NewUser;

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
    let mut seen = Vec::new();
    loop {
        let page = s.search_users(&f).unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|u| u.username.clone()));
        match page.next_cursor {
            Some(c) => f.after = Some(c),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..23).map(|i| format!("page_{i:02}")).collect();
    expected.extend(["page_u1".to_string(), "page_u2".to_string()]);
    assert_eq!(seen, expected, "keyset pages cover every match once, in order");

    // Descending by email, and by creation time, both complete and ordered.
    for (sort, dir) in [("email", "desc"), ("created_at", "asc"), ("created_at", "desc")] {
        let mut f = UserFilter::from_query("page_", "", "", sort, dir, "").unwrap();
        f.limit = 4;
        let mut got = Vec::new();
        loop {
            let page = s.search_users(&f).unwrap();
            got.extend(page.items);
            match page.next_cursor {
                Some(c) => f.after = Some(c),
                None => break,
            }
        }
        assert_eq!(got.len(), 25, "{sort} {dir}");
        let names: BTreeSet<_> = got.iter().map(|u| u.username.clone()).collect();
        assert_eq!(names.len(), 25, "no row twice ({sort} {dir})");
        if sort == "email" {
            assert!(got.windows(2).all(|w| w[0].email.to_lowercase() >= w[1].email.to_lowercase()));
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
    assert!(set.tables.iter().any(|t| t.name == "pf_user_conf_alice_pert_responses"));
    let again = s.provision_user_tables(&alice, &audit("user_tables.provision")).unwrap();
    assert_eq!(again, set, "provisioning is idempotent");
    assert_eq!(s.schema_check().unwrap(), vec![], "a provisioned set is no drift");

    s.drop_user_tables(&alice, &audit("user_tables.drop")).unwrap();
    assert!(s.user_table_set(&alice).unwrap().is_none());
    assert!(matches!(s.drop_user_tables(&alice, &audit("user_tables.drop")), Err(AppError::NotFound(_))));
    assert_eq!(s.schema_check().unwrap(), vec![], "dropping leaves nothing behind");
}

fn bulk_batches(s: &dyn Storage) {
    use pathfinder::storage::{BulkValue as V, TableRows};
    let t = |x: &str| V::Text(x.to_string());
    let at = V::Time(chrono::Utc::now());
    let group = |id: &str, name: &str| vec![t(id), t(name), V::Int(3), at.clone()];
    let groups = |rows: Vec<Vec<V>>| TableRows {
        table: "pf_user_groups".into(),
        columns: &["group_id", "group_name", "priority", "created_at"],
        rows,
    };
    let flags = TableRows {
        table: "pf_feature_flags".into(),
        columns: &["flag_id", "flag_key", "flag_name", "is_system_wide"],
        rows: vec![vec![t("01JBULKFLAG000000000000001"), t("conf_bulk_flag"), t("Bulk flag"), V::Null]],
    };
    let batch_audit = |n: &str| pathfinder::storage::AuditEntry {
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

fn overview_counts(s: &dyn Storage) {
    let now = chrono::Utc::now();
    let o = s.overview(now).unwrap();
    let total: i64 = o.users_by_status.iter().map(|c| c.count).sum();
    assert_eq!(total, s.search_users(&UserFilter { limit: 200, ..Default::default() }).unwrap().items.len() as i64);
    assert!(o.audit_events_24h > 0);
    assert_eq!(o.schema_version, 8);
    assert_eq!(o.backend, s.backend_name());
    assert!(s.count_admins().unwrap() >= 1);
    assert!(s.ping().is_ok());
    let p = s.pool_stats();
    assert!(p.max >= 1 && p.open <= p.max && p.in_use + p.idle == p.open);
}

#[test]
fn sqlite_conforms() {
    let (s, _dir) = common::sqlite();
    conformance(s.as_ref());
}

#[test]
fn oracle_conforms() {
    let Ok(url) = std::env::var("PF_ORACLE_TEST_URL") else {
        // Loud on purpose: scripts/test also prints this line outside the captured output.
        eprintln!(
            "ORACLE CONFORMANCE SKIPPED: set PF_ORACLE_TEST_URL=oracle://user:password@host:1521/service to run it"
        );
        return;
    };
    run_oracle(&url);
}

#[cfg(feature = "oracle")]
fn run_oracle(url: &str) {
    use pathfinder_server::config::DatabaseUrl;
    let url = DatabaseUrl::parse(url).expect("PF_ORACLE_TEST_URL is an oracle:// URL");
    let s = pathfinder_server::storage::open(&url).expect("connect to Oracle");
    s.migrate(&audit("schema.migrate")).expect("migrate Oracle");
    conformance(s.as_ref());
}

#[cfg(not(feature = "oracle"))]
fn run_oracle(_url: &str) {
    panic!("PF_ORACLE_TEST_URL is set but this test build has no Oracle backend: run with --features oracle");
}
