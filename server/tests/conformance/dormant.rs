//! Dormant users: the list walks everyone last active before a day exactly once,
//! oldest first, however many share a time at a page's end; the count, kept at the
//! statistics' refresh, says as many; the deactivation works through them in
//! batches (each user with their row), leaves console accounts, people active
//! again and accounts not active as they are, and can be stopped; one instance
//! works on a job at a time.

use crate::common::{add_user, audit};
use crate::{count, Harness};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use pathfinder::dormant::{Dormancy, DormantFilter};
use pathfinder::storage::{RefreshWhen, Storage, TableRows, Value};
use pathfinder::Role;

checks! {
    the_list_walks_everyone_once_in_last_activity_order_and_the_count_agrees,
    deactivation_works_in_batches_and_leaves_whom_it_must,
    a_deactivation_stops_when_asked_and_one_instance_works_on_it,
}

/// `n` people named `<tag>NNNN`, the i-th last active at `at(i)` (none: never).
fn people(s: &dyn Storage, tag: &str, n: usize, at: impl Fn(usize) -> Option<chrono::DateTime<Utc>>) -> Vec<String> {
    let mut users = TableRows::new("pf_users", &["user_id", "username", "email", "password_hash", "account_status"]);
    let mut events = TableRows::new("pf_user_analytics", &["analytics_id", "user_id", "event_type", "event_timestamp"]);
    let mut ids = vec![];
    for i in 0..n {
        let id = pathfinder::new_id();
        users.push(vec![
            Value::from(id.as_str()),
            Value::Text(format!("{tag}{i:04}")),
            Value::Text(format!("{tag}{i:04}@example.com")),
            Value::from(crate::common::NO_LOGIN_HASH),
            Value::from("active"),
        ]);
        if let Some(t) = at(i) {
            events.push(vec![
                Value::Text(format!("{}E", &id[..25])),
                Value::from(id.as_str()),
                Value::from("page_view"),
                Value::Time(t),
            ]);
        }
        ids.push(id);
    }
    s.insert_batch(&[users, events], &audit("data.load")).unwrap();
    ids
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn refresh(s: &dyn Storage) {
    s.refresh_user_stats(RefreshWhen::Now, &audit("user_stats.refresh")).unwrap();
}

fn walk_all(s: &dyn Storage, dormancy: Dormancy, limit: u32) -> (Vec<String>, i64) {
    let mut filter = DormantFilter { dormancy, after: None, limit };
    let mut seen = vec![];
    loop {
        let page = s.dormant_users(&filter).unwrap();
        seen.extend(page.users.iter().map(|u| u.username.clone()));
        match page.next_cursor {
            Some(c) => filter.after = Some(c),
            None => return (seen, page.count),
        }
    }
}

fn the_list_walks_everyone_once_in_last_activity_order_and_the_count_agrees(h: &Harness) {
    let s = h.s();
    let base = Utc.with_ymd_and_hms(2001, 3, 1, 0, 0, 0).unwrap();
    // 9 people: 0-2 share a time, 3-6 share another, 7 later, 8 after the day; and 3 never active.
    let at = |i: usize| match i {
        0..=2 => Some(base),
        3..=6 => Some(base + Duration::days(1)),
        7 => Some(base + Duration::days(2)),
        _ => Some(base + Duration::days(40)),
    };
    people(s, "dor_list_", 9, at);
    let never_ids = people(s, "dor_never_", 3, |_| None);
    refresh(s);
    let since = Dormancy::Since(day(2001, 3, 20));
    for limit in [1, 2, 3, 4, 50] {
        let (seen, count) = walk_all(s, since, limit);
        let mine: Vec<&String> = seen.iter().filter(|u| u.starts_with("dor_list_")).collect();
        let mut expected: Vec<String> = (0..8).map(|i| format!("dor_list_{i:04}")).collect();
        let mut got: Vec<String> = mine.iter().map(|s| s.to_string()).collect();
        // Within a shared time the order is the database's: compare each time's group.
        for group in [0..3, 3..7, 7..8] {
            got[group.clone()].sort();
            expected[group].sort();
        }
        assert_eq!(got, expected, "limit {limit}: each once, oldest first");
        if !h.oracle {
            assert_eq!((seen.len() as i64, count), (8, 8), "limit {limit}");
        }
    }
    let (never, count) = walk_all(s, Dormancy::Never, 2);
    let mine: Vec<&String> = never.iter().filter(|u| u.starts_with("dor_never_")).collect();
    let mut by_id: Vec<(String, String)> =
        never_ids.iter().enumerate().map(|(i, id)| (id.clone(), format!("dor_never_{i:04}"))).collect();
    by_id.sort();
    assert_eq!(mine, by_id.iter().map(|(_, name)| name).collect::<Vec<_>>(), "by id");
    assert!(count >= 3);
    let page = s.dormant_users(&DormantFilter { dormancy: since, after: None, limit: 50 }).unwrap();
    assert!(page.as_of.finished_at.is_some(), "as of the refresh");
    // A cursor that is not one is a clear error.
    let bad = DormantFilter { dormancy: since, after: Some("x".into()), limit: 5 };
    assert!(matches!(s.dormant_users(&bad), Err(pathfinder::AppError::Invalid(_))));
}

fn deactivation_works_in_batches_and_leaves_whom_it_must(h: &Harness) {
    let s = h.s();
    let base = Utc.with_ymd_and_hms(2002, 1, 1, 0, 0, 0).unwrap();
    // 1,200 dormant people over several batches of 500; 300 of them share one time
    // across the first batch's end.
    let ids = people(s, "dor_bulk_", 1200, |i| {
        Some(if (400..700).contains(&i) { base + Duration::hours(400) } else { base + Duration::minutes(i as i64) })
    });
    let admin = add_user(s, "dor_admin", "active", &[Role::Admin]);
    let mut events = TableRows::new("pf_user_analytics", &["analytics_id", "user_id", "event_type", "event_timestamp"]);
    events.push(vec![
        Value::from("DORADMINEVENT0000000000001"),
        Value::from(&admin),
        Value::from("x"),
        Value::Time(base),
    ]);
    s.insert_batch(&[events], &audit("data.load")).unwrap();
    refresh(s);
    // After the refresh: one comes back, one is suspended.
    let mut back = TableRows::new("pf_user_analytics", &["analytics_id", "user_id", "event_type", "event_timestamp"]);
    back.push(vec![
        Value::from("DORBACKEVENT00000000000001"),
        Value::from(ids[10].as_str()),
        Value::from("x"),
        Value::Time(Utc::now()),
    ]);
    s.insert_batch(&[back], &audit("data.load")).unwrap();
    (h.raw)(&format!("UPDATE pf_users SET account_status = 'suspended' WHERE user_id = '{}'", ids[11]));

    let since = Dormancy::Since(day(2002, 3, 1));
    let job = s.start_deactivation(since, &audit("users.dormant.deactivate")).unwrap();
    if !h.oracle {
        assert_eq!(job.expected, 1201, "the preview's count: the 1,200 and the administrator");
    }
    let done = s.run_deactivation(&job.job_id, &audit("users.dormant.deactivate")).unwrap().expect("ran");
    assert_eq!(done.outcome.as_deref(), Some("done"));
    assert_eq!(done.deactivated, 1198, "all but the one back and the one suspended");
    if !h.oracle {
        assert_eq!(done.skipped, 3, "and the administrator");
        assert_eq!(count(s, "user.status.deactivated"), 1198, "one row per user");
        assert_eq!(count(s, "users.dormant.deactivate.done"), 1);
    }
    let status = |id: &str| (h.raw_text)(&format!("SELECT account_status FROM pf_users WHERE user_id = '{id}'"));
    assert_eq!(status(&ids[0]).as_deref(), Some("deactivated"));
    assert_eq!(status(&ids[500]).as_deref(), Some("deactivated"), "past the shared time");
    assert_eq!(status(&ids[1199]).as_deref(), Some("deactivated"));
    assert_eq!(status(&ids[10]).as_deref(), Some("active"), "active again since the refresh");
    assert_eq!(status(&ids[11]).as_deref(), Some("suspended"));
    assert_eq!(status(&admin.0).as_deref(), Some("active"), "console accounts are the security review's");
    // Over: running it again does nothing.
    assert_eq!(s.run_deactivation(&job.job_id, &audit("users.dormant.deactivate")).unwrap(), None);
}

fn a_deactivation_stops_when_asked_and_one_instance_works_on_it(h: &Harness) {
    let s = h.s();
    let base = Utc.with_ymd_and_hms(2003, 1, 1, 0, 0, 0).unwrap();
    let ids = people(s, "dor_stop_", 20, |i| Some(base + Duration::minutes(i as i64)));
    refresh(s);
    let since = Dormancy::Since(day(2003, 2, 1));
    let job = s.start_deactivation(since, &audit("users.dormant.deactivate")).unwrap();
    // Another job while one is open is refused.
    let again = s.start_deactivation(since, &audit("users.dormant.deactivate"));
    assert!(matches!(again, Err(pathfinder::AppError::Conflict(_))), "{again:?}");
    // The instance that started it holds it: another cannot run it meanwhile.
    let other = (h.another_instance)();
    assert_eq!(other.run_deactivation(&job.job_id, &audit("users.dormant.deactivate")).unwrap(), None);
    // Its lease runs out (its instance went away): the upkeep would list it, and
    // a stop with nobody working on it ends it at once.
    (h.raw)(&format!("UPDATE pf_dormant_jobs SET lease_until = {} WHERE job_id = '{}'", h.long_ago, job.job_id));
    assert!(s.orphaned_deactivations().unwrap().contains(&job.job_id));
    s.stop_deactivation(&job.job_id, &audit("users.dormant.deactivate.stop")).unwrap();
    let page = s.dormant_users(&DormantFilter { dormancy: since, after: None, limit: 5 }).unwrap();
    let stopped = page.jobs.iter().find(|j| j.job_id == job.job_id).expect("listed");
    assert_eq!((stopped.outcome.as_deref(), stopped.deactivated), (Some("stopped"), 0));
    assert!(!s.orphaned_deactivations().unwrap().contains(&job.job_id));
    let status = |id: &str| (h.raw_text)(&format!("SELECT account_status FROM pf_users WHERE user_id = '{id}'"));
    assert_eq!(status(&ids[0]).as_deref(), Some("active"), "stopped before its first batch");
    assert!(matches!(
        s.stop_deactivation(&job.job_id, &audit("users.dormant.deactivate.stop")),
        Err(pathfinder::AppError::NotFound(_))
    ));
    // A new one now goes through, resumed by another instance once the first went away.
    let job = s.start_deactivation(since, &audit("users.dormant.deactivate")).unwrap();
    (h.raw)(&format!("UPDATE pf_dormant_jobs SET lease_until = {} WHERE job_id = '{}'", h.long_ago, job.job_id));
    let done = other.run_deactivation(&job.job_id, &audit("users.dormant.deactivate")).unwrap().expect("resumed");
    assert_eq!(done.outcome.as_deref(), Some("done"));
    if !h.oracle {
        assert_eq!(done.deactivated, 20);
    }
    assert_eq!(status(&ids[19]).as_deref(), Some("deactivated"));
}
