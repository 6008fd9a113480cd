//! Loading rows in batches.

use crate::common::audit;
use crate::Harness;
use pathfinder::storage::{AuditEntry, TableRows, Value};
use pathfinder::{AppError, Username};

checks!(bulk_batches);

fn bulk_batches(h: &Harness) {
    let s = h.s();
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
