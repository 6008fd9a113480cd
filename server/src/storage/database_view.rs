//! The database's own view beside the pool's (the Pool page): SQLite's files and
//! page cache; Oracle's sessions by status, when the account may read `V$SESSION`.
//! And what it says about itself (the Diagnostics page): version, clock, migrations;
//! with what the console asks of the backend itself (`Storage`).

use super::driver::{Dialect, ReadRow};
use super::store::{Backend, Store};
use crate::sql;
use pathfinder::diagnostics::{AppliedMigration, DatabaseFacts};
use pathfinder::pool::DatabaseView;
use pathfinder::storage::{PoolStats, Storage};
use pathfinder::AppResult;

pub fn facts(store: &Store) -> AppResult<DatabaseFacts> {
    store.read(|c| {
        let version = c.query_opt(
            sql!(
                sqlite: "SELECT 'SQLite ' || sqlite_version()",
                oracle: "SELECT product || ' ' || version_full FROM product_component_version
                    WHERE product LIKE 'Oracle%' FETCH FIRST 1 ROWS ONLY"
            ),
            &[],
        )?;
        let now = c.query_opt(
            sql!(
                sqlite: "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')",
                oracle: "SELECT SYS_EXTRACT_UTC(SYSTIMESTAMP) FROM dual"
            ),
            &[],
        )?;
        let migrations =
            c.query_map(sql!("SELECT version, name, applied_at FROM pf_schema_version ORDER BY version"), &[], |r| {
                Ok(AppliedMigration { version: r.int(0)?, name: r.text(1)?, applied_at: r.opt_time(2)? })
            })?;
        Ok(DatabaseFacts {
            version: version.map(|r| r.text(0)).transpose()?.unwrap_or_default(),
            now: now.map(|r| r.time(0)).transpose()?.unwrap_or_else(chrono::Utc::now),
            migrations,
        })
    })
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

pub fn of(store: &Store) -> AppResult<DatabaseView> {
    match &store.db {
        Backend::Sqlite(db) => sqlite(store, db.path()),
        #[cfg(feature = "oracle")]
        Backend::Oracle(_) => oracle(store),
    }
}

fn sqlite(store: &Store, path: &std::path::Path) -> AppResult<DatabaseView> {
    use super::driver::sqlite::{file_size, log_of};
    let wal = file_size(&log_of(path));
    let (page_size, pages, free, cache, autocheckpoint, mode) = store.read(|c| {
        let int = |c: &mut super::driver::Conn, s| c.query_int(s, &[]);
        Ok((
            int(c, sql!(sqlite: "PRAGMA page_size"))?,
            int(c, sql!(sqlite: "PRAGMA page_count"))?,
            int(c, sql!(sqlite: "PRAGMA freelist_count"))?,
            int(c, sql!(sqlite: "PRAGMA cache_size"))?,
            int(c, sql!(sqlite: "PRAGMA wal_autocheckpoint"))?,
            c.query_opt(sql!(sqlite: "PRAGMA journal_mode"), &[])?.map(|r| r.text(0)).transpose()?.unwrap_or_default(),
        ))
    })?;
    let page = page_size.max(1) as u64;
    // A negative cache_size is in KiB; a positive one in pages.
    let cache = if cache < 0 { cache.unsigned_abs() * 1024 } else { cache as u64 * page };
    Ok(DatabaseView {
        rows: vec![
            ("Database file".into(), mib(file_size(path))),
            ("Pages".into(), format!("{pages} of {page} bytes, {free} free")),
            ("Journal".into(), mode),
            ("Write-ahead log".into(), format!("{} ({} frames)", mib(wal), wal / (page + 24))),
            ("Checkpoint".into(), format!("automatic, when the log passes {autocheckpoint} pages")),
            ("Page cache".into(), format!("up to {} per connection", mib(cache))),
        ],
        note: None,
    })
}

#[cfg(feature = "oracle")]
fn oracle(store: &Store) -> AppResult<DatabaseView> {
    let sessions = store.read(|c| {
        c.query_map(sql!(oracle: "SELECT status, COUNT(*) FROM v$session GROUP BY status ORDER BY status"), &[], |r| {
            Ok((r.text(0)?, r.int(1)?))
        })
    });
    Ok(match sessions {
        Ok(rows) => DatabaseView {
            rows: rows.into_iter().map(|(status, n)| (format!("Sessions {status}"), n.to_string())).collect(),
            note: None,
        },
        Err(e) => {
            tracing::info!(error = %e, "V$SESSION is not readable");
            DatabaseView {
                rows: Vec::new(),
                note: Some(
                    "This account may not read V$SESSION, so the database's own view of its sessions is not shown: \
                     grant it SELECT_CATALOG_ROLE (on Autonomous Database, ADMIN may)."
                        .into(),
                ),
            }
        }
    })
}

impl Storage for Store {
    fn backend_name(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "sqlite",
            Dialect::Oracle => "oracle",
        }
    }

    fn ping(&self) -> AppResult<()> {
        self.read(|c| c.query_int(crate::sql!(sqlite: "SELECT 1", oracle: "SELECT 1 FROM dual"), &[]).map(|_| ()))
    }

    fn pool_stats(&self) -> PoolStats {
        self.database().pool_stats()
    }

    fn database_view(&self) -> AppResult<pathfinder::pool::DatabaseView> {
        of(self)
    }

    fn operations(&self) -> pathfinder::queries::QueriesPage {
        crate::metrics::operations()
    }

    fn database_facts(&self) -> AppResult<pathfinder::diagnostics::DatabaseFacts> {
        facts(self)
    }
}
