//! Per-user table sets, each in its own database file beside the main one
//! (`<main file>-user-tables/<username>.db`), with the template's object names.
//!
//! Why files: SQLite keeps one schema per file, re-reads all of it on every
//! connection after any DDL, and scans it on every CREATE. With 10,000 sets (over
//! 100,000 tables) in the main file, provisioning took seconds and every page
//! paid for the re-read. In its own file a set costs the same at any scale.
//!
//! A file cannot share a transaction with the main file's audit log, so the flow is
//! Oracle's: the intent (registry row + `<action>.begin` audit row) is committed
//! first, then the file's work (itself one transaction), then the outcome with the
//! operation's audit row. A crash midway leaves the registry saying what was under
//! way; running the same operation again finishes it.

use super::bulk::insert_rows;
use super::{map_err, ts, SqliteStorage, USER_TABLES_TEMPLATE};
use crate::storage::migrations::{
    check_owned, created_object, describe_table_set, failure_audit, intent_audit, user_table_statements,
    USER_TABLES_TEMPLATE_VERSION,
};
use crate::storage::sql;
use pathfinder::dto::TableSetInfo;
use pathfinder::storage::{AuditEntry, AuditStore, TableRows, UserTableStore};
use pathfinder::{AppError, AppResult, Username};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::PathBuf;

fn object_exists(c: &Connection, name: &str) -> AppResult<bool> {
    c.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = ?1", [name], |r| r.get::<_, i64>(0))
        .map(|n| n > 0)
        .map_err(map_err)
}

fn registry_status(c: &Connection, username: &Username) -> AppResult<Option<String>> {
    c.query_row(sql::TABLE_SET_STATUS, [username.as_str()], |r| r.get(0)).optional().map_err(map_err)
}

impl SqliteStorage {
    /// The file that holds `username`'s tables.
    pub fn user_tables_file(&self, username: &Username) -> PathBuf {
        self.user_tables_dir.join(format!("{username}.db"))
    }

    /// A connection to `username`'s file; `None` if there is no file and `create` is false.
    fn user_file(&self, username: &Username, create: bool) -> AppResult<Option<Connection>> {
        let path = self.user_tables_file(username);
        if !create && !path.exists() {
            return Ok(None);
        }
        std::fs::create_dir_all(&self.user_tables_dir).map_err(AppError::internal)?;
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let c = Connection::open_with_flags(&path, flags).map_err(map_err)?;
        // A rollback journal (no -wal/-shm beside each of thousands of files).
        c.busy_timeout(super::BUSY_TIMEOUT).map_err(map_err)?;
        c.pragma_update(None, "foreign_keys", "ON").map_err(map_err)?;
        c.pragma_update(None, "synchronous", "FULL").map_err(map_err)?;
        Ok(Some(c))
    }

    /// Records that an operation whose intent was audited failed midway; returns the error.
    fn audit_failure(&self, audit: &AuditEntry, error: AppError) -> AppError {
        if let Err(e) = self.append_audit(&failure_audit(audit, &error)) {
            tracing::error!(error = %e, "could not audit a failed table-set operation");
        }
        error
    }

    /// Creates whatever of the set the file lacks, in one transaction.
    fn create_objects(&self, username: &Username) -> AppResult<()> {
        let mut c = self.user_file(username, true)?.ok_or_else(|| AppError::internal("user file vanished"))?;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(map_err)?;
        for stmt in user_table_statements(USER_TABLES_TEMPLATE, username) {
            let (_, name) = created_object(&stmt)
                .ok_or_else(|| AppError::internal(format!("template statement creates nothing: {stmt}")))?;
            if !object_exists(&tx, &name)? {
                tx.execute_batch(&stmt).map_err(map_err)?;
            }
        }
        tx.commit().map_err(map_err)
    }

    /// Removes the file (and a rollback journal a crash may have left).
    fn remove_file(&self, username: &Username) -> AppResult<()> {
        let path = self.user_tables_file(username);
        for p in [path.clone(), PathBuf::from(format!("{}-journal", path.display()))] {
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(AppError::internal(e)),
                _ => {}
            }
        }
        Ok(())
    }
}

impl UserTableStore for SqliteStorage {
    fn provision_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<TableSetInfo> {
        let now = ts(chrono::Utc::now());
        // 1. The intent: registry row and `.begin` audit row. If the registry says
        //    ready, the set exists: nothing to do but say so.
        let before = self.write_audited(&intent_audit(audit), |tx| match registry_status(tx, username)? {
            Some(s) if s == "dropping" => Err(AppError::Conflict(format!(
                "The tables of '{username}' are being dropped; finish with drop-user-tables first."
            ))),
            Some(s) => Ok(Some(s)),
            None => {
                let user_id: Option<String> = tx
                    .query_row(sql::USER_ID_BY_USERNAME, [username.as_str()], |r| r.get(0))
                    .optional()
                    .map_err(map_err)?;
                tx.execute(
                    sql::INSERT_TABLE_SET,
                    params![username.as_str(), user_id, USER_TABLES_TEMPLATE_VERSION, now, now],
                )
                .map_err(map_err)?;
                Ok(None)
            }
        })?;
        // 2. The file's objects (idempotent); 3. ready, with the operation's audit row.
        (|| {
            self.create_objects(username)?;
            if before.as_deref() != Some("ready") {
                self.write_audited(audit, |tx| {
                    tx.execute(sql::SET_TABLE_SET_STATUS, params!["ready", now, username.as_str()])
                        .map(|_| ())
                        .map_err(map_err)
                })?;
            }
            Ok(())
        })()
        .map_err(|e| self.audit_failure(audit, e))?;
        self.user_table_set(username)?.ok_or_else(|| AppError::internal("table set vanished after provisioning"))
    }

    fn drop_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<()> {
        let now = ts(chrono::Utc::now());
        self.write_audited(&intent_audit(audit), |tx| {
            if registry_status(tx, username)?.is_none() {
                return Err(AppError::NotFound(format!("A registered table set for '{username}'")));
            }
            tx.execute(sql::SET_TABLE_SET_STATUS, params!["dropping", now, username.as_str()]).map_err(map_err)?;
            Ok(())
        })?;
        (|| {
            self.remove_file(username)?;
            self.write_audited(audit, |tx| tx.execute(sql::DELETE_TABLE_SET, [username.as_str()]).map_err(map_err))
        })()
        .map(|_| ())
        .map_err(|e| self.audit_failure(audit, e))
    }

    fn user_table_set(&self, username: &Username) -> AppResult<Option<TableSetInfo>> {
        let Some(status) = self.read(|c| registry_status(c, username))? else { return Ok(None) };
        // Read-only and without per-connection setup: the detail page opens it per view.
        let path = self.user_tables_file(username);
        let file = match path.exists() {
            true => Some(Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(map_err)?),
            false => None,
        };
        // One catalog read and one counting statement, not two statements per object.
        let present: std::collections::HashSet<String> = match &file {
            Some(c) => {
                let mut names = c.prepare("SELECT name FROM sqlite_master").map_err(map_err)?;
                let rows = names.query_map([], |r| r.get(0)).map_err(map_err)?;
                rows.collect::<Result<_, _>>().map_err(map_err)?
            }
            None => Default::default(),
        };
        let counted: Vec<String> = user_table_statements(USER_TABLES_TEMPLATE, username)
            .iter()
            .filter_map(|stmt| created_object(stmt).filter(|(kind, _)| *kind != "index").map(|(_, name)| name))
            .filter(|name| present.contains(name))
            .collect();
        let counts: std::collections::HashMap<&str, i64> = match (&file, counted.is_empty()) {
            (Some(c), false) => {
                let each: Vec<String> = counted.iter().map(|t| format!("(SELECT COUNT(*) FROM {t})")).collect();
                let values = c
                    .query_row(&format!("SELECT {}", each.join(", ")), [], |r| {
                        (0..counted.len()).map(|i| r.get::<_, i64>(i)).collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(map_err)?;
                counted.iter().map(String::as_str).zip(values).collect()
            }
            _ => Default::default(),
        };
        let count = |name: &str| Ok(counts.get(name).copied().unwrap_or(-1));
        describe_table_set(USER_TABLES_TEMPLATE, username, status, |name| Ok(present.contains(name)), count).map(Some)
    }

    /// The rows go into the user's file in one transaction, then the audit row into
    /// the main file: a crash between the two leaves rows whose audit row is missing
    /// (never an audit row for rows that are not there).
    fn fill_user_tables(&self, username: &Username, rows: &[TableRows], audit: &AuditEntry) -> AppResult<()> {
        check_owned(USER_TABLES_TEMPLATE, username, rows)?;
        if self.read(|c| registry_status(c, username))?.as_deref() != Some("ready") {
            return Err(AppError::Conflict(format!("The tables of '{username}' are not provisioned.")));
        }
        let mut c = self.user_file(username, false)?.ok_or_else(|| AppError::internal("ready set without file"))?;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(map_err)?;
        insert_rows(&tx, rows)?;
        tx.commit().map_err(map_err)?;
        self.append_audit(audit)
    }
}
