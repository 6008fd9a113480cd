//! Per-user table sets: provision, drop, describe, fill.
//!
//! Where a set lives differs: Oracle keeps every set in the one schema, as the seed
//! says; SQLite gives each set a database file of its own
//! (`<main file>-user-tables/<username>.db`), because SQLite scans its whole schema on
//! every CREATE and re-reads it on every connection after any DDL (with 10,000 sets
//! in one file, provisioning took seconds). [`Store::set_conn`] hides the difference.
//!
//! DDL cannot share a transaction with its audit row (Oracle commits around it; a
//! SQLite set is another file), so provisioning and dropping commit the intent first —
//! the registry row (`provisioning` / `dropping`) with a `<action>.begin` audit row —
//! then create or drop each object only if needed, then commit the outcome with the
//! operation's own audit row. If the intent cannot be written, nothing else runs; a
//! crash midway leaves the registry saying what was under way, and running the same
//! operation again finishes it. Every `.begin` row gets its outcome row.

use super::driver::sqlite::FileAccess;
use super::driver::{Conn, Dialect, ReadRow, Work};
use super::migrations::{
    check_owned, created_object, intent_audit, user_table_statements, USER_TABLES_TEMPLATE_VERSION,
};
use super::rows::{user_id_of, username_of};
use super::store::Store;
use super::{audit, bulk};
use crate::{args, sql};
use pathfinder::dto::{CareerSummary, TableCount, TableSetInfo};
use pathfinder::storage::{AuditEntry, TableRows, UserTableStore};
use pathfinder::{AppError, AppResult, UserId, Username};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

pub(super) fn registry_status(c: &mut Conn, username: &Username) -> AppResult<Option<String>> {
    let row = c.query_opt(sql!("SELECT status FROM pf_user_table_sets WHERE username = :1"), &args![username])?;
    row.map(|r| r.text(0)).transpose()
}

fn set_status(c: &mut Conn, username: &Username, status: &str) -> AppResult<()> {
    c.execute(
        sql!("UPDATE pf_user_table_sets SET status = :1, updated_at = :2 WHERE username = :3"),
        &args![status, chrono::Utc::now(), username],
    )?;
    Ok(())
}

pub(super) fn object_exists(c: &mut Conn, name: &str) -> AppResult<bool> {
    let n = c.query_int(
        sql!(
            sqlite: "SELECT COUNT(*) FROM sqlite_master WHERE name = :1",
            oracle: "SELECT COUNT(*) FROM user_objects WHERE object_name = UPPER(:1)"
        ),
        &args![name],
    )?;
    Ok(n > 0)
}

/// The set's objects as the template names them: (kind, name).
pub(super) fn template_objects(c: &Conn, username: &Username) -> AppResult<Vec<(&'static str, String)>> {
    let statements = user_table_statements(c.dialect(), username);
    statements
        .iter()
        .map(|s| {
            created_object(s).ok_or_else(|| AppError::internal(format!("template statement creates nothing: {s}")))
        })
        .collect()
}

impl Store {
    /// The file that holds `username`'s set (SQLite only).
    pub fn user_tables_file(&self, username: &Username) -> Option<PathBuf> {
        let main = self.sqlite()?.path();
        Some(super::driver::sqlite::sets_folder_of(main).join(format!("{username}.db")))
    }

    /// A connection that sees `username`'s set: on Oracle any connection; on SQLite
    /// the set's file (`None` if it does not exist and `access` does not create it).
    pub(super) fn set_conn(&self, username: &Username, access: FileAccess) -> AppResult<Option<Conn<'_>>> {
        match (self.sqlite(), self.user_tables_file(username)) {
            (Some(db), Some(file)) => Ok(db.open_file(&file, access)?.map(|c| Conn::new(c, Dialect::Sqlite))),
            _ => {
                let work = if access == FileAccess::ReadOnly { Work::Request } else { Work::Maintenance };
                Ok(Some(self.conn(work, access != FileAccess::ReadOnly)?))
            }
        }
    }

    /// Drops the set's objects: on Oracle each one that exists, in reverse order; on
    /// SQLite its file (and a rollback journal a crash may have left).
    fn drop_objects(&self, username: &Username) -> AppResult<()> {
        if let Some(file) = self.user_tables_file(username) {
            for p in [file.clone(), PathBuf::from(format!("{}-journal", file.display()))] {
                match std::fs::remove_file(&p) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(AppError::internal(e)),
                    _ => {}
                }
            }
            return Ok(());
        }
        let mut c = self.conn(Work::Maintenance, true)?;
        for (kind, name) in template_objects(&c, username)?.into_iter().rev() {
            if object_exists(&mut c, &name)? {
                c.execute(&drop_statement(kind, &name), &[])?;
            }
        }
        Ok(())
    }

    /// Oracle's materialized `career_summary` is refreshed after the set's rows
    /// change (SQLite's is a view, always current). The refresh commits by itself.
    fn refresh_career_summary(&self, username: &Username) -> AppResult<()> {
        if self.dialect() == Dialect::Oracle {
            let name = format!("{}{username}_career_summary", pathfinder::username::USER_OBJECT_PREFIX);
            let mut c = self.conn(Work::Maintenance, true)?;
            c.execute(sql!(oracle: "BEGIN DBMS_MVIEW.REFRESH(:1, 'C'); END;"), &args![name.to_uppercase()])?;
        }
        Ok(())
    }
}

/// The Oracle statement that drops one object of a set.
pub fn drop_statement(kind: &str, name: &str) -> String {
    match kind {
        "table" => format!("DROP TABLE {name} CASCADE CONSTRAINTS PURGE"),
        other => format!("DROP {} {name}", other.to_uppercase()),
    }
}

/// `SELECT (SELECT COUNT(*) FROM a), (SELECT COUNT(*) FROM b)`: every count in one round trip.
pub fn counts_statement(dialect: Dialect, tables: &[&str]) -> String {
    let each: Vec<String> = tables.iter().map(|t| format!("(SELECT COUNT(*) FROM {t})")).collect();
    let from = if dialect == Dialect::Oracle { " FROM dual" } else { "" };
    format!("SELECT {}{from}", each.join(", "))
}

/// The row of the set's `career_summary` view.
pub fn career_statement(username: &Username) -> String {
    format!(
        "SELECT total_positions, total_companies, career_start_date, total_years_experience FROM {}{username}_career_summary",
        pathfinder::username::USER_OBJECT_PREFIX
    )
}

impl Store {
    pub(super) fn username_of(&self, user_id: &UserId) -> AppResult<String> {
        self.read(|c| username_of(c, user_id.as_str())?.ok_or_else(|| AppError::NotFound("That user".into())))
    }

    /// The username a user's table set is named after.
    fn owner_of(&self, user_id: &UserId) -> AppResult<Username> {
        let name = self.username_of(user_id)?;
        Username::parse(&name)
            .map_err(|_| AppError::invalid(format!("{name:?} breaks the username rule, so it can have no table set.")))
    }
}

impl UserTableStore for Store {
    fn provision_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<TableSetInfo> {
        // 1. The intent: the registry row and the `.begin` audit row.
        self.write_audited(&intent_audit(audit), |c| match registry_status(c, username)?.as_deref() {
            Some("dropping") => Err(AppError::Conflict(format!(
                "The tables of '{username}' are being dropped; finish with drop-user-tables first."
            ))),
            Some(_) => Ok(()),
            None => {
                let now = chrono::Utc::now();
                let user_id = user_id_of(c, username)?;
                c.execute(
                    sql!(
                        "INSERT INTO pf_user_table_sets (username, user_id, status, template_version, created_at,
                         updated_at) VALUES (:1, :2, 'provisioning', :3, :4, :5)"
                    ),
                    &args![username, user_id, USER_TABLES_TEMPLATE_VERSION, now, now],
                )?;
                Ok(())
            }
        })?;
        // 2. Whatever of the set is missing; 3. ready, with the operation's audit row.
        (|| {
            let mut c =
                self.set_conn(username, FileAccess::Create)?.ok_or_else(|| AppError::internal("no set file"))?;
            c.transaction(|c| {
                for stmt in user_table_statements(c.dialect(), username) {
                    match created_object(&stmt) {
                        Some((_, name)) if object_exists(c, &name)? => {}
                        _ => {
                            c.execute(&stmt, &[])?;
                        }
                    }
                }
                Ok(())
            })?;
            drop(c);
            self.write_audited(audit, |c| set_status(c, username, "ready"))
        })()
        .map_err(|e| self.audit_failure(audit, e))?;
        self.user_table_set(username)?.ok_or_else(|| AppError::internal("table set vanished after provisioning"))
    }

    fn drop_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(&intent_audit(audit), |c| {
            if registry_status(c, username)?.is_none() {
                return Err(AppError::NotFound(format!("A registered table set for '{username}'")));
            }
            set_status(c, username, "dropping")
        })?;
        (|| {
            self.drop_objects(username)?;
            self.write_audited(audit, |c| {
                c.execute(sql!("DELETE FROM pf_user_table_sets WHERE username = :1"), &args![username])?;
                Ok(())
            })
        })()
        .map_err(|e| self.audit_failure(audit, e))
    }

    fn tables_of(&self, user_id: &UserId) -> AppResult<Option<TableSetInfo>> {
        match Username::parse(&self.username_of(user_id)?) {
            Ok(owner) => self.user_table_set(&owner),
            // A legacy name that breaks the rule can have no table set.
            Err(_) => Ok(None),
        }
    }

    fn provision_tables_of(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<TableSetInfo> {
        let owner = self.owner_of(user_id)?;
        self.provision_user_tables(&owner, audit)
    }

    fn drop_tables_of(&self, user_id: &UserId, typed: &str, audit: &AuditEntry) -> AppResult<()> {
        let owner = self.owner_of(user_id)?;
        if typed.trim() != owner.as_str() {
            return Err(AppError::invalid(format!(
                "Type the username ({owner}) to confirm: the tables and their rows are dropped."
            )));
        }
        self.drop_user_tables(&owner, audit)
    }

    fn user_table_set(&self, username: &Username) -> AppResult<Option<TableSetInfo>> {
        let row = self.read(|c| {
            c.query_opt(
                sql!("SELECT status, size_bytes, size_sampled_at FROM pf_user_table_sets WHERE username = :1"),
                &args![username],
            )
        })?;
        let Some(row) = row else { return Ok(None) };
        let (status, size_bytes, size_sampled_at) = (row.text(0)?, row.opt_int(1)?, row.opt_time(2)?);
        let info = |status, tables, career| TableSetInfo {
            username: username.to_string(),
            status,
            tables,
            career,
            size_bytes,
            size_sampled_at,
        };
        let mut tables = Vec::new();
        let mut career = None;
        let Some(mut c) = self.set_conn(username, FileAccess::ReadOnly)? else {
            // A registered set whose file is gone: every object is missing.
            let c = self.conn(Work::Request, false)?;
            let missing = template_objects(&c, username)?.into_iter().filter(|(kind, _)| *kind != "index");
            tables.extend(missing.map(|(kind, name)| TableCount { name: label(kind, name), rows: -1 }));
            return Ok(Some(info(status, tables, career)));
        };
        // One catalog read and one counting statement, not two statements per object.
        let prefix = format!("{}{username}_", pathfinder::username::USER_OBJECT_PREFIX).replace('_', "\\_");
        let present: HashSet<String> = c
            .query(
                sql!(
                    sqlite: "SELECT name FROM sqlite_master WHERE name LIKE :1 ESCAPE '\\'",
                    oracle: "SELECT LOWER(object_name) FROM user_objects WHERE object_name LIKE UPPER(:1) ESCAPE '\\'"
                ),
                &args![format!("{prefix}%")],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<AppResult<_>>()?;
        let objects: Vec<(&str, String)> =
            template_objects(&c, username)?.into_iter().filter(|(kind, _)| *kind != "index").collect();
        let counted: Vec<&str> =
            objects.iter().map(|(_, name)| name.as_str()).filter(|name| present.contains(*name)).collect();
        let mut counts: HashMap<&str, i64> = HashMap::new();
        if !counted.is_empty() {
            if let Some(row) = c.query_opt(&counts_statement(c.dialect(), &counted), &[])? {
                for (i, name) in counted.iter().enumerate() {
                    counts.insert(name, row.int(i)?);
                }
            }
        }
        let summary = format!("{}{username}_career_summary", pathfinder::username::USER_OBJECT_PREFIX);
        if present.contains(&summary) && present.contains(&summary.replace("career_summary", "experiences")) {
            if let Some(r) = c.query_opt(&career_statement(username), &[])? {
                career = Some(CareerSummary {
                    total_positions: r.int(0)?,
                    total_companies: r.int(1)?,
                    career_start_date: r.opt_date(2)?.map(|d| d.to_string()),
                    years_experience_tenths: r.opt_real(3)?.map(|y| (y * 10.0).round() as i64),
                    as_of: match c.dialect() {
                        Dialect::Oracle => c
                            .query_opt(
                                sql!(oracle: "SELECT last_refresh_date FROM user_mviews WHERE mview_name = :1"),
                                &args![summary.to_uppercase()],
                            )?
                            .map(|r| r.opt_time(0))
                            .transpose()?
                            .flatten(),
                        Dialect::Sqlite => None,
                    },
                });
            }
        }
        for (kind, name) in &objects {
            let rows = counts.get(name.as_str()).copied().unwrap_or(-1);
            tables.push(TableCount { name: label(kind, name.clone()), rows });
        }
        Ok(Some(info(status, tables, career)))
    }

    /// The rows and their audit row in one transaction (on SQLite the set's file, with
    /// the main file attached), then the career summary's refresh.
    fn fill_user_tables(&self, username: &Username, rows: &[TableRows], audit: &AuditEntry) -> AppResult<()> {
        for t in rows {
            t.checked_names()?;
        }
        check_owned(self.dialect(), username, rows)?;
        let not_ready = || AppError::Conflict(format!("The tables of '{username}' are not provisioned."));
        let mut c = self.set_conn(username, FileAccess::WithMain)?.ok_or_else(not_ready)?;
        c.transaction(|c| {
            if registry_status(c, username)?.as_deref() != Some("ready") {
                return Err(not_ready());
            }
            bulk::insert_rows(c, rows)?;
            audit::append::insert(c, audit)
        })?;
        drop(c);
        self.refresh_career_summary(username).map_err(|e| {
            let note = AuditEntry { action: "user_tables.career_summary".into(), ..audit.clone() };
            self.audit_failure(&note, e)
        })
    }
}

/// How the detail page names an object: tables by name, views with their kind.
fn label(kind: &str, name: String) -> String {
    if kind == "table" {
        name
    } else {
        format!("{name} ({kind})")
    }
}
