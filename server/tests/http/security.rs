//! The security review over HTTP: administrators and compliance reviewers read the
//! page and run the review (audited), SREs get neither; the upkeep round publishes
//! the open findings by severity.

use crate::harness::*;

#[tokio::test]
async fn reviewers_run_the_review_and_read_its_findings() {
    let _gauges = UPKEEP_GAUGES.lock().await;
    let c = Console::new();
    let comp = c.token("comp_cy").await;
    let page = c.send(Method::GET, "/security", Some(&comp), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No run yet."), "{}", page.body);

    let ran = c.post("/api/run_security_review", Some(&comp), "").await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
    let outcome: pathfinder::security::ReviewOutcome = serde_json::from_str(&ran.body).unwrap();
    assert!(outcome.high() >= 1, "root is an administrator without a second factor: {outcome:?}");
    let actions = c.actions();
    for action in ["security.review.begin", "security.review", "security.finding.open"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }

    for who in ["root", "comp_cy"] {
        let token = c.token(who).await;
        let page = c.send(Method::GET, "/security", Some(&token), None, "").await;
        assert_eq!(page.status, StatusCode::OK);
        for text in
            ["data-check=\"second_factor_required\"", "data-severity=\"high\"", "href=\"/accounts\"", "Last run"]
        {
            assert!(page.body.contains(text), "{who}: {text}");
        }
    }
    let reads = c.storage.recent_audit(200).unwrap();
    assert!(reads.iter().any(|r| r.action == "read.security"), "the page's read is audited");

    // The round publishes what is open (a run within the period is not repeated).
    let before = c.actions().iter().filter(|a| *a == "security.review").count();
    pathfinder_server::jobs::upkeep::round(&Db::new(c.storage.clone()), &upkeep()).await;
    assert_eq!(c.actions().iter().filter(|a| *a == "security.review").count(), before, "not due again");
    let scrape = c.scrape().await;
    let high = scrape
        .lines()
        .find(|l| l.starts_with("pathfinder_security_findings{severity=\"high\"}"))
        .unwrap_or_else(|| panic!("{scrape}"));
    assert!(high.ends_with(&format!(" {}", outcome.high())), "{high}");

    let sre = c.token("sre_sam").await;
    assert_eq!(c.send(Method::GET, "/security", Some(&sre), None, "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.post("/api/run_security_review", Some(&sre), "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.post("/api/security", Some(&sre), "").await.status, StatusCode::FORBIDDEN);
}
