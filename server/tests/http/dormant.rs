//! Dormant users over HTTP: administrators read the list (audited, with its count)
//! and deactivate everyone on it as a background job; nobody else may.

use crate::harness::*;
use pathfinder::storage::{BulkStore, StatsStore, TableRows, Value};

#[tokio::test]
async fn administrators_list_dormant_users_and_deactivate_them() {
    let c = Console::new();
    let mut users = TableRows::new("pf_users", &["user_id", "username", "email", "password_hash", "account_status"]);
    let mut events = TableRows::new("pf_user_analytics", &["analytics_id", "user_id", "event_type", "event_timestamp"]);
    let old = chrono::Utc::now() - chrono::Duration::days(500);
    for i in 0..3 {
        let id = pathfinder::new_id();
        users.push(vec![
            Value::from(id.as_str()),
            Value::Text(format!("sleepy{i}")),
            Value::Text(format!("sleepy{i}@example.com")),
            Value::from(crate::common::NO_LOGIN_HASH),
            Value::from("active"),
        ]);
        events.push(vec![
            Value::Text(format!("HTTPDOR{i:019}")),
            Value::from(id.as_str()),
            Value::from("x"),
            Value::Time(old),
        ]);
    }
    let s = c.storage.as_ref();
    s.insert_batch(&[users, events], &crate::common::audit("data.load")).unwrap();
    s.refresh_user_stats(pathfinder::storage::RefreshWhen::Now, &crate::common::audit("user_stats.refresh")).unwrap();

    let admin = c.token("root").await;
    let page = c.send(Method::GET, "/dormant", Some(&admin), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in ["sleepy0", "sleepy2", "data-count=\"3\"", "Deactivate these 3 users"] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let read = c.storage.recent_audit(50).unwrap().into_iter().find(|r| r.action == "read.users.dormant");
    assert!(read.is_some_and(|r| r.detail.unwrap_or_default().contains("no activity since")), "the read's row");

    let started = c.post("/api/deactivate_dormant", Some(&admin), "").await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let job: pathfinder::dormant::DeactivationJob = serde_json::from_str(&started.body).unwrap();
    assert_eq!(job.expected, 3);
    // The job runs in the background: wait for its end.
    let ended =
        crate::harness::eventually(|| c.actions().iter().any(|a| a == "users.dormant.deactivate.done").then_some(()))
            .await;
    assert!(ended.is_some(), "the deactivation ends");
    assert_eq!(c.actions().iter().filter(|a| *a == "user.status.deactivated").count(), 3);
    let api = c.post("/api/dormant", Some(&admin), "").await;
    let view: pathfinder::dormant::DormantPage = serde_json::from_str(&api.body).unwrap();
    assert!(view.users.iter().all(|u| u.status == "deactivated"), "{view:?}");
    assert_eq!((view.jobs[0].outcome.as_deref(), view.jobs[0].deactivated), (Some("done"), 3));
    let bad = c.post("/api/dormant", Some(&admin), "since=someday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    for who in ["sre_sam", "comp_cy"] {
        let token = c.token(who).await;
        assert_eq!(c.send(Method::GET, "/dormant", Some(&token), None, "").await.status, StatusCode::FORBIDDEN);
        assert_eq!(c.post("/api/deactivate_dormant", Some(&token), "").await.status, StatusCode::FORBIDDEN);
    }
}
