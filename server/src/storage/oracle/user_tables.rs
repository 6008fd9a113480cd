//! Per-user table sets on Oracle. DDL commits on its own, so the registry row is
//! written first ('provisioning' / 'dropping'), each object is created or dropped
//! only if needed, and the final state is written with the audit row. A crash
//! midway leaves the registry saying what was under way; running the same command
//! again finishes it.

use super::schema::{object_exists, run_resumable};
use super::{exec, map_err, optional, ts, OracleStorage, USER_TABLES_TEMPLATE};
use crate::storage::migrations::{
    created_object, describe_table_set, user_table_statements, USER_TABLES_TEMPLATE_VERSION,
};
use crate::storage::sql;
use oracle::Connection;
use pathfinder::dto::TableSetInfo;
use pathfinder::storage::{AuditEntry, UserTableStore};
use pathfinder::{AppError, AppResult, Username};

fn registry_status(c: &Connection, username: &Username) -> AppResult<Option<String>> {
    optional(c.query_row_as::<String>(sql::TABLE_SET_STATUS, &[&username.as_str()]))
}

fn table_set(c: &Connection, username: &Username) -> AppResult<Option<TableSetInfo>> {
    let Some(status) = registry_status(c, username)? else { return Ok(None) };
    let count = |name: &str| c.query_row_as::<i64>(&format!("SELECT COUNT(*) FROM {name}"), &[]).map_err(map_err);
    describe_table_set(USER_TABLES_TEMPLATE, username, status, |name| object_exists(c, name), count).map(Some)
}

impl UserTableStore for OracleStorage {
    fn provision_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<TableSetInfo> {
        let now = ts(chrono::Utc::now());
        // 1. Register the set as being provisioned (committed before any DDL).
        self.write(|c| match registry_status(c, username)?.as_deref() {
            Some("dropping") => Err(AppError::Conflict(format!(
                "The tables of '{username}' are being dropped; finish with drop-user-tables first."
            ))),
            Some(_) => Ok(()),
            None => {
                let user_id = optional(c.query_row_as::<String>(sql::USER_ID_BY_USERNAME, &[&username.as_str()]))?;
                exec(
                    c,
                    sql::INSERT_TABLE_SET,
                    &[&username.as_str(), &user_id, &USER_TABLES_TEMPLATE_VERSION, &now, &now],
                )?;
                Ok(())
            }
        })?;
        // 2. Create what is missing; 3. mark ready with the audit row.
        self.write_audited(audit, |c| {
            run_resumable(c, &user_table_statements(USER_TABLES_TEMPLATE, username))?;
            exec(c, sql::SET_TABLE_SET_STATUS, &[&"ready", &now, &username.as_str()])?;
            Ok(())
        })?;
        self.read(|c| table_set(c, username))?
            .ok_or_else(|| AppError::internal("table set vanished after provisioning"))
    }

    fn drop_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<()> {
        let now = ts(chrono::Utc::now());
        self.write(|c| {
            if registry_status(c, username)?.is_none() {
                return Err(AppError::NotFound(format!("A registered table set for '{username}'")));
            }
            exec(c, sql::SET_TABLE_SET_STATUS, &[&"dropping", &now, &username.as_str()])?;
            Ok(())
        })?;
        self.write_audited(audit, |c| {
            for stmt in user_table_statements(USER_TABLES_TEMPLATE, username).iter().rev() {
                let Some((kind, name)) = created_object(stmt) else { continue };
                if object_exists(c, &name)? {
                    let drop = match kind {
                        "table" => format!("DROP TABLE {name} CASCADE CONSTRAINTS PURGE"),
                        other => format!("DROP {} {name}", other.to_uppercase()),
                    };
                    exec(c, &drop, &[])?;
                }
            }
            exec(c, sql::DELETE_TABLE_SET, &[&username.as_str()])?;
            Ok(())
        })
    }

    fn user_table_set(&self, username: &Username) -> AppResult<Option<TableSetInfo>> {
        self.read(|c| table_set(c, username))
    }
}
