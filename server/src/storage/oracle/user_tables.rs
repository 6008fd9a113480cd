//! Per-user table sets on Oracle. DDL commits on its own, so it cannot share a
//! transaction with its audit row. Instead the intent is committed first — the
//! registry row ('provisioning' / 'dropping') with a `<action>.begin` audit row —
//! then each object is created or dropped only if needed, then the final state is
//! committed with the operation's own audit row. If the first audit row cannot be
//! written, no DDL runs. A crash midway leaves the registry saying what was under
//! way; running the same command again finishes it.

use super::schema::{object_exists, run_resumable};
use super::{exec, map_err, optional, ts, OracleStorage, USER_TABLES_TEMPLATE};
use crate::storage::migrations::{
    created_object, describe_table_set, failure_audit, intent_audit, user_table_statements,
    USER_TABLES_TEMPLATE_VERSION,
};
use crate::storage::sql;
use oracle::Connection;
use pathfinder::dto::TableSetInfo;
use pathfinder::storage::{AuditEntry, AuditStore, BulkStore, TableRows, UserTableStore};
use pathfinder::{AppError, AppResult, Username};

fn registry_status(c: &Connection, username: &Username) -> AppResult<Option<String>> {
    optional(c.query_row_as::<String>(sql::TABLE_SET_STATUS, &[&username.as_str()]))
}

fn table_set(c: &Connection, username: &Username) -> AppResult<Option<TableSetInfo>> {
    let Some(status) = registry_status(c, username)? else { return Ok(None) };
    let count = |name: &str| c.query_row_as::<i64>(&format!("SELECT COUNT(*) FROM {name}"), &[]).map_err(map_err);
    describe_table_set(USER_TABLES_TEMPLATE, username, status, |name| object_exists(c, name), count).map(Some)
}

impl OracleStorage {
    /// Records that an operation whose intent was audited failed midway; returns the error.
    pub(super) fn audit_failure(&self, audit: &AuditEntry, error: AppError) -> AppError {
        if let Err(e) = self.append_audit(&failure_audit(audit, &error)) {
            tracing::error!(error = %e, "could not audit a failed schema operation");
        }
        error
    }
}

impl UserTableStore for OracleStorage {
    fn provision_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<TableSetInfo> {
        let now = ts(chrono::Utc::now());
        // 1. Register the set as being provisioned, with the audit row of the intent.
        self.write_audited(&intent_audit(audit), |c| match registry_status(c, username)?.as_deref() {
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
        })
        .map_err(|e| self.audit_failure(audit, e))?;
        self.read(|c| table_set(c, username))?
            .ok_or_else(|| AppError::internal("table set vanished after provisioning"))
    }

    fn drop_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<()> {
        let now = ts(chrono::Utc::now());
        self.write_audited(&intent_audit(audit), |c| {
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
        .map_err(|e| self.audit_failure(audit, e))
    }

    fn user_table_set(&self, username: &Username) -> AppResult<Option<TableSetInfo>> {
        self.read(|c| table_set(c, username))
    }

    fn fill_user_tables(&self, username: &Username, rows: &[TableRows], audit: &AuditEntry) -> AppResult<()> {
        crate::storage::migrations::check_owned(USER_TABLES_TEMPLATE, username, rows)?;
        self.insert_batch(rows, audit)
    }
}
