//! The overview: counts kept by a background job, served from its cache, and the
//! metrics that show them.

use crate::harness::*;

#[tokio::test]
async fn the_overview_reads_the_background_counts_and_metrics_show_them() {
    let c = Console::new();
    let token = c.token("root").await;
    let users = |body: &str| -> i64 {
        let o: pathfinder::dto::Overview = serde_json::from_str(body).unwrap();
        o.users_by_status.iter().map(|s| s.count).sum()
    };
    let first = c.post("/api/overview", Some(&token), "").await;
    assert_eq!(users(&first.body), 3);
    common::add_user(c.storage.as_ref(), "newcomer", "pending", &[]);
    // Served from the cache: no count on the request path.
    assert_eq!(users(&c.post("/api/overview", Some(&token), "").await.body), 3);
    pathfinder_server::jobs::overview::refresh(&Db::new(c.storage.clone()), &c.overview).await.unwrap();
    assert_eq!(users(&c.post("/api/overview", Some(&token), "").await.body), 4);

    let body = c.scrape().await;
    for line in [
        "pathfinder_users{status=\"pending\"} 1",
        "pathfinder_users{status=\"active\"} 3",
        "pathfinder_sessions_active 1",
    ] {
        assert!(body.contains(line), "{line} missing from\n{body}");
    }
}
