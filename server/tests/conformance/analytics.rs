//! Analytics: the summaries the job keeps equal what the events say — active
//! users in 1, 7 and 30 days, events by type, sessions, top pages and referrers —
//! however the events arrive in batches and rounds, and two instances counting at
//! once count each event once.

use crate::common::{add_user, audit};
use crate::Harness;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use pathfinder::analytics::AnalyticsView;
use pathfinder::storage::{Storage, TableRows, Value};
use pathfinder::UserId;
use std::collections::{BTreeMap, BTreeSet};

checks! {
    the_summaries_say_what_the_events_say_however_they_are_batched,
    two_instances_count_each_event_once,
    a_persons_page_has_their_events_per_day_and_last_pages,
}

/// An event: who, what, when (day of 2031 and minute), session, page and referrer.
type Event = (usize, &'static str, (u32, i64), u32, &'static str, Option<&'static str>);

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2031, 1, 1).unwrap() + Duration::days(i64::from(n))
}

fn load(s: &dyn Storage, users: &[UserId], events: &[Event], tag: &str) {
    let mut rows = TableRows::new(
        "pf_user_analytics",
        &["analytics_id", "user_id", "event_type", "session_id", "page_url", "referrer", "event_timestamp"],
    );
    for (i, (who, what, (d, minute), session, page, referrer)) in events.iter().enumerate() {
        let at = Utc.from_utc_datetime(&day(*d).and_hms_opt(0, 0, 0).unwrap()) + Duration::minutes(*minute);
        rows.push(vec![
            Value::Text(format!("{tag}{i:06}")),
            Value::from(&users[*who]),
            Value::from(*what),
            Value::Text(format!("SESSION{session}")),
            Value::Text(format!("https://app.example{page}?q={i}")),
            referrer.map(Value::from).unwrap_or(Value::Null),
            Value::Time(at),
        ]);
    }
    s.insert_batch(&[rows], &audit("data.load")).unwrap();
}

/// What the events say, counted the slow way.
struct Expected {
    active: BTreeMap<NaiveDate, [i64; 3]>,
    sessions: BTreeMap<NaiveDate, i64>,
    by_type: BTreeMap<(NaiveDate, &'static str), i64>,
}

fn expected(events: &[Event], days: std::ops::RangeInclusive<u32>) -> Expected {
    let active_days: BTreeSet<(usize, NaiveDate)> = events.iter().map(|e| (e.0, day(e.2 .0))).collect();
    let mut active = BTreeMap::new();
    for d in days.clone() {
        let on = day(d);
        let window = |w: i64| {
            let people: BTreeSet<usize> = active_days
                .iter()
                .filter(|(_, a)| *a <= on && *a > on - Duration::days(w))
                .map(|(who, _)| *who)
                .collect();
            people.len() as i64
        };
        active.insert(on, [window(1), window(7), window(30)]);
    }
    // A session counts on the day of its first event.
    let mut first: BTreeMap<u32, (u32, i64)> = BTreeMap::new();
    for e in events {
        let at = first.entry(e.3).or_insert(e.2);
        *at = (*at).min(e.2);
    }
    let mut sessions = BTreeMap::new();
    for (d, _) in first.values() {
        *sessions.entry(day(*d)).or_default() += 1;
    }
    let mut by_type = BTreeMap::new();
    for e in events {
        *by_type.entry((day(e.2 .0), e.1)).or_default() += 1;
    }
    Expected { active, sessions, by_type }
}

fn assert_matches(view: &AnalyticsView, want: &Expected) {
    for d in &view.days {
        let active = want.active.get(&d.day).copied().unwrap_or_default();
        assert_eq!([d.daily_active, d.weekly_active, d.monthly_active], active, "active on {}", d.day);
        assert_eq!(d.sessions, want.sessions.get(&d.day).copied().unwrap_or(0), "sessions on {}", d.day);
        for (k, t) in view.event_types.iter().enumerate() {
            let n = want.by_type.iter().find(|((on, what), _)| *on == d.day && what == t).map_or(0, |(_, n)| *n);
            assert_eq!(d.events[k], n, "{t} on {}", d.day);
        }
    }
}

/// The summaries from nothing: Oracle's database is shared by the checks (one at
/// a time), whose events would be counted too.
fn start_afresh(h: &Harness) {
    for table in [
        "pf_analytics_daily",
        "pf_analytics_top_daily",
        "pf_analytics_sessions_daily",
        "pf_analytics_sessions_seen",
        "pf_analytics_user_days",
        "pf_analytics_active_changes",
        "pf_user_analytics",
    ] {
        (h.raw)(&format!("DELETE FROM {table}"));
    }
    (h.raw)("UPDATE pf_analytics_progress SET event_timestamp = NULL, analytics_id = NULL, events_counted = 0");
}

fn the_summaries_say_what_the_events_say_however_they_are_batched(h: &Harness) {
    start_afresh(h);
    let s = h.s();
    let users: Vec<UserId> = (0..4).map(|i| add_user(s, &format!("an_user{i}"), "active", &[])).collect();
    let until = Utc.with_ymd_and_hms(2031, 12, 31, 0, 0, 0).unwrap();
    let job = audit("analytics.summarize");
    let mut events: Vec<Event> = vec![
        (0, "page_view", (0, 10), 1, "/jobs", Some("https://www.google.com/search")),
        (0, "job_search", (0, 20), 1, "/jobs/search", None),
        (1, "page_view", (0, 30), 2, "/", Some("https://WWW.Google.com/")),
        (0, "page_view", (3, 5), 3, "/jobs", None),
        (2, "chat_message", (6, 0), 4, "/chat", Some("https://www.linkedin.com/feed")),
        (1, "page_view", (9, 0), 5, "/jobs", None),
        (0, "page_view", (12, 0), 6, "/", None),
        (3, "export_pdf", (40, 0), 7, "/export", None),
        // A session past midnight counts once, on its first day.
        (3, "page_view", (40, 1439), 8, "/", None),
        (3, "page_view", (41, 1), 8, "/", None),
    ];
    load(s, &users, &events, "ANA1");
    // Small batches, then the rest: the same summaries.
    assert_eq!(s.summarize_analytics(until, 3, &job).unwrap(), 3);
    let counted = s.summarize_analytics(until, 1_000, &job).unwrap();
    assert!(counted >= 7, "the rest: {counted}");
    let range = || s.analytics(day(0), day(45)).unwrap();
    let view = range();
    assert_matches(&view, &expected(&events, 0..=45));
    assert_eq!(view.days[0].daily_active, 2);
    assert_eq!(view.days[12].monthly_active, 3, "three people in the 30 days to the 13th");
    let top: Vec<(&str, i64)> = view.top_pages.iter().take(2).map(|(p, n)| (p.as_str(), *n)).collect();
    assert_eq!(top, [("/", 4), ("/jobs", 3)], "the query string left out");
    assert_eq!(view.top_referrers[0], ("www.google.com".to_string(), 2), "{:?}", view.top_referrers);
    assert!(view.counted_until.is_some() && view.events_counted >= 10);
    assert_eq!(s.summarize_analytics(until, 1_000, &job).unwrap(), 0, "nothing left");

    // Later events, a person back after a gap and one active on a day between two
    // of theirs, and an event after `until`, left for later.
    let more: Vec<Event> = vec![
        (1, "page_view", (43, 0), 9, "/jobs", None),
        (2, "page_view", (44, 0), 10, "/", None),
        (0, "skill_added", (44, 30), 11, "/skills", None),
    ];
    load(s, &users, &more, "ANA2");
    let late: Vec<Event> = vec![(2, "page_view", (45, 0), 12, "/", None)];
    load(s, &users, &late, "ANA3");
    let before_late = Utc.from_utc_datetime(&day(45).and_hms_opt(0, 0, 0).unwrap());
    assert_eq!(s.summarize_analytics(before_late, 1_000, &job).unwrap(), 3);
    events.extend(more);
    assert_matches(&range(), &expected(&events, 0..=45));
    assert_eq!(s.summarize_analytics(until, 1_000, &job).unwrap(), 1);
    events.extend(late);
    assert_matches(&range(), &expected(&events, 0..=45));
    // A batch is one transaction with its audit row.
    let rows: Vec<_> = s.recent_audit(1).unwrap();
    assert_eq!(rows[0].action, "analytics.summarize");
    assert!(
        rows[0].detail.as_deref().unwrap().starts_with("1 events counted, up to 2031-02-15"),
        "{:?}",
        rows[0].detail
    );
}

fn two_instances_count_each_event_once(h: &Harness) {
    start_afresh(h);
    let s = h.s();
    let users: Vec<UserId> = (0..3).map(|i| add_user(s, &format!("an_race{i}"), "active", &[])).collect();
    let events: Vec<Event> = (0..600)
        .map(|i| (i % 3, "page_view", (100 + (i / 30) as u32, (i % 30) as i64), 1_000 + (i / 4) as u32, "/race", None))
        .collect();
    load(s, &users, &events, "ANAR");
    let until = Utc.with_ymd_and_hms(2031, 12, 31, 0, 0, 0).unwrap();
    let instances: Vec<_> = (0..2).map(|_| (h.another_instance)()).collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let runs: Vec<_> = instances
        .into_iter()
        .map(|other| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut counted = 0;
                // Small batches, so the two interleave; a batch the other counted
                // first is refused, and the next one goes on from where it got to.
                for _ in 0..400 {
                    match other.summarize_analytics(until, 7, &audit("analytics.summarize")) {
                        Ok(0) => break,
                        Ok(n) => counted += n,
                        Err(pathfinder::AppError::Conflict(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                counted
            })
        })
        .collect();
    let counted: u64 = runs.into_iter().map(|r| r.join().unwrap()).sum();
    assert_eq!(counted, 600, "each event counted by one of them");
    let view = s.analytics(day(100), day(119)).unwrap();
    assert_matches(&view, &expected(&events, 100..=119));
    let total: i64 = view.days.iter().map(|d| d.events.iter().sum::<i64>()).sum();
    assert_eq!(total, 600);
}

fn a_persons_page_has_their_events_per_day_and_last_pages(h: &Harness) {
    let s = h.s();
    let users: Vec<UserId> = (0..2).map(|i| add_user(s, &format!("an_own{i}"), "active", &[])).collect();
    let events: Vec<Event> = (0..14)
        .map(|i| {
            (usize::from(i == 13), "page_view", (i / 3, i64::from(i)), 1, if i % 2 == 0 { "/jobs" } else { "/" }, None)
        })
        .collect();
    load(s, &users, &events, "OWN");
    let own = s.user_events(&users[0], day(1), day(30)).unwrap();
    // Days 1 to 4 of theirs (day 0's events are before the range; the last is another's).
    assert_eq!(own.per_day, [(day(1), 3), (day(2), 3), (day(3), 3), (day(4), 1)]);
    assert_eq!(own.last.len(), 10);
    assert_eq!(own.last[0].page.as_deref(), Some("/jobs"), "the newest first, its page's path");
    assert_eq!(own.last[0].at, Utc.from_utc_datetime(&day(4).and_hms_opt(0, 12, 0).unwrap()));
    // And on their page, which its read row covers.
    let page = s.user_page(&users[1]).unwrap();
    assert!(page.events.per_day.is_empty(), "none in the last 30 days: their event is in 2031");
    assert_eq!(s.user_events(&users[0], day(2), day(3)).unwrap().per_day, [(day(2), 3), (day(3), 3)]);
    assert_eq!(page.events.last.len(), 1, "their last event, whenever it was");
}
