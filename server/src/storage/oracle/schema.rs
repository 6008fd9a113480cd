//! Migrations, version, drift and the statistics refresh on Oracle. DDL commits on
//! its own, so a migration interrupted midway is resumed: statements whose object
//! already exists are skipped, and the version row is written last.

use super::{audit, exec, map_err, ts, OracleStorage, MIGRATIONS, USER_TABLES_TEMPLATE};
use crate::storage::migrations::{
    check_not_newer, column_definitions, created_object, oracle_catalog_type, split_statements, step_audit,
    user_table_statements,
};
use crate::storage::sql;
use oracle::Connection;
use pathfinder::storage::{AuditEntry, Drift, MigrationReport, SchemaStore};
use pathfinder::{AppResult, Username};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn object_exists(c: &Connection, name: &str) -> AppResult<bool> {
    c.query_row_as::<i64>(sql::oracle::OBJECT_EXISTS, &[&name]).map(|n| n > 0).map_err(map_err)
}

fn current_version(c: &Connection) -> AppResult<i64> {
    if !object_exists(c, "pf_schema_version")? {
        return Ok(0);
    }
    c.query_row_as::<i64>(sql::SCHEMA_VERSION, &[]).map_err(map_err)
}

/// Runs each statement of `script` whose object does not exist yet.
pub(super) fn run_resumable(c: &Connection, statements: &[String]) -> AppResult<()> {
    for stmt in statements {
        match created_object(stmt) {
            Some((_, name)) if object_exists(c, &name)? => continue,
            _ => exec(c, stmt, &[])?,
        };
    }
    Ok(())
}

/// Object kinds as Oracle's catalog names them, by name (lower-cased).
fn live_objects(c: &Connection) -> AppResult<BTreeMap<String, BTreeSet<String>>> {
    let rows = c.query_as::<(String, String)>(sql::oracle::LIVE_OBJECTS, &[]).map_err(map_err)?;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rows {
        let (name, kind) = r.map_err(map_err)?;
        out.entry(name).or_default().insert(kind);
    }
    Ok(out)
}

/// Each column of `table` with its type, written as the migrations declare types.
fn live_columns(c: &Connection, table: &str) -> AppResult<BTreeMap<String, String>> {
    type Raw = (String, String, Option<i64>, Option<i64>, Option<i64>);
    let rows = c.query_as::<Raw>(sql::oracle::LIVE_COLUMNS, &[&table]).map_err(map_err)?;
    rows.map(|r| {
        let (name, kind, length, precision, scale) = r.map_err(map_err)?;
        Ok((name, oracle_catalog_type(&kind, length, precision, scale)))
    })
    .collect()
}

impl SchemaStore for OracleStorage {
    fn migrate(&self, audit: &AuditEntry) -> AppResult<MigrationReport> {
        let c = self.conn()?;
        if !object_exists(&c, "pf_schema_version")? {
            exec(&c, sql::CREATE_SCHEMA_VERSION, &[])?;
        }
        let from = current_version(&c)?;
        let latest = check_not_newer(from, MIGRATIONS)?;
        let mut applied = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| m.version > from) {
            run_resumable(&c, &split_statements(m.sql))?;
            exec(&c, sql::INSERT_SCHEMA_VERSION, &[&m.version, &m.name, &ts(chrono::Utc::now())])?;
            if object_exists(&c, "pf_audit_log")? {
                audit::insert(&c, &step_audit(audit, m))?;
            }
            c.commit().map_err(map_err)?;
            applied.push(m.name.to_string());
        }
        Ok(MigrationReport { from_version: from, to_version: from.max(latest), applied })
    }

    fn schema_version(&self) -> AppResult<i64> {
        self.read(current_version)
    }

    fn schema_check(&self) -> AppResult<Vec<Drift>> {
        self.read(|c| {
            let version = current_version(c)?;
            let mut statements: Vec<String> = MIGRATIONS.iter().flat_map(|m| split_statements(m.sql)).collect();
            statements.push(sql::CREATE_SCHEMA_VERSION.to_string());
            let mut drift = Vec::new();
            if object_exists(c, "pf_user_table_sets")? {
                let names = c.query_as::<String>(sql::TABLE_SET_USERNAMES, &[]).map_err(map_err)?;
                for name in names {
                    let name = name.map_err(map_err)?;
                    match Username::parse(&name) {
                        Ok(user) => statements.extend(user_table_statements(USER_TABLES_TEMPLATE, &user)),
                        Err(_) => {
                            drift.push(Drift(format!("the registry holds '{name}', which breaks the username rule")))
                        }
                    }
                }
            }
            let live = live_objects(c)?;
            let latest = MIGRATIONS.last().map_or(0, |m| m.version);
            if version != latest {
                drift.push(Drift(format!("schema version is {version}, this build expects {latest}")));
            }
            let mut expected = BTreeSet::new();
            for stmt in &statements {
                let Some((kind, name)) = created_object(stmt) else { continue };
                expected.insert(name.clone());
                match live.get(&name) {
                    None => drift.push(Drift(format!("missing {kind} {name}"))),
                    Some(kinds) if !kinds.contains(kind) => drift.push(Drift(format!("{name} is not a {kind}"))),
                    Some(_) => {
                        let want: BTreeMap<String, String> = column_definitions(stmt).into_iter().collect();
                        if want.is_empty() {
                            continue; // not a CREATE TABLE with a column list (an index, a view, CTAS)
                        }
                        let have = live_columns(c, &name)?;
                        for (col, kind) in &want {
                            match have.get(col) {
                                None => drift.push(Drift(format!("table {name}: missing column {col}"))),
                                Some(k) if k != kind => {
                                    drift.push(Drift(format!("table {name}: column {col} is {k}, expected {kind}")))
                                }
                                Some(_) => {}
                            }
                        }
                        for col in have.keys().filter(|col| !want.contains_key(*col)) {
                            drift.push(Drift(format!("table {name}: unexpected column {col}")));
                        }
                    }
                }
            }
            for name in live.keys().filter(|n| !expected.contains(*n)) {
                drift.push(Drift(format!("unexpected object {name}")));
            }
            Ok(drift)
        })
    }

    fn refresh_user_stats(&self, audit: &AuditEntry) -> AppResult<()> {
        // DBMS_MVIEW.REFRESH commits on its own: the intent is audited first (no refresh
        // if that fails), the outcome after.
        self.write(|c| audit::insert(c, &crate::storage::migrations::intent_audit(audit)))?;
        self.write(|c| {
            exec(c, sql::oracle::REFRESH_USER_STATS, &[])?;
            audit::insert(c, audit)
        })
        .map_err(|e| self.audit_failure(audit, e))
    }
}
