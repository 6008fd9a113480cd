//! Storage: every operation of the interface in `pathfinder::storage`, written once
//! over the driver interface (`driver/`). The database URL picks the driver:
//! `sqlite:<path>` (the embedded default) or `oracle://…` (production).
//!
//! One file per capability holds its flow: its SQL (`sql!`, with each dialect's text
//! where they differ), its steps, its validation and its audit rows. Every change is
//! written with its audit row in one transaction ([`Store::write_audited`]); work that
//! cannot share a transaction (Oracle DDL, SQLite's per-user files, a materialized
//! view refresh) commits its intent first (`<action>.begin`) and its outcome after.

pub mod audit;
pub mod driver;
pub mod migrations;
pub mod oracle_lint;
pub mod schema_model;
pub mod search;
pub mod sql;

mod accounts;
pub mod backups;
mod bulk;
mod database_view;
mod flags;
mod invitations;
mod jobs;
mod keys;
mod mfa;
mod operations;
mod retention;
pub mod schema;
mod sessions;
pub mod stats;
mod user_tables;
mod users;

use crate::config::DatabaseUrl;
use crate::crypto::Keyring;
use driver::sqlite::SqliteDb;
use driver::{Conn, Database, Dialect, Work};
use pathfinder::storage::{AuditEntry, PoolStats, Storage};
use pathfinder::{AppError, AppResult};
use std::sync::Arc;

pub use bulk::insert_sql;
pub use migrations::failure_audit;
pub use retention::{partition_statements, retention_set_statements};
pub use user_tables::{career_statement, counts_statement, drop_statement};

/// The storage of one database, whichever the driver.
pub struct Store {
    db: Backend,
    /// This process's name in shared job leases (`pf_console_jobs`).
    instance: String,
    /// The master keys that wrap users' data keys (field encryption).
    keyring: Keyring,
}

enum Backend {
    Sqlite(SqliteDb),
    #[cfg(feature = "oracle")]
    Oracle(driver::oracle::OracleDb),
}

/// Opens the backend the URL names. Fails with one sentence that says what to do.
pub fn open(url: &DatabaseUrl, keyring: Keyring) -> AppResult<Arc<dyn Storage>> {
    Ok(Arc::new(Store::open(url, keyring)?))
}

impl Store {
    pub fn open(url: &DatabaseUrl, keyring: Keyring) -> AppResult<Store> {
        let db =
            match url {
                DatabaseUrl::Sqlite(path) => Backend::Sqlite(SqliteDb::open(path)?),
                #[cfg(feature = "oracle")]
                DatabaseUrl::Oracle(o) => {
                    Backend::Oracle(driver::oracle::OracleDb::connect(&o.user, &o.password, &o.connect_string)?)
                }
                #[cfg(not(feature = "oracle"))]
                DatabaseUrl::Oracle(_) => return Err(AppError::invalid(
                    "This build has no Oracle support: rebuild with `--features oracle` (and install Oracle Instant \
                     Client) or use a sqlite: database URL.",
                )),
            };
        Ok(Store { db, instance: pathfinder::new_id(), keyring })
    }

    /// The embedded database at `path`, with the master key kept beside it (made if absent).
    pub fn open_sqlite(path: &std::path::Path) -> AppResult<Store> {
        let keyring = crate::config::keyring(&DatabaseUrl::Sqlite(path.to_path_buf()))?;
        Store::open(&DatabaseUrl::Sqlite(path.to_path_buf()), keyring)
    }

    fn database(&self) -> &dyn Database {
        match &self.db {
            Backend::Sqlite(db) => db,
            #[cfg(feature = "oracle")]
            Backend::Oracle(db) => db,
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.database().dialect()
    }

    /// The SQLite driver, for what only SQLite has (per-user files, in-memory databases).
    fn sqlite(&self) -> Option<&SqliteDb> {
        match &self.db {
            Backend::Sqlite(db) => Some(db),
            #[cfg(feature = "oracle")]
            Backend::Oracle(_) => None,
        }
    }

    /// A pooled connection.
    fn conn(&self, work: Work, write: bool) -> AppResult<Conn<'_>> {
        Ok(Conn::new(self.database().connect(work, write)?, self.dialect()))
    }

    /// Runs a read on the request path, timed as the operation `f` is written in.
    fn read<T, F: FnOnce(&mut Conn) -> AppResult<T>>(&self, f: F) -> AppResult<T> {
        let mut c = self.conn(Work::Request, false)?;
        timed::<F, T>(|| f(&mut c))
    }

    /// Runs `f` in one transaction on the request path, timed as the operation `f`
    /// is written in.
    fn write<T, F: FnOnce(&mut Conn) -> AppResult<T>>(&self, f: F) -> AppResult<T> {
        self.write_as::<F, T>(f)
    }

    /// Runs `run` in one transaction on the request path, timed as the operation
    /// the closure `Op` is written in (the writers below wrap their caller's).
    fn write_as<Op, T>(&self, run: impl FnOnce(&mut Conn) -> AppResult<T>) -> AppResult<T> {
        let mut c = self.conn(Work::Request, true)?;
        timed::<Op, T>(|| c.transaction(run))
    }

    /// Runs `f` and writes `audit` in one transaction: if the audit row cannot be
    /// written, nothing `f` did stays.
    fn write_audited<T, F: FnOnce(&mut Conn) -> AppResult<T>>(&self, audit: &AuditEntry, f: F) -> AppResult<T> {
        self.write_as::<F, T>(|c| {
            let out = f(c)?;
            audit::insert(c, audit)?;
            Ok(out)
        })
    }

    /// Like [`Store::write_audited`], with the audit row's message made by the change
    /// itself (what it did: counts, before and after).
    fn write_audited_with<T, F: FnOnce(&mut Conn) -> AppResult<(T, String)>>(
        &self,
        audit: &AuditEntry,
        f: F,
    ) -> AppResult<T> {
        self.write_as::<F, T>(|c| {
            let (out, said) = f(c)?;
            let mut entry = audit.clone();
            entry.detail = Some(said);
            audit::insert(c, &entry)?;
            Ok(out)
        })
    }

    /// Records that an operation whose intent was audited failed midway; returns the error.
    fn audit_failure(&self, audit: &AuditEntry, error: AppError) -> AppError {
        if let Err(e) = self.write(|c| audit::insert(c, &failure_audit(audit, &error))) {
            tracing::error!(error = %e, "could not audit a failed operation");
        }
        error
    }
}

/// Runs `run`, timed under the name of the operation whose closure `F` is (its
/// module and function: [`pathfinder::queries::operation_of`]).
fn timed<F, T>(run: impl FnOnce() -> AppResult<T>) -> AppResult<T> {
    let (module, operation) = pathfinder::queries::operation_of(std::any::type_name::<F>());
    let started = std::time::Instant::now();
    let out = run();
    crate::metrics::observe_operation(module, operation, started.elapsed());
    out
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
        database_view::of(self)
    }

    fn operations(&self) -> pathfinder::queries::QueriesPage {
        crate::metrics::operations()
    }

    fn database_facts(&self) -> AppResult<pathfinder::diagnostics::DatabaseFacts> {
        database_view::facts(self)
    }
}
