//! Analytics: the job that counts the product's events into daily summaries, batch
//! by batch from where it last stopped, and the views that read only those.
//!
//! Active users over windows of 1, 7 and 30 days are kept as changes by day: when a
//! batch finds a person active on a day they were not yet counted for, it adds them
//! to each window from the first day that day covers and the person's previous day
//! did not, up to the last day before their next active day takes over (the days a
//! window of `w` days covers after `d` are `d` to `d + w - 1`). A day's active
//! users are then the sum of the changes up to it: a view reads a few rows a day,
//! however many people there are. The person's days are kept 60 days back, which
//! any window needs.
//!
//! N instances: a batch's transaction moves the position only from where the batch
//! began, so a batch another instance counted first is refused whole (Conflict) and
//! nothing of it is written twice.

use super::driver::{Conn, ReadRow, Value};
use super::store::Store;
use crate::{args, sql};
use chrono::{Duration, NaiveDate};
use pathfinder::analytics::{page_path, referrer_host, AnalyticsDay, AnalyticsView, TOP, WINDOWS};
use pathfinder::dto::{Timestamp, UserEvent, UserEvents};
use pathfinder::storage::{AnalyticsStore, AuditEntry, USER_LAST_EVENTS};
use pathfinder::{AppError, AppResult, UserId};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Events counted in one transaction.
const BATCH: usize = 20_000;

/// How far back a person's active days are kept, and sessions remembered.
const USER_DAYS_KEPT: i64 = 60;
const SESSIONS_KEPT: i64 = 2;

/// One event, as the summaries need it.
struct Event {
    id: String,
    user_id: String,
    event_type: String,
    session_id: Option<String>,
    page: Option<String>,
    referrer: Option<String>,
    at: Timestamp,
}

/// The events after `position` (none: from the first) and before `until`, in
/// (time, id) order, at most `limit`.
fn events_after(
    c: &mut Conn,
    position: Option<(Timestamp, String)>,
    until: Timestamp,
    limit: usize,
) -> AppResult<Vec<Event>> {
    let read = |r: &dyn super::driver::Row| {
        Ok(Event {
            id: r.text(0)?,
            user_id: r.text(1)?,
            event_type: r.text(2)?,
            session_id: r.opt_text(3)?,
            page: r.opt_text(4)?.as_deref().and_then(page_path),
            referrer: r.opt_text(5)?.as_deref().and_then(referrer_host),
            at: r.time(6)?,
        })
    };
    let limit = limit as i64;
    match position {
        None => c.query_map(
            sql!(
                "SELECT analytics_id, user_id, event_type, session_id, page_url, referrer, event_timestamp
                 FROM pf_user_analytics WHERE event_timestamp < :1 ORDER BY event_timestamp, analytics_id",
                limit ":2"
            ),
            &args![until, limit],
            read,
        ),
        Some((at, id)) => c.query_map(
            sql!(
                "SELECT analytics_id, user_id, event_type, session_id, page_url, referrer, event_timestamp
                 FROM pf_user_analytics
                 WHERE event_timestamp >= :1 AND (event_timestamp > :2 OR analytics_id > :3) AND event_timestamp < :4
                 ORDER BY event_timestamp, analytics_id",
                limit ":5"
            ),
            &args![at, at, id, until, limit],
            read,
        ),
    }
}

/// What the job has counted: up to which event (its time and id), how many, and
/// when it last counted some.
pub(super) struct Counted {
    pub until: Option<Timestamp>,
    pub last_id: Option<String>,
    pub events: i64,
    pub at: Option<Timestamp>,
}

pub(super) fn counted(c: &mut Conn) -> AppResult<Counted> {
    let row = c.query_opt(
        sql!(
            "SELECT event_timestamp, analytics_id, events_counted, updated_at FROM pf_analytics_progress WHERE id = 1"
        ),
        &[],
    )?;
    match row {
        Some(r) => {
            Ok(Counted { until: r.opt_time(0)?, last_id: r.opt_text(1)?, events: r.int(2)?, at: r.opt_time(3)? })
        }
        None => Ok(Counted { until: None, last_id: None, events: 0, at: None }),
    }
}

/// Where the next batch begins: after the last event counted (none: the first).
fn position(c: &mut Conn) -> AppResult<Option<(Timestamp, String)>> {
    let counted = counted(c)?;
    Ok(counted.until.zip(counted.last_id))
}

/// A batch another instance counted first: it is written nowhere.
fn counted_elsewhere() -> AppError {
    AppError::Conflict("Another instance counted these events first.".into())
}

/// Adds to the kept counts (each statement an upsert: the key's row, or a new one).
fn add_counts(c: &mut Conn, batch: &Batch) -> AppResult<()> {
    let rows = |m: &BTreeMap<(NaiveDate, String), i64>| -> Vec<Vec<Value>> {
        m.iter().map(|((day, k), n)| vec![Value::Date(*day), Value::from(k.as_str()), Value::Int(*n)]).collect()
    };
    c.insert_many(
        sql!(
            sqlite: "INSERT INTO pf_analytics_daily (day_start, event_type, events) VALUES (:1, :2, :3)
                ON CONFLICT (day_start, event_type) DO UPDATE SET events = events + excluded.events",
            oracle: "MERGE INTO pf_analytics_daily t
                USING (SELECT :1 AS day_start, :2 AS event_type, :3 AS events FROM dual) s
                ON (t.day_start = s.day_start AND t.event_type = s.event_type)
                WHEN MATCHED THEN UPDATE SET t.events = t.events + s.events
                WHEN NOT MATCHED THEN INSERT (day_start, event_type, events) VALUES (s.day_start, s.event_type, s.events)"
        ),
        &rows(&batch.by_type),
    )?;
    let tops: Vec<Vec<Value>> = [("page", &batch.pages), ("referrer", &batch.referrers)]
        .into_iter()
        .flat_map(|(kind, m)| {
            m.iter().map(move |((day, v), n)| {
                vec![Value::Date(*day), Value::from(kind), Value::from(v.as_str()), Value::Int(*n)]
            })
        })
        .collect();
    c.insert_many(
        sql!(
            sqlite: "INSERT INTO pf_analytics_top_daily (day_start, kind, value, events) VALUES (:1, :2, :3, :4)
                ON CONFLICT (day_start, kind, value) DO UPDATE SET events = events + excluded.events",
            oracle: "MERGE INTO pf_analytics_top_daily t
                USING (SELECT :1 AS day_start, :2 AS kind, :3 AS value, :4 AS events FROM dual) s
                ON (t.day_start = s.day_start AND t.kind = s.kind AND t.value = s.value)
                WHEN MATCHED THEN UPDATE SET t.events = t.events + s.events
                WHEN NOT MATCHED THEN INSERT (day_start, kind, value, events)
                VALUES (s.day_start, s.kind, s.value, s.events)"
        ),
        &tops,
    )?;
    let sessions: Vec<Vec<Value>> =
        batch.sessions.iter().map(|(day, n)| vec![Value::Date(*day), Value::Int(*n)]).collect();
    c.insert_many(
        sql!(
            sqlite: "INSERT INTO pf_analytics_sessions_daily (day_start, sessions) VALUES (:1, :2)
                ON CONFLICT (day_start) DO UPDATE SET sessions = sessions + excluded.sessions",
            oracle: "MERGE INTO pf_analytics_sessions_daily t
                USING (SELECT :1 AS day_start, :2 AS sessions FROM dual) s ON (t.day_start = s.day_start)
                WHEN MATCHED THEN UPDATE SET t.sessions = t.sessions + s.sessions
                WHEN NOT MATCHED THEN INSERT (day_start, sessions) VALUES (s.day_start, s.sessions)"
        ),
        &sessions,
    )?;
    let changes: Vec<Vec<Value>> = batch
        .active_changes
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|((w, day), n)| vec![Value::Int(i64::from(*w)), Value::Date(*day), Value::Int(*n)])
        .collect();
    c.insert_many(
        sql!(
            sqlite: "INSERT INTO pf_analytics_active_changes (window_days, day_start, delta_users) VALUES (:1, :2, :3)
                ON CONFLICT (window_days, day_start) DO UPDATE SET delta_users = delta_users + excluded.delta_users",
            oracle: "MERGE INTO pf_analytics_active_changes t
                USING (SELECT :1 AS window_days, :2 AS day_start, :3 AS delta_users FROM dual) s
                ON (t.window_days = s.window_days AND t.day_start = s.day_start)
                WHEN MATCHED THEN UPDATE SET t.delta_users = t.delta_users + s.delta_users
                WHEN NOT MATCHED THEN INSERT (window_days, day_start, delta_users)
                VALUES (s.window_days, s.day_start, s.delta_users)"
        ),
        &changes,
    )
}

/// What a batch adds to the summaries.
#[derive(Default)]
struct Batch {
    by_type: BTreeMap<(NaiveDate, String), i64>,
    pages: BTreeMap<(NaiveDate, String), i64>,
    referrers: BTreeMap<(NaiveDate, String), i64>,
    sessions: BTreeMap<NaiveDate, i64>,
    active_changes: BTreeMap<(u32, NaiveDate), i64>,
}

/// The changes a person's new active `day` makes to a window of `w` days, given
/// their nearest active days before and after it.
fn window_change(
    day: NaiveDate,
    w: i64,
    before: Option<NaiveDate>,
    after: Option<NaiveDate>,
) -> Option<(NaiveDate, NaiveDate)> {
    let first = before.map_or(day, |b| day.max(b + Duration::days(w)));
    let last = after.map_or(day + Duration::days(w - 1), |a| (day + Duration::days(w - 1)).min(a - Duration::days(1)));
    (first <= last).then_some((first, last))
}

/// Counts `events` (in order) into the summaries, in the transaction of `c`.
fn count(c: &mut Conn, events: &[Event]) -> AppResult<()> {
    let mut batch = Batch::default();
    let mut sessions: HashMap<&str, NaiveDate> = HashMap::new();
    let mut active: BTreeMap<&str, BTreeSet<NaiveDate>> = BTreeMap::new();
    for e in events {
        let day = e.at.date_naive();
        *batch.by_type.entry((day, e.event_type.clone())).or_default() += 1;
        if let Some(page) = &e.page {
            *batch.pages.entry((day, page.clone())).or_default() += 1;
        }
        if let Some(host) = &e.referrer {
            *batch.referrers.entry((day, host.clone())).or_default() += 1;
        }
        if let Some(session) = &e.session_id {
            sessions.entry(session).or_insert(day);
        }
        active.entry(&e.user_id).or_default().insert(day);
    }
    // A session is counted on the day of its first event, once.
    let mut seen = Vec::new();
    for (session, day) in sessions {
        let known =
            c.query_opt(sql!("SELECT 1 FROM pf_analytics_sessions_seen WHERE session_id = :1"), &args![session])?;
        if known.is_none() {
            *batch.sessions.entry(day).or_default() += 1;
            seen.push(vec![Value::from(session), Value::Date(day)]);
        }
    }
    c.insert_many(sql!("INSERT INTO pf_analytics_sessions_seen (session_id, day_start) VALUES (:1, :2)"), &seen)?;
    // A person's new days, each against their nearest days before and after (days
    // further than the longest window change nothing).
    let reach = Duration::days(WINDOWS.iter().copied().max().map_or(0, i64::from));
    let mut new_days = Vec::new();
    for (user, days) in active {
        let (Some(first), Some(last)) = (days.first(), days.last()) else { continue };
        let mut known: BTreeSet<NaiveDate> = c
            .query_map(
                sql!(
                    "SELECT day_start FROM pf_analytics_user_days
                     WHERE user_id = :1 AND day_start >= :2 AND day_start <= :3"
                ),
                &args![user, *first - reach, *last + reach],
                |r| r.opt_date(0).map(|d| d.unwrap_or_default()),
            )?
            .into_iter()
            .collect();
        for day in days {
            if known.contains(&day) {
                continue;
            }
            let before = known.range(..day).next_back().copied();
            let after = known.range(day..).next().copied();
            for w in WINDOWS {
                if let Some((from, to)) = window_change(day, i64::from(w), before, after) {
                    *batch.active_changes.entry((w, from)).or_default() += 1;
                    *batch.active_changes.entry((w, to + Duration::days(1))).or_default() -= 1;
                }
            }
            known.insert(day);
            new_days.push(vec![Value::from(user), Value::Date(day)]);
        }
    }
    c.insert_many(sql!("INSERT INTO pf_analytics_user_days (user_id, day_start) VALUES (:1, :2)"), &new_days)?;
    add_counts(c, &batch)
}

impl AnalyticsStore for Store {
    fn summarize_analytics(&self, until: Timestamp, limit: u32, audit: &AuditEntry) -> AppResult<u64> {
        let mut counted = 0u64;
        while counted < u64::from(limit) {
            let room = BATCH.min((u64::from(limit) - counted) as usize);
            // Nothing to count writes nothing, not even an audit row.
            let waiting = self.read(|c| {
                let from = position(c)?;
                events_after(c, from, until, 1)
            })?;
            if waiting.is_empty() {
                break;
            }
            let n = self.write_audited_with(audit, |c| {
                let from = position(c)?;
                let events = events_after(c, from.clone(), until, room)?;
                let Some(last) = events.last() else { return Err(counted_elsewhere()) };
                count(c, &events)?;
                // The position moves only from where this batch began.
                let moved = c.execute(
                    sql!(
                        "UPDATE pf_analytics_progress SET event_timestamp = :1, analytics_id = :2,
                         events_counted = events_counted + :3, updated_at = :4
                         WHERE id = 1 AND (analytics_id IS NULL AND :5 IS NULL OR analytics_id = :6)"
                    ),
                    &args![
                        last.at,
                        &last.id,
                        events.len() as i64,
                        chrono::Utc::now(),
                        from.as_ref().map(|p| p.1.clone()),
                        from.as_ref().map(|p| p.1.clone())
                    ],
                )?;
                if moved != 1 {
                    return Err(counted_elsewhere());
                }
                // Forget what no later event needs.
                let newest = last.at.date_naive();
                c.execute(
                    sql!("DELETE FROM pf_analytics_sessions_seen WHERE day_start < :1"),
                    &args![newest - Duration::days(SESSIONS_KEPT)],
                )?;
                c.execute(
                    sql!("DELETE FROM pf_analytics_user_days WHERE day_start < :1"),
                    &args![newest - Duration::days(USER_DAYS_KEPT)],
                )?;
                Ok((events.len(), format!("{} events counted, up to {}", events.len(), last.at.to_rfc3339())))
            });
            counted += match n {
                Ok(n) => n as u64,
                // Another instance is counting: it goes on from there.
                Err(AppError::Conflict(_)) => break,
                Err(e) => return Err(e),
            };
        }
        Ok(counted)
    }

    fn user_events(&self, user_id: &UserId, from: NaiveDate, to: NaiveDate) -> AppResult<UserEvents> {
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        self.read(|c| {
            // idx_analytics_user_date: one person's events in time order.
            let per_day = c.query_map(
                sql!(
                    sqlite: "SELECT substr(event_timestamp, 1, 10), COUNT(*) FROM pf_user_analytics
                        WHERE user_id = :1 AND event_timestamp >= :2 AND event_timestamp < :3
                        GROUP BY substr(event_timestamp, 1, 10) ORDER BY 1",
                    oracle: "SELECT TO_CHAR(event_timestamp, 'YYYY-MM-DD'), COUNT(*) FROM pf_user_analytics
                        WHERE user_id = :1 AND event_timestamp >= :2 AND event_timestamp < :3
                        GROUP BY TO_CHAR(event_timestamp, 'YYYY-MM-DD') ORDER BY 1"
                ),
                &args![user_id, midnight(from), midnight(to + Duration::days(1))],
                |r| {
                    let day = NaiveDate::parse_from_str(&r.text(0)?, "%Y-%m-%d").map_err(AppError::internal)?;
                    Ok((day, r.int(1)?))
                },
            )?;
            let last = c.query_map(
                sql!(
                    "SELECT event_timestamp, event_type, page_url FROM pf_user_analytics
                     WHERE user_id = :1 ORDER BY event_timestamp DESC",
                    limit ":2"
                ),
                &args![user_id, i64::from(USER_LAST_EVENTS)],
                |r| {
                    Ok(UserEvent {
                        at: r.time(0)?,
                        event_type: r.text(1)?,
                        page: r.opt_text(2)?.as_deref().and_then(page_path),
                    })
                },
            )?;
            Ok(UserEvents { per_day, last })
        })
    }

    fn analytics(&self, from: NaiveDate, to: NaiveDate) -> AppResult<AnalyticsView> {
        self.read(|c| {
            let mut days: Vec<AnalyticsDay> = std::iter::successors(Some(from), |d| d.succ_opt())
                .take_while(|d| *d <= to)
                .map(|day| AnalyticsDay {
                    day,
                    daily_active: 0,
                    weekly_active: 0,
                    monthly_active: 0,
                    sessions: 0,
                    events: Vec::new(),
                })
                .collect();
            let n_days = days.len();
            let index = |day: NaiveDate| usize::try_from((day - from).num_days()).ok().filter(|i| *i < n_days);
            // Active users: the changes summed from the first.
            let changes = c.query_map(
                sql!(
                    "SELECT window_days, day_start, delta_users FROM pf_analytics_active_changes
                     WHERE day_start <= :1 ORDER BY day_start, window_days"
                ),
                &args![to],
                |r| Ok((r.int(0)?, r.opt_date(1)?.unwrap_or_default(), r.int(2)?)),
            )?;
            let mut sums = [0i64; WINDOWS.len()];
            let mut changes = changes.into_iter().peekable();
            for d in &mut days {
                while let Some((w, _, n)) = changes.next_if(|(_, at, _)| *at <= d.day) {
                    if let Some(k) = WINDOWS.iter().position(|x| i64::from(*x) == w) {
                        sums[k] += n;
                    }
                }
                (d.daily_active, d.weekly_active, d.monthly_active) = (sums[0], sums[1], sums[2]);
            }
            let by_type = c.query_map(
                sql!(
                    "SELECT day_start, event_type, events FROM pf_analytics_daily
                     WHERE day_start >= :1 AND day_start <= :2"
                ),
                &args![from, to],
                |r| Ok((r.opt_date(0)?.unwrap_or_default(), r.text(1)?, r.int(2)?)),
            )?;
            let mut totals: HashMap<&str, i64> = HashMap::new();
            for (_, t, n) in &by_type {
                *totals.entry(t).or_default() += n;
            }
            let mut event_types: Vec<String> = totals.keys().map(|t| t.to_string()).collect();
            event_types.sort_by(|a, b| totals[b.as_str()].cmp(&totals[a.as_str()]).then(a.cmp(b)));
            for d in &mut days {
                d.events = vec![0; event_types.len()];
            }
            for (day, t, n) in &by_type {
                if let (Some(i), Some(k)) = (index(*day), event_types.iter().position(|x| x == t)) {
                    days[i].events[k] += n;
                }
            }
            let sessions = c.query_map(
                sql!(
                    "SELECT day_start, sessions FROM pf_analytics_sessions_daily
                     WHERE day_start >= :1 AND day_start <= :2"
                ),
                &args![from, to],
                |r| Ok((r.opt_date(0)?.unwrap_or_default(), r.int(1)?)),
            )?;
            for (day, n) in sessions {
                if let Some(i) = index(day) {
                    days[i].sessions = n;
                }
            }
            let mut top = |kind: &str| {
                c.query_map(
                    sql!(
                        "SELECT value, SUM(events) FROM pf_analytics_top_daily
                         WHERE kind = :1 AND day_start >= :2 AND day_start <= :3
                         GROUP BY value ORDER BY SUM(events) DESC, value",
                        limit ":4"
                    ),
                    &args![kind, from, to, TOP as i64],
                    |r| Ok((r.text(0)?, r.int(1)?)),
                )
            };
            let (top_pages, top_referrers) = (top("page")?, top("referrer")?);
            let Counted { until: counted_until, events: events_counted, .. } = counted(c)?;
            Ok(AnalyticsView { from, to, event_types, days, top_pages, top_referrers, counted_until, events_counted })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_new_day_opens_only_the_windows_no_other_day_covers() {
        // Alone: every day its window covers.
        assert_eq!(window_change(d("2026-01-10"), 7, None, None), Some((d("2026-01-10"), d("2026-01-16"))));
        // Three days after the last: the week already counts the person until the 12th.
        assert_eq!(
            window_change(d("2026-01-10"), 7, Some(d("2026-01-07")), None),
            Some((d("2026-01-14"), d("2026-01-16")))
        );
        // A day between two close days opens nothing a week long…
        assert_eq!(window_change(d("2026-01-10"), 7, Some(d("2026-01-09")), Some(d("2026-01-11"))), None);
        // …but its own day.
        assert_eq!(
            window_change(d("2026-01-10"), 1, Some(d("2026-01-09")), Some(d("2026-01-11"))),
            Some((d("2026-01-10"), d("2026-01-10")))
        );
        // A later day takes over from the day before it.
        assert_eq!(
            window_change(d("2026-01-10"), 30, None, Some(d("2026-01-20"))),
            Some((d("2026-01-10"), d("2026-01-19")))
        );
    }
}
