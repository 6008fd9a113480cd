//! Storage use and the optimizer's statistics: two jobs in `pf_console_jobs` that
//! every console instance runs and one instance does each round (see `jobs.rs`).
//!
//! A storage sample measures every shared table with its indexes (SQLite: `dbstat`,
//! one b-tree per statement so no read holds the log back for long; Oracle:
//! `USER_SEGMENTS` with index and LOB segments counted for their table), every
//! per-user set (SQLite: its file; Oracle: its tables' segments), the whole and its
//! limit, and records them in `pf_storage_samples` (the largest sets only; each
//! set's size also goes to its registry row, for its owner's page).

use super::driver::sqlite::{file_size, log_of};
use super::driver::{Conn, Dialect, ReadRow, Work};
use super::jobs;
use super::migrations::{created_object, user_table_statements};
use super::store::{Backend, Store};
use crate::{args, sql};
use chrono::Utc;
use pathfinder::diagnostics::{Diagnostics, JobFact, Setting};
use pathfinder::dto::{JobRun, Timestamp};
use pathfinder::pool::{PoolHistory, PoolPage};
use pathfinder::storage::{
    AuditEntry, AuditStore, BackupStore, OperationsStore, RefreshWhen, SchemaStore, StatsStore, Storage,
};
use pathfinder::usage::{growth, LogCheckpoint, Measured, ObjectSize, StoragePage, StoragePolicy};
use pathfinder::{AppResult, Username};
use std::collections::HashMap;
use std::path::Path;

const SAMPLE_JOB: &str = "storage_sample";
const STATISTICS_JOB: &str = "db_statistics";
/// Longer than any sample or gathering takes.
const LEASE: chrono::Duration = chrono::Duration::hours(2);
/// The sets kept by name in each sample (the page's list).
pub const LARGEST_SETS: usize = 50;
/// The growth rate is fitted over this much of the history.
const GROWTH_WINDOW: chrono::Duration = chrono::Duration::days(7);

impl OperationsStore for Store {
    fn sample_storage(
        &self,
        when: RefreshWhen,
        policy: &StoragePolicy,
        audit_entry: &AuditEntry,
    ) -> AppResult<Option<JobRun>> {
        let busy = "Another console instance is sampling the storage; try again when it is done.";
        self.run_console_job(SAMPLE_JOB, LEASE, when, busy, audit_entry, || {
            let at = Utc::now();
            let measured = self.measure(policy)?;
            let keep_since = at - chrono::Duration::days(policy.history_days.into());
            self.write(|c| record(c, at, &measured, keep_since))?;
            Ok(Some(format!(
                "{} used{}; {} tables, {} per-user sets",
                pathfinder::usage::bytes_text(measured.used),
                measured.limit.map(|l| format!(" of {}", pathfinder::usage::bytes_text(l))).unwrap_or_default(),
                measured.tables.len(),
                measured.sets.len()
            )))
        })
    }

    fn storage_page(&self, policy: &StoragePolicy) -> AppResult<StoragePage> {
        self.read(|c| {
            let at = c.query_opt(sql!("SELECT MAX(sampled_at) FROM pf_storage_samples"), &[])?;
            let sampled_at = at.map(|r| r.opt_time(0)).transpose()?.flatten();
            let mut page = StoragePage {
                backend: self.backend_name().into(),
                policy: *policy,
                sampled_at,
                sets_count: c.query_int(sql!("SELECT COUNT(*) FROM pf_user_table_sets"), &[])?,
                last_sample: jobs::last_run(c, SAMPLE_JOB)?,
                last_statistics: jobs::last_run(c, STATISTICS_JOB)?,
                ..Default::default()
            };
            let Some(at) = sampled_at else { return Ok(page) };
            let rows = c.query_map(
                sql!(
                    "SELECT object_kind, object_name, bytes, index_bytes FROM pf_storage_samples
                     WHERE sampled_at = :1"
                ),
                &args![at],
                |r| Ok((r.text(0)?, r.text(1)?, r.int(2)?, r.int(3)?)),
            )?;
            for (kind, name, bytes, index_bytes) in rows {
                match (kind.as_str(), name.as_str()) {
                    ("database", "used") => page.used = bytes,
                    ("database", "limit") => page.limit = Some(bytes),
                    ("database", "wal") => page.wal = Some(bytes),
                    ("table", _) => page.tables.push(ObjectSize { name, bytes, index_bytes }),
                    ("user_sets", _) => page.sets_bytes = bytes,
                    ("user_set", _) => page.largest_sets.push((name, bytes)),
                    _ => {}
                }
            }
            page.tables.sort_by(|a, b| b.total().cmp(&a.total()).then(a.name.cmp(&b.name)));
            page.largest_sets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let recent = history_of(c, "database", "used", at - GROWTH_WINDOW)?;
            page.growth = growth(&recent, page.limit);
            Ok(page)
        })
    }

    fn storage_history(&self, since: Timestamp, tables: &[String]) -> AppResult<Vec<(String, Vec<(i64, i64)>)>> {
        self.read(|c| {
            let mut series = vec![
                ("used".to_string(), history_of(c, "database", "used", since)?),
                ("limit".to_string(), history_of(c, "database", "limit", since)?),
            ];
            for t in tables {
                series.push((t.clone(), history_of(c, "table", t, since)?));
            }
            Ok(series)
        })
    }

    fn gather_statistics(&self, when: RefreshWhen, audit_entry: &AuditEntry) -> AppResult<Option<JobRun>> {
        let busy = "Another console instance is gathering the statistics; try again when it is done.";
        self.run_console_job(STATISTICS_JOB, LEASE, when, busy, audit_entry, || {
            let mut c = self.conn(Work::Maintenance, true)?;
            // SQLite: every table checked (0x10000), analyzed where its row count moved
            // enough to matter (0x02), with the pragma's own bound on the work. Oracle:
            // the tables whose statistics are stale or missing.
            c.execute(
                sql!(
                    sqlite: "PRAGMA optimize = 0x10002",
                    oracle: "BEGIN DBMS_STATS.GATHER_SCHEMA_STATS(ownname => USER, options => 'GATHER AUTO'); END;"
                ),
                &[],
            )?;
            Ok(None)
        })
    }

    fn last_statistics(&self) -> AppResult<JobRun> {
        self.read(|c| jobs::last_run(c, STATISTICS_JOB))
    }

    fn last_storage_sample(&self) -> AppResult<JobRun> {
        self.read(|c| jobs::last_run(c, SAMPLE_JOB))
    }

    fn checkpoint_log(&self) -> AppResult<Option<LogCheckpoint>> {
        self.sqlite().map(|db| db.checkpoint()).transpose()
    }

    fn storage_series(&self, policy: &StoragePolicy, largest: usize) -> AppResult<Vec<(String, Vec<(i64, i64)>)>> {
        let page = self.storage_page(policy)?;
        let tables: Vec<String> = page.tables.iter().take(largest).map(|t| t.name.clone()).collect();
        let since = Utc::now() - chrono::Duration::days(policy.history_days.into());
        self.storage_history(since, &tables)
    }

    fn pool_page(&self, history: &PoolHistory) -> AppResult<PoolPage> {
        let stats = self.pool_stats();
        let recent = history.samples(false);
        let (acquire, usage, acquired) = history.since_start();
        Ok(PoolPage {
            backend: self.backend_name().to_string(),
            max: stats.max,
            min: stats.min,
            now: recent.last().copied(),
            acquire,
            usage,
            acquired,
            samples: recent.len(),
            database: self.database_view()?,
        })
    }

    fn diagnostics(&self, settings: &[Setting]) -> AppResult<Diagnostics> {
        // The clocks' difference is taken against the middle of the database's answer.
        let asked = Utc::now();
        let database = self.database_facts()?;
        let answered = Utc::now();
        let midpoint = asked + (answered - asked) / 2;
        let oracle = self.dialect() == Dialect::Oracle;
        let job = |name: &str, run: JobRun| JobFact {
            name: name.into(),
            finished_at: run.finished_at,
            status: run.status,
            detail: run.duration_ms.map(|ms| format!("took {ms} ms")).unwrap_or_default(),
        };
        let verify = self.last_chain_verify()?;
        let analytics = self.read(super::analytics::counted)?;
        let (finished_at, status, detail) = match self.backups(1)?.into_iter().next() {
            _ if oracle => (
                None,
                None,
                "taken by the platform (Autonomous Database: automatic backups, point-in-time recovery)".into(),
            ),
            Some(b) => (
                b.finished_at,
                Some(b.status),
                format!("{}; verification: {}", b.location, b.verify_status.as_deref().unwrap_or("not verified yet")),
            ),
            None => (None, None, "none yet: pathfinder-admin backup create".into()),
        };
        let pool = self.pool_stats();
        Ok(Diagnostics {
            console_version: env!("CARGO_PKG_VERSION").into(),
            build: format!(
                "{}, {} {}",
                if cfg!(debug_assertions) { "debug" } else { "release" },
                std::env::consts::ARCH,
                std::env::consts::OS
            ),
            backend: self.backend_name().to_string(),
            clock_difference_ms: (database.now - midpoint).num_milliseconds(),
            database,
            latest_schema: self.latest_schema_version(),
            pool_max: pool.max,
            pool_min: pool.min,
            pool_open: pool.open,
            settings: settings.to_vec(),
            jobs: vec![
                job("User statistics refresh", self.last_stats_refresh()?),
                job("Optimizer statistics", self.last_statistics()?),
                job("Storage sample", self.last_storage_sample()?),
                JobFact {
                    name: "Audit chain verification".into(),
                    finished_at: verify.as_ref().and_then(|v| v.finished_at),
                    status: verify.as_ref().and_then(|v| v.outcome.clone()),
                    detail: verify.and_then(|v| v.result).unwrap_or_else(|| "run it from the Audit page".into()),
                },
                JobFact { name: "Backup".into(), finished_at, status, detail },
                JobFact {
                    name: "Analytics summaries".into(),
                    finished_at: analytics.at,
                    status: analytics.at.map(|_| "ok".to_string()),
                    detail: match analytics.until {
                        Some(t) => {
                            format!("{} events counted, up to {}", analytics.events, t.format("%Y-%m-%d %H:%M UTC"))
                        }
                        None => "no events counted yet (each upkeep round counts new ones)".into(),
                    },
                },
            ],
        })
    }
}

/// One object's total bytes per sample since `since`: (ms, bytes), oldest first.
fn history_of(c: &mut Conn, kind: &str, name: &str, since: Timestamp) -> AppResult<Vec<(i64, i64)>> {
    c.query_map(
        sql!(
            "SELECT sampled_at, bytes + index_bytes FROM pf_storage_samples
             WHERE object_kind = :1 AND object_name = :2 AND sampled_at >= :3 ORDER BY sampled_at"
        ),
        &args![kind, name, since],
        |r| Ok((r.time(0)?.timestamp_millis(), r.int(1)?)),
    )
}

/// Writes one sample's rows and every set's size, and deletes samples older than
/// `keep_since`.
fn record(c: &mut Conn, at: Timestamp, m: &Measured, keep_since: Timestamp) -> AppResult<()> {
    let row = |kind: &str, name: &str, bytes: i64, index_bytes: i64| args![at, kind, name, bytes, index_bytes].to_vec();
    let mut rows = vec![row("database", "used", m.used, 0)];
    rows.extend(m.limit.map(|l| row("database", "limit", l, 0)));
    rows.extend(m.wal.map(|w| row("database", "wal", w, 0)));
    rows.extend(m.tables.iter().map(|t| row("table", &t.name, t.bytes, t.index_bytes)));
    rows.push(row("user_sets", "total", m.sets.iter().map(|s| s.1).sum(), 0));
    let mut largest: Vec<&(String, i64)> = m.sets.iter().collect();
    largest.sort_by(|a, b| b.1.cmp(&a.1));
    rows.extend(largest.iter().take(LARGEST_SETS).map(|(u, b)| row("user_set", u, *b, 0)));
    c.insert_many(
        sql!(
            "INSERT INTO pf_storage_samples (sampled_at, object_kind, object_name, bytes, index_bytes)
             VALUES (:1, :2, :3, :4, :5)"
        ),
        &rows,
    )?;
    let sizes: Vec<_> = m.sets.iter().map(|(u, b)| args![*b, at, u].to_vec()).collect();
    c.insert_many(
        sql!("UPDATE pf_user_table_sets SET size_bytes = :1, size_sampled_at = :2 WHERE username = :3"),
        &sizes,
    )?;
    c.execute(sql!("DELETE FROM pf_storage_samples WHERE sampled_at < :1"), &args![keep_since])?;
    Ok(())
}

/// `path` and its write-ahead log, in bytes.
fn with_log(path: &Path) -> i64 {
    (file_size(path) + file_size(&log_of(path))) as i64
}

impl Store {
    /// Measures everything a sample records (reads only; no pooled connection is held
    /// on SQLite, whose walk takes a connection of its own).
    fn measure(&self, policy: &StoragePolicy) -> AppResult<Measured> {
        let usernames: Vec<String> =
            self.read(|c| c.query_map(sql!("SELECT username FROM pf_user_table_sets"), &[], |r| r.text(0)))?;
        let mut m = match &self.db {
            Backend::Sqlite(db) => {
                let mut c = db.read_file(db.path())?;
                let mut m = Measured { tables: sqlite_tables(&mut c)?, ..Default::default() };
                for u in usernames {
                    let file = Username::parse(&u).ok().and_then(|name| self.user_tables_file(&name));
                    m.sets.push((u, file.map_or(0, |f| with_log(&f))));
                }
                let main_and_log = with_log(db.path());
                m.wal = Some(file_size(&log_of(db.path())) as i64);
                m.used = main_and_log + m.sets.iter().map(|s| s.1).sum::<i64>();
                m.limit = free_space(db.path()).map(|free| m.used + free);
                m
            }
            #[cfg(feature = "oracle")]
            Backend::Oracle(_) => {
                let mut c = self.conn(Work::Maintenance, false)?;
                oracle_measure(&mut c, &usernames)?
            }
        };
        if let Some(l) = policy.limit_bytes {
            m.limit = Some(l as i64);
        }
        Ok(m)
    }
}

/// Space left for the database on the file system it is on.
fn free_space(path: &Path) -> Option<i64> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    rustix::fs::statvfs(folder).ok().map(|s| (s.f_bavail.saturating_mul(s.f_frsize)) as i64)
}

/// Every table of the main file with its indexes, from `dbstat`, one b-tree per
/// statement. A virtual table's shadow tables (the FTS5 search indexes) count as its
/// index bytes.
fn sqlite_tables(c: &mut Conn) -> AppResult<Vec<ObjectSize>> {
    let trees = c.query_map(
        sql!(sqlite: "SELECT name, tbl_name, type FROM sqlite_master WHERE type IN ('table', 'index') AND rootpage > 0"),
        &[],
        |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)),
    )?;
    let virtual_tables =
        c.query_map(sql!(sqlite: "SELECT name FROM sqlite_master WHERE type = 'table' AND rootpage = 0"), &[], |r| {
            r.text(0)
        })?;
    let mut sizes: HashMap<String, ObjectSize> = HashMap::new();
    for (name, table, kind) in trees {
        let bytes = c.query_int(
            sql!(sqlite: "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = :1 AND aggregate = 1"),
            &args![&name],
        )?;
        let owner = virtual_tables.iter().find(|v| table.starts_with(&format!("{v}_")));
        let (owner, is_index) = match owner {
            Some(v) => (v.clone(), true),
            None => (table, kind == "index"),
        };
        let entry = sizes.entry(owner.clone()).or_insert_with(|| ObjectSize { name: owner, ..Default::default() });
        if is_index {
            entry.index_bytes += bytes;
        } else {
            entry.bytes += bytes;
        }
    }
    Ok(sizes.into_values().collect())
}

/// The schema's segments by table (index segments through `USER_INDEXES`, LOB
/// segments through `USER_LOBS`), split into shared tables and per-user sets; the
/// limit is the smaller of the tablespace quota and the tablespace's size, where the
/// account may read them.
#[cfg(feature = "oracle")]
fn oracle_measure(c: &mut Conn, usernames: &[String]) -> AppResult<Measured> {
    let segments = c.query_map(
        sql!(
            oracle: "SELECT LOWER(COALESCE(i.table_name, l.table_name, s.segment_name)),
                SUM(CASE WHEN s.segment_type IN ('INDEX', 'INDEX PARTITION', 'INDEX SUBPARTITION', 'LOBINDEX')
                    THEN 0 ELSE s.bytes END),
                SUM(CASE WHEN s.segment_type IN ('INDEX', 'INDEX PARTITION', 'INDEX SUBPARTITION', 'LOBINDEX')
                    THEN s.bytes ELSE 0 END)
             FROM user_segments s
             LEFT JOIN user_indexes i ON i.index_name = s.segment_name
                AND s.segment_type IN ('INDEX', 'INDEX PARTITION', 'INDEX SUBPARTITION', 'LOBINDEX')
             LEFT JOIN user_lobs l ON l.segment_name = s.segment_name
                AND s.segment_type IN ('LOBSEGMENT', 'LOB PARTITION', 'LOB SUBPARTITION')
             WHERE s.segment_name NOT LIKE 'BIN$%'
             GROUP BY LOWER(COALESCE(i.table_name, l.table_name, s.segment_name))"
        ),
        &[],
        |r| Ok(ObjectSize { name: r.text(0)?, bytes: r.int(1)?, index_bytes: r.int(2)? }),
    )?;
    let set_tables = SetTables::of(c.dialect())?;
    let mut m = Measured::default();
    let mut sets: HashMap<&str, i64> = usernames.iter().map(|u| (u.as_str(), 0)).collect();
    for t in segments {
        m.used += t.total();
        let owner = set_tables.owner(&t.name, |u| sets.contains_key(u)).map(str::to_string);
        match owner.and_then(|u| sets.get_mut(u.as_str())) {
            Some(size) => *size += t.total(),
            None => m.tables.push(t),
        }
    }
    m.sets = sets.into_iter().map(|(u, b)| (u.to_string(), b)).collect();
    let readable = |r: AppResult<Option<super::driver::Values>>, what: &str| match r {
        Ok(row) => row.map(|r| r.opt_int(0)).transpose().ok().flatten().flatten().filter(|b| *b > 0),
        Err(e) => {
            tracing::info!(error = %e, "{what} is not readable; the storage limit leaves it out");
            None
        }
    };
    let quota = readable(
        c.query_opt(
            sql!(
                oracle: "SELECT max_bytes FROM user_ts_quotas
                 WHERE tablespace_name = (SELECT default_tablespace FROM user_users)"
            ),
            &[],
        ),
        "USER_TS_QUOTAS",
    );
    let tablespace = readable(
        c.query_opt(
            sql!(
                oracle: "SELECT m.tablespace_size * t.block_size FROM dba_tablespace_usage_metrics m
                 JOIN dba_tablespaces t ON t.tablespace_name = m.tablespace_name
                 WHERE m.tablespace_name = (SELECT default_tablespace FROM user_users)"
            ),
            &[],
        ),
        "DBA_TABLESPACE_USAGE_METRICS",
    );
    m.limit = match (quota, tablespace) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(m)
}

/// The per-user tables' names: `pf_user_<u>_<t>` where `<t>` is one of the template's
/// tables (shared tables such as `pf_user_sessions` have the same prefix).
#[cfg_attr(not(feature = "oracle"), allow(dead_code))]
struct SetTables {
    /// The template's table names after `pf_user_<u>_`, longest first.
    suffixes: Vec<String>,
}

#[cfg_attr(not(feature = "oracle"), allow(dead_code))]
impl SetTables {
    fn of(dialect: Dialect) -> AppResult<SetTables> {
        let prefix = format!("{}x_", pathfinder::username::USER_OBJECT_PREFIX);
        let mut suffixes: Vec<String> = user_table_statements(dialect, &Username::parse("x")?)
            .iter()
            .filter_map(|s| created_object(s))
            .filter(|(kind, _)| *kind == "table")
            .filter_map(|(_, name)| name.strip_prefix(&prefix).map(str::to_string))
            .collect();
        suffixes.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Ok(SetTables { suffixes })
    }

    /// The user whose set `table` is, if `registered` says they have one.
    fn owner<'t>(&self, table: &'t str, registered: impl Fn(&str) -> bool) -> Option<&'t str> {
        let rest = table.strip_prefix(pathfinder::username::USER_OBJECT_PREFIX)?;
        self.suffixes.iter().find_map(|s| rest.strip_suffix(s.as_str())?.strip_suffix('_').filter(|u| registered(u)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_table_is_told_from_a_shared_table_of_the_same_prefix() {
        let users = ["sessions", "ann_lee", "bob_chat"];
        let sets = SetTables::of(Dialect::Oracle).unwrap();
        let owner = |t| sets.owner(t, |u| users.contains(&u));
        assert_eq!(owner("pf_user_ann_lee_experiences"), Some("ann_lee"));
        assert_eq!(owner("pf_user_ann_lee_experiences_archive"), Some("ann_lee"));
        assert_eq!(owner("pf_user_sessions_experiences"), Some("sessions"));
        assert_eq!(owner("pf_user_bob_chat_chat_messages"), Some("bob_chat"));
        assert_eq!(owner("pf_user_sessions"), None, "the shared table");
        assert_eq!(owner("pf_user_bob_experiences"), None, "not a registered set");
    }
}
