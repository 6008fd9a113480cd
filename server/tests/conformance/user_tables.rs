//! Per-user table sets.

use crate::common::{add_user, audit};
use crate::{count, Harness};
use pathfinder::storage::{TableRows, Value};
use pathfinder::{AppError, UserId, Username};

checks!(
    user_table_sets,
    filling_needs_a_ready_set,
    table_sets_by_user_id,
    the_products_writes_show_in_the_career_summary_after_the_statistics_refresh
);

/// The product writes a set's experiences itself; on Oracle its `career_summary` is
/// a materialized view that only a refresh brings up to date: the statistics refresh
/// does, for the sets that changed, and the page says as of when (SQLite's view is
/// always current).
fn the_products_writes_show_in_the_career_summary_after_the_statistics_refresh(h: &Harness) {
    use pathfinder::storage::RefreshWhen;
    let s = h.s();
    let bob = Username::parse("conf_career_bob").unwrap();
    s.provision_user_tables(&bob, &audit("user_tables.provision")).unwrap();
    (h.raw_in_set)(
        "conf_career_bob",
        &format!(
            "INSERT INTO pf_user_conf_career_bob_experiences (id, title, company, start_date, end_date) \
             VALUES ('p1', 'Analyst', 'RBC', {}, {})",
            (h.date)("2020-01-01"),
            (h.date)("2022-01-01")
        ),
    );
    s.refresh_user_stats(RefreshWhen::Now, &audit("stats.refresh")).unwrap();
    let career = s.user_table_set(&bob).unwrap().unwrap().career.expect("a career summary");
    assert_eq!((career.total_positions, career.years_experience_tenths), (1, Some(20)));
    assert_eq!(career.as_of.is_some(), h.oracle, "as of its refresh on Oracle; always current on SQLite");
}

fn user_table_sets(h: &Harness) {
    let s = h.s();
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

/// A user's page reaches their table set by their id: provisioned, read and dropped
/// (the drop needs their username typed); a legacy name outside the username rule
/// has none, and cannot be given one.
fn table_sets_by_user_id(h: &Harness) {
    let s = h.s();
    let id = add_user(s, "byid_owner", "active", &[]);
    assert_eq!(s.tables_of(&id).unwrap(), None);
    let set = s.provision_tables_of(&id, &audit("user_tables.provision")).unwrap();
    assert_eq!(set.status, "ready");
    let owner = Username::parse("byid_owner").unwrap();
    assert_eq!(s.tables_of(&id).unwrap(), s.user_table_set(&owner).unwrap());
    assert_eq!(s.tables_of(&id).unwrap().map(|t| t.tables.len()), Some(11));

    let before = s.recent_audit(1000).unwrap().len();
    for typed in ["", "byid", "BYID_OWNER!"] {
        let refused = s.drop_tables_of(&id, typed, &audit("user_tables.drop"));
        assert!(matches!(&refused, Err(AppError::Invalid(m)) if m.contains("byid_owner")), "{refused:?}");
    }
    assert_eq!(s.recent_audit(1000).unwrap().len(), before, "a refused drop writes nothing");
    assert!(s.tables_of(&id).unwrap().is_some());
    s.drop_tables_of(&id, "byid_owner", &audit("user_tables.drop")).unwrap();
    assert_eq!(s.tables_of(&id).unwrap(), None);
    assert_eq!(count(s, "user_tables.drop"), 1);

    assert!(matches!(s.tables_of(&UserId::new()), Err(AppError::NotFound(_))));
    // A legacy name (written by another tool) breaks the rule: no set, and none made.
    let legacy = TableRows {
        table: "pf_users".into(),
        columns: &["user_id", "username", "email", "password_hash"],
        rows: vec![vec![
            Value::Text("01JLEGACYNAME0000000000001".into()),
            Value::Text("Legacy Name".into()),
            Value::Text("legacy@example.com".into()),
            Value::Text(crate::common::NO_LOGIN_HASH.into()),
        ]],
    };
    s.insert_batch(&[legacy], &audit("data.import")).unwrap();
    let legacy = UserId("01JLEGACYNAME0000000000001".into());
    assert_eq!(s.tables_of(&legacy).unwrap(), None);
    assert!(matches!(s.provision_tables_of(&legacy, &audit("user_tables.provision")), Err(AppError::Invalid(_))));
}
