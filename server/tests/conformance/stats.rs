//! The user statistics and the overview's counts.

use crate::common::{add_user, audit};
use crate::{count, Harness, VERSION};
use pathfinder::storage::{AuditEntry, RefreshWhen, TableRows, Value};
use pathfinder::AppError;

checks!(statistics_refresh, overview_counts);

/// `pf_mv_user_stats`: rebuilt on demand, on schedule when due, by one instance at a
/// time, with the run recorded where every instance reads it.
fn statistics_refresh(h: &Harness) {
    let s = h.storage.as_ref();
    let id = add_user(s, "stats_user", "active", &[]);
    let idle = add_user(s, "stats_idle", "active", &[]);
    let event = |n: u32, session: &str| {
        vec![
            Value::Text(format!("01JSTATSEVENT00000000000{n:02}")),
            Value::Text(id.0.clone()),
            Value::Text("page_view".into()),
            Value::Text(session.into()),
            Value::Time(chrono::DateTime::parse_from_rfc3339(&format!("2026-01-0{n}T10:00:00Z")).unwrap().into()),
        ]
    };
    let events = TableRows {
        table: "pf_user_analytics".into(),
        columns: &["analytics_id", "user_id", "event_type", "session_id", "event_timestamp"],
        rows: vec![event(1, "s1"), event(2, "s1"), event(3, "s2")],
    };
    s.insert_batch(&[events], &AuditEntry { entity_id: Some("events".into()), ..audit("data.import") }).unwrap();
    assert_eq!(s.user_activity(&id).unwrap(), None, "not refreshed yet");

    let begins = count(s, "user_stats.refresh.begin");
    let run = s.refresh_user_stats(RefreshWhen::Now, &audit("user_stats.refresh")).unwrap().expect("a run");
    assert_eq!(run.status.as_deref(), Some("ok"));
    assert!(run.finished_at.is_some() && run.duration_ms.is_some());
    assert_eq!(s.last_stats_refresh().unwrap(), run, "recorded for every instance to read");
    assert_eq!((count(s, "user_stats.refresh.begin"), count(s, "user_stats.refresh")), (begins + 1, begins + 1));
    let a = s.user_activity(&id).unwrap().expect("in the statistics");
    assert_eq!((a.total_sessions, a.total_events), (2, 3));
    assert_eq!(a.first_activity.unwrap().to_rfc3339(), "2026-01-01T10:00:00+00:00");
    assert_eq!(a.last_activity.unwrap().to_rfc3339(), "2026-01-03T10:00:00+00:00");
    let i = s.user_activity(&idle).unwrap().expect("idle users are in it too");
    assert_eq!((i.total_sessions, i.total_events, i.last_activity), (0, 0, None));

    // The schedule: not due an hour after a refresh; due after a minute's period.
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(s.refresh_user_stats(RefreshWhen::Due(hour), &audit("user_stats.refresh")).unwrap(), None);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let soon = std::time::Duration::from_millis(10);
    assert!(s.refresh_user_stats(RefreshWhen::Due(soon), &audit("user_stats.refresh")).unwrap().is_some());

    // Another instance holds the refresh: the scheduled run steps aside, an asked-for
    // one says so; neither writes an audit row.
    (h.raw)(&format!(
        "UPDATE pf_console_jobs SET lease_owner = 'another-instance', lease_until = {} WHERE job_name = 'user_stats'",
        h.far_future
    ));
    let other = (h.another_instance)();
    let audited = s.recent_audit(100_000).unwrap().len();
    let asked = other.refresh_user_stats(RefreshWhen::Now, &audit("user_stats.refresh"));
    assert!(matches!(asked, Err(AppError::Conflict(_))), "{asked:?}");
    assert_eq!(other.refresh_user_stats(RefreshWhen::Due(soon), &audit("user_stats.refresh")).unwrap(), None);
    assert_eq!(s.recent_audit(100_000).unwrap().len(), audited);
    (h.raw)("UPDATE pf_console_jobs SET lease_owner = NULL, lease_until = NULL WHERE job_name = 'user_stats'");
}

fn overview_counts(h: &Harness) {
    let s = h.s();
    add_user(s, "ov_admin", "active", &[pathfinder::Role::Admin]);
    add_user(s, "ov_a", "active", &[]);
    add_user(s, "ov_b", "suspended", &[]);
    add_user(s, "ov_c", "suspended", &[]);
    add_user(s, "ov_d", "deactivated", &[]);
    let now = chrono::Utc::now();
    let before = s.overview(now, 90).unwrap();
    assert_eq!(before.stats_refresh.finished_at, None, "not refreshed yet");
    s.refresh_user_stats(RefreshWhen::Now, &audit("user_stats.refresh")).unwrap();
    let o = s.overview(chrono::Utc::now(), 90).unwrap();
    let by_status: Vec<(&str, i64)> = o.users_by_status.iter().map(|c| (c.status.as_str(), c.count)).collect();
    assert_eq!(by_status, [("active", 2), ("deactivated", 1), ("suspended", 2)]);
    assert_eq!(o.active_sessions, 0);
    // Every row written today: the migration's, five users and the refresh.
    assert_eq!(o.audit_events_24h, s.recent_audit(100_000).unwrap().len() as i64);
    assert_eq!(o.schema_version, VERSION);
    assert_eq!(o.backend, s.backend_name());
    assert!(o.stats_refresh.finished_at.is_some_and(|t| t >= now));
    assert_eq!(s.count_admins().unwrap(), 1);
    assert!(s.ping().is_ok());
    let p = s.pool_stats();
    assert!(p.max >= 1 && p.open <= p.max && p.in_use + p.idle == p.open);
}
