//! Analytics over HTTP: administrators and SREs read the page and its charts (SVG,
//! both axes labelled), compliance reviewers get none, a bad range is a clear 400,
//! and the upkeep round counts the product's events into what they read.

use crate::harness::*;
use pathfinder::storage::{TableRows, Value};

#[tokio::test]
async fn administrators_and_sres_read_analytics_counted_by_the_upkeep_round() {
    let c = Console::new();
    let today = chrono::Utc::now().date_naive();
    let at = |days_back: i64, hour: u32| {
        (today - chrono::Duration::days(days_back)).and_hms_opt(hour, 0, 0).unwrap().and_utc()
    };
    let mut rows = TableRows::new(
        "pf_user_analytics",
        &["analytics_id", "user_id", "event_type", "session_id", "page_url", "referrer", "event_timestamp"],
    );
    let user = c.user_id("root");
    for (i, (back, what, page)) in
        [(3, "page_view", "/jobs"), (3, "job_search", "/jobs/search"), (1, "page_view", "/jobs"), (1, "page_view", "/")]
            .into_iter()
            .enumerate()
    {
        rows.push(vec![
            Value::Text(format!("HTTPANA{i}")),
            Value::from(&user),
            Value::from(what),
            Value::Text(format!("HTTPSESS{back}")),
            Value::Text(format!("https://app.example{page}")),
            Value::from("https://www.linkedin.com/feed/"),
            Value::Time(at(back, 9)),
        ]);
    }
    pathfinder::storage::BulkStore::insert_batch(c.storage.as_ref(), &[rows], &crate::common::audit("data.load"))
        .unwrap();
    let admin = c.token("root").await;
    let page = c.send(Method::GET, "/analytics?range=7d", Some(&admin), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No events counted yet"), "before the round: {}", page.body);

    pathfinder_server::jobs::upkeep::round(&Db::new(c.storage.clone()), &upkeep()).await;
    let row = c.storage.recent_audit(50).unwrap().into_iter().find(|r| r.action == "analytics.summarize");
    assert!(row.is_some_and(|r| r.detail.unwrap_or_default().starts_with("4 events counted")), "the round's row");
    let diagnostics = c.send(Method::GET, "/diagnostics", Some(&admin), None, "").await;
    assert!(diagnostics.body.contains("Analytics summaries"), "the job on Diagnostics");
    assert!(diagnostics.body.contains("4 events counted, up to"), "{}", diagnostics.body);

    for who in ["root", "sre_sam"] {
        let token = c.token(who).await;
        let page = c.send(Method::GET, "/analytics?range=7d", Some(&token), None, "").await;
        assert_eq!(page.status, StatusCode::OK, "{who}");
        for text in ["data-test-id=\"chart-active\"", "Counted up to", "/jobs", "www.linkedin.com", "job_search"] {
            assert!(page.body.contains(text), "{who}: {text}");
        }
        let chart = c.send(Method::GET, "/charts/analytics.svg?chart=active&range=7d", Some(&token), None, "").await;
        assert_eq!(chart.status, StatusCode::OK);
        assert_eq!(chart.headers[header::CONTENT_TYPE], "image/svg+xml");
        assert!(chart.body.contains("\nUTC\n") && chart.body.contains("\nPeople\n"), "{}", chart.body);
        let pages = c.send(Method::GET, "/charts/analytics.svg?chart=pages&range=7d", Some(&token), None, "").await;
        assert!(pages.body.contains("/jobs") && pages.body.contains("\nPage views\n"), "{}", pages.body);
    }
    let api = c.post("/api/analytics", Some(&admin), "range=7d").await;
    let view: pathfinder::analytics::AnalyticsView = serde_json::from_str(&api.body).unwrap();
    let last = view.days.last().unwrap();
    assert_eq!(view.days.len(), 7);
    assert_eq!((view.days[3].daily_active, view.days[5].daily_active, last.weekly_active), (1, 1, 1));
    assert_eq!(view.top_pages[0], ("/jobs".to_string(), 2));
    assert_eq!(view.days.iter().map(|d| d.sessions).sum::<i64>(), 2);

    // A person's own events on their page: a row a day, the last pages seen.
    let own = c.send(Method::GET, &format!("/users/{}", user.0), Some(&admin), None, "").await;
    assert_eq!(own.status, StatusCode::OK);
    for text in ["data-test-id=\"user-events-per-day\"", "data-test-id=\"user-last-events\"", "/jobs/search"] {
        assert!(own.body.contains(text), "{text}");
    }
    assert!(own.body.contains(&(today - chrono::Duration::days(3)).to_string()), "the day of two events");

    // A clear error for a range it cannot read; nothing for compliance reviewers.
    let bad = c
        .send(Method::GET, "/charts/analytics.svg?chart=active&from=2026-02-01&to=2026-01-01", Some(&admin), None, "")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = c.post("/api/analytics", Some(&admin), "range=12d").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let comp = c.token("comp_cy").await;
    assert_eq!(c.send(Method::GET, "/analytics", Some(&comp), None, "").await.status, StatusCode::FORBIDDEN);
    let chart = c.send(Method::GET, "/charts/analytics.svg?chart=active", Some(&comp), None, "").await;
    assert_eq!(chart.status, StatusCode::FORBIDDEN);
}
