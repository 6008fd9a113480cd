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
    let policy = pathfinder::storage::KeyPolicy { rotation_days: 90 };
    pathfinder_server::jobs::overview::refresh(&Db::new(c.storage.clone()), &c.overview, policy).await.unwrap();
    assert_eq!(users(&c.post("/api/overview", Some(&token), "").await.body), 4);

    // The Keys page's counts are the overview's too: a key made outside the console
    // shows once the job counts again, with the time it counted.
    let keys = |body: &str| -> pathfinder::dto::KeyCounts {
        serde_json::from_str::<pathfinder::dto::KeyInventoryPage>(body).unwrap().counts
    };
    let before = keys(&c.post("/api/key_inventory", Some(&token), "after=").await.body);
    let fields = pathfinder::dto::SensitiveFields { phone_number: Some("+1 555 0199".into()), ..Default::default() };
    let newcomer = c.storage.user_id_by_username(&pathfinder::Username::parse("newcomer").unwrap()).unwrap().unwrap();
    c.storage.set_sensitive_fields(&newcomer, &fields, &common::audit("user.sensitive.update")).unwrap();
    let page = c.post("/api/key_inventory", Some(&token), "after=").await;
    assert_eq!(keys(&page.body), before, "served from the cache");
    assert!(page.body.contains("\"username\":\"newcomer\""), "the page of keys is read now: {}", page.body);
    pathfinder_server::jobs::overview::refresh(&Db::new(c.storage.clone()), &c.overview, policy).await.unwrap();
    let after = keys(&c.post("/api/key_inventory", Some(&token), "after=").await.body);
    assert_eq!((after.total, after.rotation_days), (before.total + 1, 90));
    assert!(after.as_of > before.as_of);

    let body = c.scrape().await;
    for line in [
        "pathfinder_users{status=\"pending\"} 1",
        "pathfinder_users{status=\"active\"} 3",
        "pathfinder_sessions_active 1",
    ] {
        assert!(body.contains(line), "{line} missing from\n{body}");
    }
}
