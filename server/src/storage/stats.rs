//! The user statistics (`pf_mv_user_stats`) and the record of their refreshes.
//!
//! Every console instance runs the refresh job; its lease in `pf_console_jobs`
//! (`jobs.rs`) decides which one refreshes. A lease outlives any refresh, so an
//! instance that dies mid-refresh only delays the next one. The refresh commits its intent (`.begin`) first and its
//! outcome after: Oracle's `DBMS_MVIEW.REFRESH` commits by itself, and SQLite's rebuild
//! runs in slices (see [`Store::rebuild_stats`]).

use super::driver::{Dialect, ReadRow, Work};
use super::jobs;
use super::store::Store;
use crate::{args, sql};
use pathfinder::dto::{JobRun, UserActivity};
use pathfinder::storage::{AuditEntry, RefreshWhen, StatsStore};
use pathfinder::{AppResult, UserId};

const JOB: &str = "user_stats";
/// Longer than any refresh takes.
const LEASE: chrono::Duration = chrono::Duration::minutes(60);

/// Users per transaction when SQLite rebuilds its statistics table: one transaction
/// over a million users held the write lock for 16 s, longer than sign-ins wait for
/// it; a slice holds it for about 70 ms (and the whole rebuild took 13.8 s).
pub const SQLITE_SLICE: i64 = 5_000;

impl Store {
    /// Rebuilds the statistics. Oracle refreshes the materialized view, complete and
    /// atomically (readers see the old rows until it commits; writers are not held
    /// up); the refresh commits by itself. SQLite replaces its table's rows a slice of
    /// users at a time, each slice in a transaction of its own: a user added or
    /// removed meanwhile shows at the next refresh.
    fn rebuild_stats(&self) -> AppResult<()> {
        if self.dialect() == Dialect::Oracle {
            let mut c = self.conn(Work::Maintenance, true)?;
            c.execute(sql!(oracle: "BEGIN DBMS_MVIEW.REFRESH('PF_MV_USER_STATS', 'C'); END;"), &[])?;
            return refresh_stale_career_summaries(&mut c);
        }
        let first = self.read(|c| {
            let row = c.query_opt(sql!(sqlite: "SELECT MIN(user_id) FROM pf_users"), &[])?;
            Ok(row.map(|r| r.opt_text(0)).transpose()?.flatten())
        })?;
        let Some(mut from) = first else {
            return self.write(|c| c.execute(sql!(sqlite: "DELETE FROM pf_mv_user_stats"), &[]).map(|_| ()));
        };
        // Rows of users that are gone, below the first user.
        self.write(|c| c.execute(sql!(sqlite: "DELETE FROM pf_mv_user_stats WHERE user_id < :1"), &args![&from]))?;
        loop {
            let (upto, next) = self.read(|c| {
                let row = c.query_opt(
                    sql!(
                        sqlite: "SELECT MAX(user_id) FROM (SELECT user_id FROM pf_users WHERE user_id >= :1
                            ORDER BY user_id LIMIT :2)"
                    ),
                    &args![&from, SQLITE_SLICE],
                )?;
                let upto = row.map(|r| r.text(0)).transpose()?.unwrap_or_else(|| from.clone());
                let row =
                    c.query_opt(sql!(sqlite: "SELECT MIN(user_id) FROM pf_users WHERE user_id > :1"), &args![&upto])?;
                let next = row.map(|r| r.opt_text(0)).transpose()?.flatten();
                Ok((upto, next))
            })?;
            self.write(|c| {
                // The slice's rows, and those of users gone since, up to the next user.
                match &next {
                    Some(next) => c.execute(
                        sql!(sqlite: "DELETE FROM pf_mv_user_stats WHERE user_id >= :1 AND user_id < :2"),
                        &args![&from, next],
                    )?,
                    None => {
                        c.execute(sql!(sqlite: "DELETE FROM pf_mv_user_stats WHERE user_id >= :1"), &args![&from])?
                    }
                };
                // Grouped by the key alone (the username follows from it): grouping by
                // both made SQLite sort every slice, four times the work.
                c.execute(
                    sql!(
                        sqlite: "INSERT INTO pf_mv_user_stats (user_id, username, total_sessions, total_events,
                            last_activity, first_activity)
                            SELECT u.user_id, u.username, COUNT(DISTINCT a.session_id), COUNT(a.analytics_id),
                                   MAX(a.event_timestamp), MIN(a.event_timestamp)
                            FROM pf_users u LEFT JOIN pf_user_analytics a ON u.user_id = a.user_id
                            WHERE u.user_id >= :1 AND u.user_id <= :2
                            GROUP BY u.user_id"
                    ),
                    &args![&from, &upto],
                )?;
                Ok(())
            })?;
            match next {
                Some(next) => from = next,
                None => return Ok(()),
            }
        }
    }
}

/// Oracle: each per-user `career_summary` whose experiences changed since its last
/// refresh (the product writes them, and nothing else refreshes it). Oracle tracks
/// that in `USER_MVIEWS.STALENESS`; one that Oracle cannot judge (`UNKNOWN`,
/// `NEEDS_COMPILE`) is refreshed too. Each refresh commits by itself.
fn refresh_stale_career_summaries(c: &mut super::driver::Conn) -> AppResult<()> {
    let stale = c.query_map(
        sql!(oracle: "SELECT mview_name FROM user_mviews
            WHERE mview_name LIKE 'PF\\_USER\\_%\\_CAREER\\_SUMMARY' ESCAPE '\\' AND staleness <> 'FRESH'"),
        &[],
        |r| r.text(0),
    )?;
    for name in &stale {
        c.execute(sql!(oracle: "BEGIN DBMS_MVIEW.REFRESH(:1, 'C'); END;"), &args![name.as_str()])?;
    }
    if !stale.is_empty() {
        tracing::info!(sets = stale.len(), "refreshed the career summaries the product changed");
    }
    Ok(())
}

impl StatsStore for Store {
    fn refresh_user_stats(&self, when: RefreshWhen, audit_entry: &AuditEntry) -> AppResult<Option<JobRun>> {
        let busy = "Another console instance is refreshing the statistics; try again when it is done.";
        self.run_console_job(JOB, LEASE, when, busy, audit_entry, || {
            self.rebuild_stats()?;
            // The dormant users' count is as of the same refresh.
            pathfinder::storage::DormantStore::count_dormancy(self)?;
            Ok(None)
        })
    }

    fn last_stats_refresh(&self) -> AppResult<JobRun> {
        self.read(|c| jobs::last_run(c, JOB))
    }

    fn user_activity(&self, user_id: &UserId) -> AppResult<Option<UserActivity>> {
        let row = self.read(|c| {
            c.query_opt(
                sql!(
                    "SELECT total_sessions, total_events, first_activity, last_activity
                     FROM pf_mv_user_stats WHERE user_id = :1"
                ),
                &args![user_id],
            )
        })?;
        row.map(|r| {
            Ok(UserActivity {
                total_sessions: r.opt_int(0)?.unwrap_or(0),
                total_events: r.opt_int(1)?.unwrap_or(0),
                first_activity: r.opt_time(2)?,
                last_activity: r.opt_time(3)?,
            })
        })
        .transpose()
    }
}
