//! Per-user table sets: provisioning from the template, dropping, row counts.
//! SQLite's DDL is transactional, so a set is made (or dropped) whole or not at all;
//! the registry states still follow the Oracle flow so both behave alike.

use super::{map_err, ts, SqliteStorage, USER_TABLES_TEMPLATE};
use crate::storage::migrations::{
    created_object, describe_table_set, user_table_statements, USER_TABLES_TEMPLATE_VERSION,
};
use crate::storage::sql;
use pathfinder::dto::TableSetInfo;
use pathfinder::storage::{AuditEntry, UserTableStore};
use pathfinder::{AppError, AppResult, Username};
use rusqlite::{params, Connection, OptionalExtension};

fn object_exists(c: &Connection, name: &str) -> AppResult<bool> {
    c.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = ?1", [name], |r| r.get::<_, i64>(0))
        .map(|n| n > 0)
        .map_err(map_err)
}

fn registry_status(c: &Connection, username: &Username) -> AppResult<Option<String>> {
    c.query_row(sql::TABLE_SET_STATUS, [username.as_str()], |r| r.get(0)).optional().map_err(map_err)
}

fn table_set(c: &Connection, username: &Username) -> AppResult<Option<TableSetInfo>> {
    let Some(status) = registry_status(c, username)? else { return Ok(None) };
    let count = |name: &str| c.query_row(&format!("SELECT COUNT(*) FROM {name}"), [], |r| r.get(0)).map_err(map_err);
    describe_table_set(USER_TABLES_TEMPLATE, username, status, |name| object_exists(c, name), count).map(Some)
}

impl UserTableStore for SqliteStorage {
    fn provision_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<TableSetInfo> {
        let now = ts(chrono::Utc::now());
        self.write_audited(audit, |tx| {
            match registry_status(tx, username)?.as_deref() {
                Some("dropping") => {
                    return Err(AppError::Conflict(format!(
                        "The tables of '{username}' are being dropped; finish with drop-user-tables first."
                    )))
                }
                Some(_) => {}
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
                }
            }
            for stmt in user_table_statements(USER_TABLES_TEMPLATE, username) {
                let (_, name) = created_object(&stmt)
                    .ok_or_else(|| AppError::internal(format!("template statement creates nothing: {stmt}")))?;
                if !object_exists(tx, &name)? {
                    tx.execute_batch(&stmt).map_err(map_err)?;
                }
            }
            tx.execute(sql::SET_TABLE_SET_STATUS, params!["ready", now, username.as_str()]).map_err(map_err)?;
            Ok(())
        })?;
        self.read(|c| table_set(c, username))?
            .ok_or_else(|| AppError::internal("table set vanished right after provisioning"))
    }

    fn drop_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |tx| {
            if registry_status(tx, username)?.is_none() {
                return Err(AppError::NotFound(format!("A registered table set for '{username}'")));
            }
            for stmt in user_table_statements(USER_TABLES_TEMPLATE, username).iter().rev() {
                if let Some((kind, name)) = created_object(stmt) {
                    let kind = if kind == "materialized view" { "view" } else { kind };
                    tx.execute_batch(&format!("DROP {} IF EXISTS {name}", kind.to_uppercase())).map_err(map_err)?;
                }
            }
            tx.execute(sql::DELETE_TABLE_SET, [username.as_str()]).map_err(map_err)?;
            Ok(())
        })
    }

    fn user_table_set(&self, username: &Username) -> AppResult<Option<TableSetInfo>> {
        self.read(|c| table_set(c, username))
    }
}
