//! CPA PERT oversight over HTTP: compliance reviewers and administrators read the
//! reports (each read audited, a report's row naming its candidate), reveal a
//! narrative with a reason and record a review; SREs get none of it.

use crate::harness::*;
use pathfinder::storage::{BulkStore, TableRows, Value};

fn seed_report(c: &Console) -> pathfinder::UserId {
    let s = c.storage.as_ref();
    let ida = common::add_user(s, "ida_pert", "active", &[]);
    let t = |x: &str| Value::Text(x.into());
    let day = |s: &str| Value::Date(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
    let mut reports = TableRows::new(
        "pf_cpa_pert_reports",
        &[
            "id",
            "user_id",
            "report_period_start",
            "report_period_end",
            "submission_deadline",
            "route_type",
            "status",
            "employer_name",
        ],
    );
    reports.push(vec![
        t("PERTH1"),
        Value::from(&ida),
        day("2025-01-01"),
        day("2025-06-30"),
        day("2025-07-30"),
        t("EVR"),
        t("pending"),
        t("Idaho Audit LLP"),
    ]);
    let mut experiences = TableRows::new(
        "pf_cpa_pert_experiences",
        &[
            "id",
            "report_id",
            "sub_competency_id",
            "experience_title",
            "experience_start_date",
            "experience_end_date",
            "challenge",
            "actions",
            "results",
            "lessons_learned",
        ],
    );
    experiences.push(vec![
        t("PERTH1E1"),
        t("PERTH1"),
        t("AA1"),
        t("Controls walkthrough"),
        day("2025-02-01"),
        day("2025-03-01"),
        t("Ida's secret challenge"),
        t("a"),
        t("r"),
        t("l"),
    ]);
    let mut submissions = TableRows::new(
        "pf_cpa_pert_submissions",
        &["id", "report_id", "user_id", "submission_type", "submission_status"],
    );
    submissions.push(vec![t("PERTH1S"), t("PERTH1"), Value::from(&ida), t("final"), t("pending")]);
    s.insert_batch(&[reports, experiences, submissions], &common::audit("data.load")).unwrap();
    ida
}

#[tokio::test]
async fn reviewers_read_reports_reveal_narratives_and_record_reviews_and_sres_get_none() {
    let c = Console::new();
    let ida = seed_report(&c);
    for who in ["comp_cy", "root"] {
        let token = c.token(who).await;
        let list = c.send(Method::GET, "/pert?deadline=past&employer=idaho", Some(&token), None, "").await;
        assert_eq!(list.status, StatusCode::OK, "{who}");
        assert!(list.body.contains("PERTH1") && list.body.contains("ida_pert"), "{who}: {}", list.body);
        let row = c.storage.recent_audit(1).unwrap().remove(0);
        assert_eq!(row.action, "read.pert.reports");
        assert_eq!(row.detail.as_deref(), Some("deadline=past employer=idaho; 1 returned"));

        let page = c.send(Method::GET, "/pert/PERTH1", Some(&token), None, "").await;
        assert_eq!(page.status, StatusCode::OK, "{who}");
        assert!(
            page.body.contains("Internal control") && page.body.contains("hidden (25 characters)"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("secret challenge"), "the narrative stays hidden");
        let row = c.storage.recent_audit(1).unwrap().remove(0);
        assert_eq!(row.action, "read.pert.report");
        assert_eq!((row.entity_type.as_deref(), row.entity_id.as_deref()), (Some("user"), Some(ida.0.as_str())));
    }
    let missing = c.send(Method::GET, "/pert/NOPE", Some(&c.token("comp_cy").await), None, "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let cy = c.token("comp_cy").await;
    let refused = c.post("/api/reveal_pert_narrative", Some(&cy), "experience_id=PERTH1E1&reason=").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let shown =
        c.post("/api/reveal_pert_narrative", Some(&cy), "experience_id=PERTH1E1&reason=candidate+appeal+7").await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.body.contains("Ida's secret challenge"));
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "read.pert.narrative");
    assert_eq!(row.entity_id.as_deref(), Some(ida.0.as_str()));
    assert_eq!(row.detail.as_deref(), Some("experience PERTH1E1: candidate appeal 7"));

    let bad = c.post("/api/record_pert_review", Some(&cy), "submission_id=PERTH1S&action=withdrawn&comment=x").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "a candidate's action is not a review");
    let done = c
        .post("/api/record_pert_review", Some(&cy), "submission_id=PERTH1S&action=accepted&comment=Meets+the+rubric")
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.user_id.as_deref()), ("pert.review", Some(c.user_id("comp_cy").0.as_str())));
    let again = c.post("/api/record_pert_review", Some(&cy), "submission_id=PERTH1S&action=rejected&comment=No").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "nothing after accepted: {}", again.body);

    // The filtered list as CSV, its read row written before the first byte.
    let csv = c.send(Method::GET, "/export/pert?employer=idaho&format=csv", Some(&cy), None, "").await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "report_id,user_id,username,period_start,period_end,submission_deadline,route,status,employer,position,hours_worked,version");
    assert_eq!(lines.len(), 2, "{}", csv.body);
    assert!(lines[1].starts_with(&format!(
        "PERTH1,{},ida_pert,2025-01-01,2025-06-30,2025-07-30,EVR,accepted,Idaho Audit LLP",
        ida.0
    )));
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "read.pert.export");
    assert_eq!(row.detail.as_deref(), Some("employer=idaho; format=csv"));
    let ndjson = c.send(Method::GET, "/export/pert?check=nonsense&format=ndjson", Some(&cy), None, "").await;
    assert_eq!(ndjson.status, StatusCode::BAD_REQUEST, "a refused filter exports nothing");

    let sam = c.token("sre_sam").await;
    for (method, path, body) in [
        (Method::GET, "/pert", ""),
        (Method::GET, "/pert/PERTH1", ""),
        (Method::GET, "/export/pert?format=csv", ""),
        (Method::POST, "/api/pert_reports", ""),
        (Method::POST, "/api/reveal_pert_narrative", "experience_id=PERTH1E1&reason=curious"),
        (Method::POST, "/api/record_pert_review", "submission_id=PERTH1S&action=reviewed&comment=x"),
    ] {
        let r = match method {
            Method::POST => c.post(path, Some(&sam), body).await,
            _ => c.send(method, path, Some(&sam), None, body).await,
        };
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
}
