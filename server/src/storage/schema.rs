//! Migrations, the schema version and drift detection.
//!
//! `migrate` runs each pending step in a transaction with its version row and its
//! audit row, re-reading the version first, so two instances never apply a step
//! twice: on SQLite the step's write transaction serialises them; Oracle commits
//! around every DDL statement, so there the whole run holds a database lock
//! (`DBMS_LOCK`, released when the run ends or its session dies), and each statement
//! of a step is skipped when what it makes already exists, so a step a crash cut
//! short is finished by the next run.

use super::audit;
use super::driver::sqlite::SqliteDb;
use super::driver::{Conn, Dialect, ReadRow, Work};
use super::migrations::{
    check_not_newer, latest_version, migrations, split_statements, step_audit, user_table_statements,
};
use super::schema_model::{compare, OracleCatalog, Schema};
use super::sql::Stmt;
use super::store::Store;
use super::user_tables::object_exists;
use crate::{args, sql};
use pathfinder::storage::{AuditEntry, AuditStore, Drift, MigrationReport, SchemaStore, SCHEMA_MIGRATE};
use pathfinder::{AppError, AppResult, Username};

/// Our bootstrap table: one row per applied migration (our extension to the seed).
pub fn create_schema_version() -> &'static Stmt {
    sql!(
        "CREATE TABLE pf_schema_version (
            version NUMBER(10) PRIMARY KEY,
            name VARCHAR2(100) NOT NULL,
            applied_at TIMESTAMP NOT NULL
        )"
    )
}

fn current_version(c: &mut Conn) -> AppResult<i64> {
    if !object_exists(c, "pf_schema_version")? {
        return Ok(0);
    }
    c.query_int(sql!("SELECT COALESCE(MAX(version), 0) FROM pf_schema_version"), &[])
}

fn column_exists(c: &mut Conn, table: &str, column: &str) -> AppResult<bool> {
    let n = c.query_int(
        sql!(
            sqlite: "SELECT COUNT(*) FROM pragma_table_info(:1) WHERE name = :2",
            oracle: "SELECT COUNT(*) FROM user_tab_columns WHERE table_name = UPPER(:1) AND column_name = UPPER(:2)"
        ),
        &args![table, column],
    )?;
    Ok(n > 0)
}

/// Whether what `stmt` does is already done: what it creates exists, what it drops
/// is gone, the column it adds is there. Anything else runs every time.
fn already_done(c: &mut Conn, stmt: &str) -> AppResult<bool> {
    // Lower case: the names among them are looked up as the catalog keeps them.
    let words: Vec<String> = super::schema_model::words(stmt, 6).iter().map(|w| w.to_ascii_lowercase()).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["create", ..] => match super::migrations::created_object(stmt) {
            Some((_, name)) => object_exists(c, &name),
            None => Ok(false),
        },
        ["drop", _, name, ..] => Ok(!object_exists(c, name)?),
        ["alter", "table", table, "add", "column", column, ..] | ["alter", "table", table, "add", column, ..] => {
            column_exists(c, table, column)
        }
        _ => Ok(false),
    }
}

/// Runs `f` holding the database's migration lock (Oracle; on SQLite each step's
/// write transaction is the lock).
fn with_migration_lock<T>(c: &mut Conn, f: impl FnOnce(&mut Conn) -> AppResult<T>) -> AppResult<T> {
    if c.dialect() == Dialect::Sqlite {
        return f(c);
    }
    c.execute(
        sql!(
            oracle: "DECLARE
                result INTEGER;
            BEGIN
                result := DBMS_LOCK.REQUEST(id => 7270001, lockmode => DBMS_LOCK.X_MODE, timeout => 600,
                                            release_on_commit => FALSE);
                IF result NOT IN (0, 4) THEN
                    RAISE_APPLICATION_ERROR(-20900, 'another instance holds the migration lock: ' || result);
                END IF;
            END;"
        ),
        &[],
    )?;
    let out = f(c);
    let release =
        c.execute(sql!(oracle: "DECLARE result INTEGER; BEGIN result := DBMS_LOCK.RELEASE(id => 7270001); END;"), &[]);
    if let Err(e) = release {
        tracing::warn!(error = %e, "could not release the migration lock; it goes with the session");
    }
    out
}

fn apply_migrations(c: &mut Conn, audit: &AuditEntry) -> AppResult<MigrationReport> {
    let list = migrations(c.dialect());
    c.transaction(|c| {
        if !object_exists(c, "pf_schema_version")? {
            c.execute(create_schema_version(), &[])?;
        }
        Ok(())
    })?;
    let from = current_version(c)?;
    let latest = check_not_newer(from, list)?;
    let mut applied = Vec::new();
    for m in list.iter().filter(|m| m.version > from) {
        let done_now = c.transaction(|c| {
            if current_version(c)? >= m.version {
                return Ok(false); // another instance applied it meanwhile
            }
            for stmt in split_statements(m.sql) {
                if !already_done(c, &stmt)? {
                    c.execute(&stmt, &[])?;
                }
            }
            c.execute(
                sql!("INSERT INTO pf_schema_version (version, name, applied_at) VALUES (:1, :2, :3)"),
                &args![m.version, m.name, chrono::Utc::now()],
            )?;
            if object_exists(c, "pf_audit_counts_total")? {
                audit::append::insert(c, &step_audit(audit, m))?;
            } else if object_exists(c, "pf_audit_chain_head")? {
                audit::append::insert_before_totals(c, &step_audit(audit, m))?;
            } else if object_exists(c, "pf_audit_log")? {
                audit::append::insert_unchained(c, &step_audit(audit, m))?;
            }
            Ok(true)
        })?;
        if done_now {
            applied.push(m.name.to_string());
        }
    }
    if !applied.is_empty() {
        analyze_new_indexes(c)?;
    }
    Ok(MigrationReport { from_version: from, to_version: from.max(latest), applied })
}

/// When migrations add indexes to a SQLite database that has planner statistics (a
/// load analyzed it), their tables are analyzed too: the planner would weigh the new
/// indexes without statistics (measured at a million users after 0009: a status and
/// text search went from 4 ms to 86 ms). Oracle gathers index statistics on CREATE.
fn analyze_new_indexes(c: &mut Conn) -> AppResult<()> {
    if c.dialect() != Dialect::Sqlite || !object_exists(c, "sqlite_stat1")? {
        return Ok(());
    }
    let tables = c.query_map(
        sql!(
            sqlite: "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                AND name NOT IN (SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL)"
        ),
        &[],
        |r| r.text(0),
    )?;
    for table in tables {
        c.execute(&format!("ANALYZE \"{}\"", table.replace('"', "\"\"")), &[])?;
    }
    Ok(())
}

/// The names of the registered per-user sets, and drift for those that break the rule.
fn registered_sets(c: &mut Conn, drift: &mut Vec<Drift>) -> AppResult<Vec<Username>> {
    if !object_exists(c, "pf_user_table_sets")? {
        return Ok(Vec::new()); // never migrated: report, don't fail
    }
    let rows = c.query(sql!("SELECT username FROM pf_user_table_sets ORDER BY username"), &[])?;
    let mut sets = Vec::new();
    for r in rows {
        let name = r.text(0)?;
        match Username::parse(&name) {
            Ok(u) => sets.push(u),
            Err(_) => drift.push(Drift(format!("the registry holds '{name}', which breaks the username rule"))),
        }
    }
    Ok(sets)
}

/// A SQLite database's schema, from its catalog.
fn sqlite_schema(c: &mut Conn) -> AppResult<Schema> {
    let rows = c.query(
        sql!(sqlite: "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"),
        &[],
    )?;
    let rows: Vec<(String, String)> = rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect::<AppResult<_>>()?;
    Schema::from_sqlite_catalog(&rows)
}

/// What the statements build in a fresh in-memory SQLite database.
fn sqlite_expected(statements: impl FnOnce(&mut Conn) -> AppResult<()>) -> AppResult<Schema> {
    let mut c = Conn::new(SqliteDb::memory()?, Dialect::Sqlite);
    statements(&mut c)?;
    sqlite_schema(&mut c)
}

/// The schema's `PF_` objects as Oracle's catalog describes them.
fn oracle_schema(c: &mut Conn) -> AppResult<Schema> {
    let catalog = OracleCatalog {
        tables: c.query(
            sql!(
                oracle: "SELECT LOWER(table_name) FROM user_tables
                    WHERE table_name LIKE 'PF\\_%' ESCAPE '\\' AND dropped = 'NO'
                      AND table_name NOT IN (SELECT mview_name FROM user_mviews)"
            ),
            &[],
        )?,
        columns: c.query(
            sql!(
                oracle: "SELECT LOWER(table_name), LOWER(column_name), data_type, char_length, data_precision,
                    data_scale, nullable, data_default, virtual_column
                    FROM user_tab_cols WHERE hidden_column = 'NO' AND table_name LIKE 'PF\\_%' ESCAPE '\\'
                    ORDER BY table_name, column_id"
            ),
            &[],
        )?,
        constraints: c.query(
            sql!(
                oracle: "SELECT LOWER(table_name), constraint_name, constraint_type, search_condition_vc, delete_rule,
                    r_constraint_name
                    FROM user_constraints
                    WHERE table_name LIKE 'PF\\_%' ESCAPE '\\' AND constraint_type IN ('P', 'U', 'R', 'C')"
            ),
            &[],
        )?,
        constraint_columns: c.query(
            sql!(
                oracle: "SELECT constraint_name, LOWER(column_name) FROM user_cons_columns
                    WHERE table_name LIKE 'PF\\_%' ESCAPE '\\' ORDER BY constraint_name, position"
            ),
            &[],
        )?,
        // Indexes a constraint made, LOB indexes and a materialized view's own are not ours.
        indexes: c.query(
            sql!(
                oracle: "SELECT LOWER(i.index_name), LOWER(i.table_name), i.uniqueness, p.locality
                    FROM user_indexes i LEFT JOIN user_part_indexes p ON p.index_name = i.index_name
                    WHERE i.table_name LIKE 'PF\\_%' ESCAPE '\\' AND i.index_type <> 'LOB'
                      AND i.index_name NOT LIKE 'I\\_SNAP$%' ESCAPE '\\'
                      AND i.index_name NOT IN (SELECT index_name FROM user_constraints
                          WHERE index_name IS NOT NULL AND constraint_type IN ('P', 'U'))"
            ),
            &[],
        )?,
        index_keys: c.query(
            sql!(
                oracle: "SELECT LOWER(c.index_name), c.column_position, LOWER(c.column_name), e.column_expression
                    FROM user_ind_columns c LEFT JOIN user_ind_expressions e
                      ON e.index_name = c.index_name AND e.column_position = c.column_position
                    WHERE c.table_name LIKE 'PF\\_%' ESCAPE '\\'"
            ),
            &[],
        )?,
        mviews: c.query(
            sql!(
                oracle: "SELECT LOWER(mview_name), build_mode, refresh_method, refresh_mode, query FROM user_mviews
                    WHERE mview_name LIKE 'PF\\_%' ESCAPE '\\'"
            ),
            &[],
        )?,
        views: c.query(
            sql!(oracle: "SELECT LOWER(view_name), text FROM user_views WHERE view_name LIKE 'PF\\_%' ESCAPE '\\'"),
            &[],
        )?,
        partitioning: c.query(
            sql!(
                oracle: "SELECT LOWER(t.table_name), t.partitioning_type, t.interval, LOWER(k.column_name)
                    FROM user_part_tables t JOIN user_part_key_columns k
                      ON k.name = t.table_name AND k.object_type = 'TABLE'
                    WHERE t.table_name LIKE 'PF\\_%' ESCAPE '\\' ORDER BY t.table_name, k.column_position"
            ),
            &[],
        )?,
        others: c.query(
            sql!(
                oracle: "SELECT LOWER(object_name), LOWER(object_type) FROM user_objects
                    WHERE object_name LIKE 'PF\\_%' ESCAPE '\\'
                      AND object_type IN ('TRIGGER', 'SEQUENCE', 'PROCEDURE', 'FUNCTION', 'PACKAGE', 'SYNONYM', 'TYPE')"
            ),
            &[],
        )?,
    };
    Schema::from_oracle_catalog(&catalog)
}

/// What the migrations build: on Oracle read from their statements, on SQLite
/// from a fresh in-memory database they were applied to (no hand-kept list).
pub fn expected_schema(dialect: Dialect) -> AppResult<Schema> {
    match dialect {
        Dialect::Oracle => {
            let mut statements = vec![create_schema_version().oracle.unwrap_or_default().to_string()];
            statements.extend(migrations(Dialect::Oracle).iter().flat_map(|m| split_statements(m.sql)));
            Schema::from_statements(&statements, Dialect::Oracle)
        }
        Dialect::Sqlite => {
            sqlite_expected(|c| apply_migrations(c, &AuditEntry::new(SCHEMA_MIGRATE, "schema", "expected")).map(|_| ()))
        }
    }
}

/// What the template builds for `user`'s set, on its own.
pub fn expected_set(dialect: Dialect, user: &Username) -> AppResult<Schema> {
    let statements = user_table_statements(dialect, user);
    match dialect {
        Dialect::Oracle => Schema::from_statements(&statements, Dialect::Oracle),
        Dialect::Sqlite => sqlite_expected(|c| statements.iter().try_for_each(|s| c.execute(s, &[]).map(|_| ()))),
    }
}

impl SchemaStore for Store {
    fn migrate(&self, audit: &AuditEntry) -> AppResult<MigrationReport> {
        let report = {
            let mut c = self.conn(Work::Maintenance, true)?;
            with_migration_lock(&mut c, |c| apply_migrations(c, audit))?
        };
        // Events from before the chain existed (or written by another tool) join it.
        let unchained = |c: &mut Conn| -> AppResult<bool> {
            Ok(object_exists(c, "pf_audit_chain_head")?
                && c.query_opt(sql!("SELECT 1 FROM pf_audit_log WHERE chain_seq IS NULL", limit "1"), &[])?.is_some())
        };
        if self.read(unchained)? {
            pathfinder::storage::walk_batches(|after| self.chain_pending(after, 5_000), |_| {})?;
        }
        Ok(report)
    }

    fn schema_version(&self) -> AppResult<i64> {
        self.read(current_version)
    }

    fn latest_schema_version(&self) -> i64 {
        super::migrations::latest_version()
    }

    fn schema_check(&self) -> AppResult<Vec<Drift>> {
        let mut drift = Vec::new();
        let mut c = self.conn(Work::Maintenance, false)?;
        let version = current_version(&mut c)?;
        if version != latest_version() {
            drift.push(Drift(format!("schema version is {version}, this build expects {}", latest_version())));
        }
        let sets = registered_sets(&mut c, &mut drift)?;
        let mut expected = expected_schema(self.dialect())?;
        match self.dialect() {
            Dialect::Oracle => {
                // Every set shares the one schema.
                for user in &sets {
                    expected.objects.extend(expected_set(Dialect::Oracle, user)?.objects);
                }
                drift.extend(compare(&expected, &oracle_schema(&mut c)?, ""));
            }
            Dialect::Sqlite => {
                drift.extend(compare(&expected, &sqlite_schema(&mut c)?, ""));
                drop(c);
                // Each registered set against the template, in its own file.
                for user in &sets {
                    let want = expected_set(Dialect::Sqlite, user)?;
                    let file = self.user_tables_file(user).ok_or_else(|| AppError::internal("no set file"))?;
                    let have = match self.set_conn(user, super::driver::sqlite::FileAccess::ReadOnly)? {
                        Some(mut f) => sqlite_schema(&mut f)?,
                        None => Schema::default(),
                    };
                    drift.extend(compare(&want, &have, &format!(" (in {})", file.display())));
                }
            }
        }
        Ok(drift)
    }
}
