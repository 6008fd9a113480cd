//! Migrations, the schema version, drift detection and the user-statistics refresh.

use super::{audit, map_err, ts, SqliteStorage, MIGRATIONS, USER_TABLES_TEMPLATE};
use crate::storage::migrations::{check_not_newer, step_audit, user_table_statements};
use crate::storage::sql;
use pathfinder::storage::{AuditEntry, Drift, MigrationReport, SchemaStore};
use pathfinder::{AppResult, Username};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;

pub(super) fn current_version(c: &Connection) -> AppResult<i64> {
    let exists: Option<String> = c
        .query_row("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'pf_schema_version'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(map_err)?;
    if exists.is_none() {
        return Ok(0);
    }
    c.query_row(sql::SCHEMA_VERSION, [], |r| r.get(0)).map_err(map_err)
}

fn has_table(c: &Connection, name: &str) -> AppResult<bool> {
    c.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| r.get::<_, i64>(0))
        .map(|n| n > 0)
        .map_err(map_err)
}

/// Applies every migration newer than the database, each in its own transaction
/// with its version row (and, once the audit log exists, its audit row). Each step
/// re-reads the version under the write lock, so two migrators never apply one twice.
pub(super) fn apply_migrations(conn: &mut Connection, audit: &AuditEntry) -> AppResult<MigrationReport> {
    let immediate = rusqlite::TransactionBehavior::Immediate;
    let tx = conn.transaction_with_behavior(immediate).map_err(map_err)?;
    if !has_table(&tx, "pf_schema_version")? {
        tx.execute_batch(sql::CREATE_SCHEMA_VERSION).map_err(map_err)?;
    }
    let from = current_version(&tx)?;
    tx.commit().map_err(map_err)?;
    let latest = check_not_newer(from, MIGRATIONS)?;
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > from) {
        let tx = conn.transaction_with_behavior(immediate).map_err(map_err)?;
        if current_version(&tx)? >= m.version {
            continue;
        }
        tx.execute_batch(m.sql).map_err(map_err)?;
        tx.execute(sql::INSERT_SCHEMA_VERSION, params![m.version, m.name, ts(chrono::Utc::now())]).map_err(map_err)?;
        if has_table(&tx, "pf_audit_log")? {
            audit::insert(&tx, &step_audit(audit, m))?;
        }
        tx.commit().map_err(map_err)?;
        applied.push(m.name.to_string());
    }
    Ok(MigrationReport { from_version: from, to_version: from.max(latest), applied })
}

/// Every schema object by name: (type, normalized SQL).
fn catalog(c: &Connection) -> AppResult<BTreeMap<String, (String, String)>> {
    let mut stmt = c
        .prepare("SELECT name, type, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        .map_err(map_err)?;
    let rows = stmt
        .query_map([], |r| {
            let sql: String = r.get(2)?;
            Ok((r.get::<_, String>(0)?, (r.get::<_, String>(1)?, sql.split_whitespace().collect::<Vec<_>>().join(" "))))
        })
        .map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

fn columns(c: &Connection, table: &str) -> AppResult<BTreeMap<String, String>> {
    let mut stmt =
        c.prepare("SELECT name, type, \"notnull\", dflt_value FROM pragma_table_xinfo(?1)").map_err(map_err)?;
    let rows = stmt
        .query_map([table], |r| {
            let desc = format!(
                "{}{}{}",
                r.get::<_, String>(1)?,
                if r.get::<_, i64>(2)? == 1 { " NOT NULL" } else { "" },
                r.get::<_, Option<String>>(3)?.map(|d| format!(" DEFAULT {d}")).unwrap_or_default()
            );
            Ok((r.get::<_, String>(0)?, desc))
        })
        .map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

/// Adds to `drift` every difference of `live` from `expected` (`place` names the file).
fn compare(expected: &Connection, live: &Connection, place: &str, drift: &mut Vec<Drift>) -> AppResult<()> {
    let (want, have) = (catalog(expected)?, catalog(live)?);
    for (name, (kind, sql)) in &want {
        match have.get(name) {
            None => drift.push(Drift(format!("missing {kind} {name}{place}"))),
            Some((live_kind, _)) if live_kind != kind => {
                drift.push(Drift(format!("{name} is a {live_kind}, expected a {kind}{place}")))
            }
            Some((_, live_sql)) if live_sql != sql => {
                if kind == "table" {
                    let (want_cols, have_cols) = (columns(expected, name)?, columns(live, name)?);
                    for (col, desc) in &want_cols {
                        match have_cols.get(col) {
                            None => drift.push(Drift(format!("table {name}: missing column {col}{place}"))),
                            Some(d) if d != desc => {
                                drift.push(Drift(format!("table {name}: column {col} is {d}, expected {desc}{place}")))
                            }
                            _ => {}
                        }
                    }
                    for col in have_cols.keys().filter(|c| !want_cols.contains_key(*c)) {
                        drift.push(Drift(format!("table {name}: unexpected column {col}{place}")));
                    }
                }
                drift.push(Drift(format!("{kind} {name} differs from its definition{place}")));
            }
            _ => {}
        }
    }
    for (name, (kind, _)) in have.iter().filter(|(n, _)| !want.contains_key(*n)) {
        drift.push(Drift(format!("unexpected {kind} {name}{place}")));
    }
    Ok(())
}

impl SchemaStore for SqliteStorage {
    fn migrate(&self, audit: &AuditEntry) -> AppResult<MigrationReport> {
        let _turn = self.writer_turn();
        let mut conn = self.pool.get()?;
        apply_migrations(&mut conn, audit)
    }

    fn schema_version(&self) -> AppResult<i64> {
        self.read(current_version)
    }

    fn schema_check(&self) -> AppResult<Vec<Drift>> {
        // The expected schema is what the migrations and templates build in a fresh
        // in-memory database: no hand-kept list to drift from the migrations themselves.
        let mut expected = Connection::open_in_memory().map_err(map_err)?;
        super::configure(&expected).map_err(map_err)?;
        apply_migrations(&mut expected, &AuditEntry::new("schema.check", "schema", "expected"))?;
        let mut drift = Vec::new();
        let (users, version) = self.read(|c| {
            // A database that was never migrated has no registry: report, don't fail.
            let names = if has_table(c, "pf_user_table_sets")? {
                let mut sets = c.prepare(sql::TABLE_SET_USERNAMES).map_err(map_err)?;
                let rows = sets.query_map([], |r| r.get::<_, String>(0)).map_err(map_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(map_err)?
            } else {
                Vec::new()
            };
            compare(&expected, c, "", &mut drift)?;
            Ok((names, current_version(c)?))
        })?;
        let latest = MIGRATIONS.last().map_or(0, |m| m.version);
        if version != latest {
            drift.insert(0, Drift(format!("schema version is {version}, this build expects {latest}")));
        }
        // Each registered set against the template, in its own file.
        for name in &users {
            let Ok(user) = Username::parse(name) else {
                drift.push(Drift(format!("the registry holds '{name}', which breaks the username rule")));
                continue;
            };
            let want = Connection::open_in_memory().map_err(map_err)?;
            for stmt in user_table_statements(USER_TABLES_TEMPLATE, &user) {
                want.execute_batch(&stmt).map_err(map_err)?;
            }
            let file = self.user_tables_file(&user);
            let have = if file.exists() {
                Connection::open_with_flags(&file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(map_err)?
            } else {
                Connection::open_in_memory().map_err(map_err)?
            };
            compare(&want, &have, &format!(" (in {})", file.display()), &mut drift)?;
        }
        Ok(drift)
    }

    fn refresh_user_stats(&self, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |tx| {
            tx.execute_batch(
                "DELETE FROM pf_mv_user_stats;
                 INSERT INTO pf_mv_user_stats (user_id, username, total_sessions, total_events, last_activity, first_activity)
                 SELECT u.user_id, u.username, COUNT(DISTINCT a.session_id), COUNT(a.analytics_id),
                        MAX(a.event_timestamp), MIN(a.event_timestamp)
                 FROM pf_users u LEFT JOIN pf_user_analytics a ON u.user_id = a.user_id
                 GROUP BY u.user_id, u.username;",
            )
            .map_err(map_err)
        })
    }
}
