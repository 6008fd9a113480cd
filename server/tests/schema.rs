//! The schema against the seed: both dialects' migrations, every seed table and
//! column, the Oracle statements through an Oracle-dialect parser, drift detection,
//! crash repair and atomicity.

mod common;

use common::{add_user, audit};
use pathfinder::storage::{SchemaStore, UserStore, UserTableStore};
use pathfinder::username::{OBJECT_SUFFIX_MAX_BYTES, USERNAME_MAX_BYTES};
use pathfinder::{AppError, Role, Username};
use pathfinder_server::storage::migrations::{
    created_object, split_statements, table_columns, user_table_statements, ORACLE, ORACLE_USER_TABLES, SQLITE,
    SQLITE_USER_TABLES,
};
use pathfinder_server::storage::sql;
use rusqlite::Connection;
use std::collections::BTreeSet;

const SEED: &str = include_str!("seed/database-architecture.md");

/// The seed's SQL blocks, split into statements, `<username>` made `alice`.
fn seed_statements() -> Vec<String> {
    SEED.split("```sql")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .flat_map(split_statements)
        .map(|s| s.replace("<username>", "alice"))
        .collect()
}

fn raw(dir: &tempfile::TempDir) -> Connection {
    Connection::open(dir.path().join("pf.db")).unwrap()
}

fn columns(c: &Connection, table: &str) -> BTreeSet<String> {
    let mut stmt = c.prepare("SELECT name FROM pragma_table_xinfo(?1)").unwrap();
    stmt.query_map([table], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn both_dialects_have_the_same_migrations() {
    let names = |m: &[pathfinder_server::storage::migrations::Migration]| {
        m.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>()
    };
    assert_eq!(names(SQLITE), names(ORACLE));
    for (i, m) in SQLITE.iter().enumerate() {
        assert_eq!(m.version, i as i64 + 1, "versions are 1, 2, 3, … with no gap");
        assert!(m.name.starts_with(&format!("{:04}_", m.version)));
    }
    // Same objects, same columns, in both dialects.
    let objects = |m: &[pathfinder_server::storage::migrations::Migration], tpl: &str| {
        let alice = Username::parse("alice").unwrap();
        m.iter()
            .flat_map(|m| split_statements(m.sql))
            .chain(user_table_statements(tpl, &alice))
            .filter_map(|s| created_object(&s).map(|(_, name)| (name, table_columns(&s))))
            .collect::<Vec<_>>()
    };
    let (sqlite, oracle) = (objects(SQLITE, SQLITE_USER_TABLES), objects(ORACLE, ORACLE_USER_TABLES));
    let names = |o: &[(String, Vec<String>)]| o.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&sqlite), names(&oracle));
    for ((name, s), (_, o)) in sqlite.iter().zip(&oracle) {
        // The archive is CREATE TABLE AS SELECT in Oracle (no column list to compare);
        // the materialized statistics view is a table in SQLite.
        if !o.is_empty() {
            assert_eq!(s, o, "columns of {name}");
        }
    }
}

#[test]
fn every_seed_table_and_column_exists_after_migrate_and_provision() {
    let (s, dir) = common::sqlite();
    let alice = Username::parse("alice").unwrap();
    s.provision_user_tables(&alice, &audit("user_tables.provision")).unwrap();
    let main = raw(&dir);
    // alice's tables live in her own file (see storage/sqlite/user_tables.rs).
    let own = Connection::open(s.user_tables_file(&alice)).unwrap();
    let c = |name: &str| if name.starts_with("pf_user_alice_") { &own } else { &main };
    let mut tables = 0;
    for stmt in seed_statements() {
        let Some(("table", name)) = created_object(&stmt).map(|(k, n)| (k, n)) else { continue };
        let have = columns(c(&name), &name);
        assert!(!have.is_empty(), "seed table {name} is missing");
        let want = if name.ends_with("_experiences_archive") {
            columns(&own, "pf_user_alice_experiences")
        } else {
            table_columns(&stmt).into_iter().collect()
        };
        for col in &want {
            assert!(have.contains(col), "{name}.{col} is missing");
        }
        tables += 1;
    }
    assert_eq!(tables, 28, "the seed defines 28 tables (with <username> = alice)");
    // Its views: the statistics table and alice's career summary.
    assert_eq!(
        columns(&main, "pf_mv_user_stats"),
        ["first_activity", "last_activity", "total_events", "total_sessions", "user_id", "username"]
            .map(String::from)
            .into()
    );
    assert_eq!(columns(&own, "pf_user_alice_career_summary").len(), 4);
}

#[test]
fn every_seed_index_exists_or_is_served_by_a_unique_constraint() {
    let (s, dir) = common::sqlite();
    let alice = Username::parse("alice").unwrap();
    s.provision_user_tables(&alice, &audit("user_tables.provision")).unwrap();
    let c = raw(&dir);
    let index_names = |c: &Connection| -> BTreeSet<String> {
        let mut st = c.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").unwrap();
        st.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
    };
    // The main file's, and those of alice's own file.
    let mut indexes = index_names(&c);
    indexes.extend(index_names(&Connection::open(s.user_tables_file(&alice)).unwrap()));
    // Left out on purpose (ORA-01408): a UNIQUE constraint already indexes the column.
    let served_by_unique = [
        ("idx_users_username", "pf_users", "username"),
        ("idx_users_email", "pf_users", "email"),
        ("idx_invitation_token", "pf_user_invitations", "invitation_token"),
        ("idx_flag_key", "pf_feature_flags", "flag_key"),
    ];
    let mut checked = 0;
    for stmt in seed_statements() {
        let Some(("index", name)) = created_object(&stmt) else { continue };
        checked += 1;
        if let Some((_, table, column)) = served_by_unique.iter().find(|(n, _, _)| *n == name) {
            let unique: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM pragma_index_list(?1) l, pragma_index_info(l.name) i
                     WHERE l.\"unique\" = 1 AND i.name = ?2",
                    [table, column],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(unique, 1, "{table}.{column} has a unique index");
        } else if stmt.contains("pf_user_alice_") {
            // Per-user indexes carry the user's prefix so that two users' names never collide.
            let renamed = format!("pf_user_alice_ix_{}", name.trim_start_matches("idx_"));
            assert!(indexes.contains(&renamed), "{name} → {renamed}");
        } else {
            assert!(indexes.contains(&name), "index {name}");
        }
    }
    assert_eq!(checked, 29, "the seed defines 29 indexes");
}

#[test]
fn per_user_names_fit_and_never_collide() {
    let long = Username::parse(&"u".repeat(USERNAME_MAX_BYTES)).unwrap();
    let suffixes: Vec<String> = user_table_statements(SQLITE_USER_TABLES, &Username::parse("x").unwrap())
        .iter()
        .filter_map(|s| created_object(s))
        .map(|(_, n)| n.trim_start_matches("pf_user_x_").to_string())
        .collect();
    assert_eq!(suffixes.len(), 19, "11 tables and views, 8 indexes");
    for s in &suffixes {
        assert!(s.len() <= OBJECT_SUFFIX_MAX_BYTES, "{s}");
        assert!(long.object_name_fits(s), "{s}");
        // pf_user_<a>_<s1> = pf_user_<b>_<s2> with a ≠ b would need s1 = <x>_<s2>.
        for other in &suffixes {
            assert!(!s.ends_with(&format!("_{other}")), "{s} ends with _{other}: two users' objects could collide");
        }
    }
}

/// Statements sqlparser's Oracle dialect cannot parse, with the reason. Keep it short.
const ORACLE_PARSER_EXCEPTIONS: &[(&str, &str)] = &[
    ("pf_user_analytics", "PARTITION BY RANGE … INTERVAL"),
    ("idx_analytics_user", "LOCAL index"),
    ("idx_analytics_event", "LOCAL index"),
    ("idx_analytics_timestamp", "LOCAL index"),
    ("idx_analytics_user_date", "LOCAL index"),
    ("pf_mv_user_stats", "CREATE MATERIALIZED VIEW … BUILD IMMEDIATE"),
    ("pf_user_alice_career_summary", "CREATE MATERIALIZED VIEW … BUILD IMMEDIATE"),
    ("REFRESH_USER_STATS", "PL/SQL block"),
    ("GATHER_STATS", "PL/SQL block"),
];

#[test]
fn every_oracle_statement_parses_as_oracle_sql() {
    use sqlparser::dialect::OracleDialect;
    use sqlparser::parser::Parser;
    let alice = Username::parse("alice").unwrap();
    let mut statements: Vec<(String, String)> = ORACLE
        .iter()
        .flat_map(|m| split_statements(m.sql))
        .chain(user_table_statements(ORACLE_USER_TABLES, &alice))
        .map(|s| (created_object(&s).map(|(_, n)| n).unwrap_or_default(), s))
        .collect();
    statements.extend(sql::ALL.iter().map(|s| (String::new(), s.to_string())));
    statements.extend(sql::oracle::ALL.iter().map(|s| {
        let name = match *s {
            sql::oracle::REFRESH_USER_STATS => "REFRESH_USER_STATS",
            sql::oracle::GATHER_STATS => "GATHER_STATS",
            _ => "",
        };
        (name.to_string(), s.to_string())
    }));
    for f in ["", "q=a&status=active&sort=email&dir=desc", "sort=created_at", "q=abc&match=prefix"] {
        let get = |k: &str| f.split('&').find_map(|kv| kv.strip_prefix(&format!("{k}="))).unwrap_or("");
        let mut filter = pathfinder::filter::UserFilter::from_query(
            get("q"),
            get("match"),
            get("status"),
            get("sort"),
            get("dir"),
            "",
        )
        .unwrap();
        let key =
            if filter.sort == pathfinder::filter::UserSort::CreatedAt { "2026-01-01 00:00:00.000000" } else { "k" };
        let cursor = pathfinder::filter::Cursor {
            sort: filter.sort,
            descending: filter.descending,
            key: key.into(),
            id: pathfinder::new_id(),
        };
        filter.after = Some(cursor.encode());
        let access = sql::UsersAccess::Walk;
        statements.push((String::new(), sql::search_users(&filter, sql::Dialect::Oracle, access).unwrap().0));
    }
    assert!(statements.len() > 100, "{} statements", statements.len());

    let mut failed = BTreeSet::new();
    for (name, stmt) in &statements {
        if let Err(e) = Parser::parse_sql(&OracleDialect {}, stmt) {
            let known = ORACLE_PARSER_EXCEPTIONS.iter().any(|(n, _)| n == name);
            assert!(known, "Oracle dialect refuses a statement that is not a listed exception: {e}\n{stmt}");
            failed.insert(name.clone());
        }
    }
    let listed: BTreeSet<String> = ORACLE_PARSER_EXCEPTIONS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(failed, listed, "every listed exception still fails (else drop it from the list)");
}

#[test]
fn schema_check_reports_drift() {
    let (s, dir) = common::sqlite();
    assert!(s.schema_check().unwrap().is_empty());
    let c = raw(&dir);
    c.execute_batch(
        "DROP INDEX idx_sso_provider; ALTER TABLE pf_users ADD COLUMN shoe_size NUMBER; CREATE TABLE pf_stray (x INT);",
    )
    .unwrap();
    let drift: Vec<String> = s.schema_check().unwrap().into_iter().map(|d| d.0).collect();
    assert!(drift.contains(&"missing index idx_sso_provider".to_string()), "{drift:?}");
    assert!(drift.contains(&"table pf_users: unexpected column shoe_size".to_string()), "{drift:?}");
    assert!(drift.contains(&"unexpected table pf_stray".to_string()), "{drift:?}");
}

#[test]
fn migrate_refuses_a_newer_database() {
    let (s, dir) = common::sqlite();
    raw(&dir).execute("INSERT INTO pf_schema_version (version, name, applied_at) VALUES (99, '0099_future', '2030-01-01 00:00:00')", []).unwrap();
    let err = s.migrate(&audit("schema.migrate")).unwrap_err();
    assert!(matches!(err, AppError::Conflict(ref m) if m.contains("newer")), "{err}");
    assert_eq!(s.schema_version().unwrap(), 99);
}

#[test]
fn provisioning_repairs_a_half_made_set() {
    let (s, dir) = common::sqlite();
    let bob = Username::parse("bob").unwrap();
    // What a crash after the first two objects would leave behind.
    raw(&dir)
        .execute(
            "INSERT INTO pf_user_table_sets (username, status, template_version) VALUES ('bob', 'provisioning', 1)",
            [],
        )
        .unwrap();
    std::fs::create_dir_all(s.user_tables_file(&bob).parent().unwrap()).unwrap();
    let own = Connection::open(s.user_tables_file(&bob)).unwrap();
    for stmt in user_table_statements(SQLITE_USER_TABLES, &bob).iter().take(2) {
        own.execute_batch(stmt).unwrap();
    }
    let drift = s.schema_check().unwrap();
    assert!(!drift.is_empty(), "a half-made set is drift");
    let set = s.provision_user_tables(&bob, &audit("user_tables.provision")).unwrap();
    assert_eq!(set.status, "ready");
    assert!(set.tables.iter().all(|t| t.rows >= 0), "every object exists: {:?}", set.tables);
    assert!(s.schema_check().unwrap().is_empty());
}

#[test]
fn a_failing_audit_write_rolls_the_change_back() {
    let (s, dir) = common::sqlite();
    raw(&dir)
        .execute_batch("CREATE TRIGGER audit_down BEFORE INSERT ON pf_audit_log BEGIN SELECT RAISE(ABORT, 'audit log is down'); END;")
        .unwrap();
    let u = common::new_user("ghost", "G", "Host", "active", &[Role::Admin]);
    let err = s.create_user(&u, &audit("user.create")).unwrap_err();
    assert!(matches!(err, AppError::Internal(_)), "{err:?}");
    assert!(!err.to_string().contains("audit log is down"), "the cause is logged, not shown");
    assert!(matches!(s.user_profile(&u.user_id), Err(AppError::NotFound(_))), "no user was made");

    let carol = Username::parse("carol").unwrap();
    assert!(s.provision_user_tables(&carol, &audit("user_tables.provision")).is_err());
    assert!(s.user_table_set(&carol).unwrap().is_none(), "no registry row");
    assert!(!s.user_tables_file(&carol).exists(), "no half-made tables");
    let c = raw(&dir);

    c.execute_batch("DROP TRIGGER audit_down").unwrap();
    let id = add_user(s.as_ref(), "ghost", "active", &[]);
    assert!(s.user_profile(&id).is_ok());
}

#[test]
fn refreshing_user_stats_rebuilds_the_table() {
    use pathfinder::storage::AuditStore;
    let (s, dir) = common::sqlite();
    let id = add_user(s.as_ref(), "stat_user", "active", &[]);
    add_user(s.as_ref(), "idle_user", "active", &[]);
    let c = raw(&dir);
    for (n, session) in [(1, "s1"), (2, "s1"), (3, "s2")] {
        c.execute(
            "INSERT INTO pf_user_analytics (analytics_id, user_id, event_type, session_id, event_timestamp)
             VALUES (?1, ?2, 'page_view', ?3, ?4)",
            rusqlite::params![pathfinder::new_id(), id.0, session, format!("2026-01-0{n} 10:00:00")],
        )
        .unwrap();
    }
    s.refresh_user_stats(&audit("user_stats.refresh")).unwrap();
    let row: (i64, i64, String, String) = c
        .query_row(
            "SELECT total_sessions, total_events, first_activity, last_activity FROM pf_mv_user_stats WHERE username = 'stat_user'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(row, (2, 3, "2026-01-01 10:00:00".into(), "2026-01-03 10:00:00".into()));
    let rows: i64 = c.query_row("SELECT COUNT(*) FROM pf_mv_user_stats", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 2, "one row per user, idle ones too");
    s.refresh_user_stats(&audit("user_stats.refresh")).unwrap();
    let rows: i64 = c.query_row("SELECT COUNT(*) FROM pf_mv_user_stats", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 2, "a refresh replaces, never appends");
    assert_eq!(s.recent_audit(1).unwrap()[0].action, "user_stats.refresh");
}

#[test]
fn sqlite_lower_folds_unicode_and_keeps_the_builtins_other_answers() {
    let c = Connection::open_in_memory().unwrap();
    pathfinder_server::storage::sqlite::configure(&c).unwrap();
    let row: (Option<String>, String, String, String) = c
        .query_row("SELECT lower(NULL), lower(12), lower(1.5), lower('ÉLODIE Zoë')", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(row, (None, "12".into(), "1.5".into(), "élodie zoë".into()));
}
