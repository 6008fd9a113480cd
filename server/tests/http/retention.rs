//! Retention policies and dry runs.

use crate::harness::*;

#[tokio::test]
async fn the_retention_page_edits_policies_and_dry_runs_for_administrators_only() {
    let c = Console::new();
    let root = c.token("root").await;
    let page = c.send(Method::GET, "/retention", Some(&root), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("New policy") && page.body.contains("No run yet"), "{}", page.body);
    // Saved from the form, audited under the administrator's name.
    let saved =
        c.post("/api/save_retention", Some(&root), "table_pattern=pf_user_sessions&retention_days=30&delete=on").await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "retention.policy.create");
    assert_eq!(c.storage.audit_event(&row.id).unwrap().unwrap().username.as_deref(), Some("root"));
    assert_eq!(row.detail.as_deref(), Some("pf_user_sessions: delete after 30 days"));
    // Bad input: a sentence, nothing saved.
    for body in [
        "table_pattern=pf_user_*_skills&retention_days=30&delete=on",
        "table_pattern=pf_user_sessions&retention_days=thirty&delete=on",
        "table_pattern=pf_user_analytics&retention_days=30",
    ] {
        let r = c.post("/api/save_retention", Some(&root), body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
    }
    assert_eq!(c.storage.retention_page().unwrap().policies.len(), 1);
    let page = c.send(Method::GET, "/retention", Some(&root), None, "").await;
    assert!(page.body.contains("data-test-id=\"retention-policy\"") && page.body.contains("pf_user_sessions"));
    // A dry run answers with what a run would do, and changes nothing.
    let before = c.storage.recent_audit(1).unwrap();
    let dry = c.post("/api/run_retention", Some(&root), "dry_run=on").await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let summary: Option<pathfinder::retention::RetentionSummary> = serde_json::from_str(&dry.body).unwrap();
    let summary = summary.expect("a dry run's summary");
    assert!(summary.dry_run && summary.finished);
    assert_eq!(summary.tables.iter().map(|t| t.table.as_str()).collect::<Vec<_>>(), ["pf_user_sessions"]);
    assert_eq!(c.storage.recent_audit(1).unwrap(), before, "a dry run writes nothing");
    // Only administrators.
    for who in ["sre_sam", "comp_cy"] {
        let token = c.token(who).await;
        assert_eq!(c.send(Method::GET, "/retention", Some(&token), None, "").await.status, StatusCode::FORBIDDEN);
        assert_eq!(c.post("/api/run_retention", Some(&token), "dry_run=on").await.status, StatusCode::FORBIDDEN);
    }
}
