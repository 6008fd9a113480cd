//! One database's storage, whichever the driver: the connection, this instance's
//! name in shared leases, the master keys, and the few ways every capability reads
//! and writes (a timed read, a transaction, a change written with its audit row).
//! Each capability's file (`users.rs`, `audit/`, …) adds its flows to [`Store`].

use super::audit::append;
use super::driver::share::Share;
use super::driver::sqlite::SqliteDb;
use super::driver::{Conn, Database, Dialect, Work};
use super::migrations::failure_audit;
use crate::config::DatabaseUrl;
use crate::crypto::Keyring;
use pathfinder::storage::{AuditEntry, Storage};
use pathfinder::{AppError, AppResult};
use std::sync::Arc;

/// The storage of one database, whichever the driver.
pub struct Store {
    pub(super) db: Backend,
    /// This process's name in shared job leases (`pf_console_jobs`).
    pub(super) instance: String,
    /// The master keys that wrap users' data keys (field encryption).
    pub(super) keyring: Keyring,
    /// Long work's share of the pool: requests always find the rest.
    pub(super) maintenance: Arc<Share>,
    /// This instance's read rows, committed in groups (`audit::reads`).
    pub(super) reads: super::audit::reads::ReadLog,
}

pub enum Backend {
    Sqlite(SqliteDb),
    #[cfg(feature = "oracle")]
    Oracle(super::driver::oracle::OracleDb),
}

impl Backend {
    fn database(&self) -> &dyn Database {
        match self {
            Backend::Sqlite(db) => db,
            #[cfg(feature = "oracle")]
            Backend::Oracle(db) => db,
        }
    }
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
                    Backend::Oracle(super::driver::oracle::OracleDb::connect(&o.user, &o.password, &o.connect_string)?)
                }
                #[cfg(not(feature = "oracle"))]
                DatabaseUrl::Oracle(_) => return Err(AppError::invalid(
                    "This build has no Oracle support: rebuild with `--features oracle` (and install Oracle Instant \
                     Client) or use a sqlite: database URL.",
                )),
            };
        let maintenance = Share::of_pool(db.database().pool_stats().max);
        Ok(Store { db, instance: pathfinder::new_id(), keyring, maintenance, reads: Default::default() })
    }

    /// The embedded database at `path`, with the master key kept beside it (made if absent).
    pub fn open_sqlite(path: &std::path::Path) -> AppResult<Store> {
        let keyring = crate::config::keyring(&DatabaseUrl::Sqlite(path.to_path_buf()))?;
        Store::open(&DatabaseUrl::Sqlite(path.to_path_buf()), keyring)
    }

    pub(super) fn database(&self) -> &dyn Database {
        self.db.database()
    }

    pub fn dialect(&self) -> Dialect {
        self.database().dialect()
    }

    /// The SQLite driver, for what only SQLite has (per-user files, in-memory databases).
    pub(super) fn sqlite(&self) -> Option<&SqliteDb> {
        match &self.db {
            Backend::Sqlite(db) => Some(db),
            #[cfg(feature = "oracle")]
            Backend::Oracle(_) => None,
        }
    }

    /// A pooled connection.
    pub(super) fn conn(&self, work: Work, write: bool) -> AppResult<Conn<'_>> {
        // Its turn first: long work never holds a connection while it waits.
        let turn = match work {
            Work::Maintenance => Some(self.maintenance.take()?),
            Work::Request => None,
        };
        Ok(Conn::new(self.database().connect(work, write)?, self.dialect()).holding(turn))
    }

    /// Runs a read on the request path, timed as the operation `f` is written in.
    pub(super) fn read<T, F: FnOnce(&mut Conn) -> AppResult<T>>(&self, f: F) -> AppResult<T> {
        let mut c = self.conn(Work::Request, false)?;
        timed::<F, T>(|| f(&mut c))
    }

    /// Runs `f` in one transaction on the request path, timed as the operation `f`
    /// is written in.
    pub(super) fn write<T, F: FnOnce(&mut Conn) -> AppResult<T>>(&self, f: F) -> AppResult<T> {
        self.write_as::<F, T>(f)
    }

    /// Runs `run` in one transaction on the request path, timed as the operation
    /// the closure `Op` is written in (the writers below wrap their caller's).
    pub(super) fn write_as<Op, T>(&self, run: impl FnOnce(&mut Conn) -> AppResult<T>) -> AppResult<T> {
        let mut c = self.conn(Work::Request, true)?;
        timed::<Op, T>(|| c.transaction(run))
    }

    /// Runs `f` and writes `audit` in one transaction: if the audit row cannot be
    /// written, nothing `f` did stays.
    pub(super) fn write_audited<T, F: FnOnce(&mut Conn) -> AppResult<T>>(
        &self,
        audit: &AuditEntry,
        f: F,
    ) -> AppResult<T> {
        self.audited::<F, T>(audit, |c| f(c).map(|out| (out, None)))
    }

    /// Like [`Store::write_audited`], with the audit row's message made by the change
    /// itself (what it did: counts, before and after).
    pub(super) fn write_audited_with<T, F: FnOnce(&mut Conn) -> AppResult<(T, String)>>(
        &self,
        audit: &AuditEntry,
        f: F,
    ) -> AppResult<T> {
        self.audited::<F, T>(audit, |c| f(c).map(|(out, said)| (out, Some(said))))
    }

    /// Both writers above: the change, then its audit row (with the change's own
    /// message when it gives one), one transaction, timed as `Op`; a failure on the
    /// database's side counted wherever it struck.
    fn audited<Op, T>(
        &self,
        audit: &AuditEntry,
        f: impl FnOnce(&mut Conn) -> AppResult<(T, Option<String>)>,
    ) -> AppResult<T> {
        let mut at = Stage::Change;
        let out = self.write_as::<Op, T>(|c| {
            let (out, said) = f(c)?;
            at = Stage::AuditRow;
            match said {
                Some(said) => append::insert(c, &AuditEntry { detail: Some(said), ..audit.clone() })?,
                None => append::insert(c, audit)?,
            }
            at = Stage::Commit;
            Ok(out)
        });
        counted(out, at)
    }

    /// Records that an operation whose intent was audited failed midway; returns the error.
    pub(super) fn audit_failure(&self, audit: &AuditEntry, error: AppError) -> AppError {
        if let Err(e) = self.write(|c| append::insert(c, &failure_audit(audit, &error))) {
            tracing::error!(error = %e, "could not audit a failed operation");
        }
        error
    }
}

/// Where an audited write was when it failed.
#[derive(PartialEq)]
enum Stage {
    Change,
    AuditRow,
    Commit,
}

/// An audited write that failed on the database's side (a full disk, a lost
/// connection, a failed commit: not a refusal of the caller's input) lost its audit
/// row with its change: counted for `PathfinderAuditWritesFailing`, wherever in the
/// transaction it failed (the row's own insert counts itself).
fn counted<T>(out: AppResult<T>, at: Stage) -> AppResult<T> {
    if at != Stage::AuditRow && matches!(&out, Err(AppError::Internal(_) | AppError::Unavailable(_))) {
        crate::metrics::count_audit_write_failure();
    }
    out
}

/// Runs `run`, timed under the name of the operation whose closure `F` is (its
/// module and function: [`pathfinder::queries::operation_of`]).
pub(super) fn timed<F, T>(run: impl FnOnce() -> AppResult<T>) -> AppResult<T> {
    let (module, operation) = pathfinder::queries::operation_of(std::any::type_name::<F>());
    let started = std::time::Instant::now();
    let out = run();
    crate::metrics::observe_operation(module, operation, started.elapsed());
    out
}
