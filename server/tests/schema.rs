//! The schema against the seed: both dialects' migrations, every seed table and
//! column, the Oracle statements through an Oracle-dialect parser, drift detection,
//! crash repair and atomicity.

mod common;

use common::{add_user, audit};
use pathfinder::storage::{SchemaStore, UserStore, UserTableStore};
use pathfinder::username::{OBJECT_SUFFIX_MAX_BYTES, USERNAME_MAX_BYTES};
use pathfinder::{AppError, Role, Username};
use pathfinder_server::storage::audit::search as audit_search;
use pathfinder_server::storage::driver::Dialect;
use pathfinder_server::storage::migrations::{
    created_object, split_statements, table_columns, user_table_statements, ORACLE, SQLITE,
};
use pathfinder_server::storage::schema::{expected_schema, expected_set};
use pathfinder_server::storage::schema_model::{Object, Schema};
use pathfinder_server::storage::{oracle_lint, search, sql};
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};

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
}

/// What each dialect's migrations and template build, object by object and column
/// by column, is the same but for what only one backend has (each listed, and why).
#[test]
fn both_dialects_build_the_same_schema() {
    let alice = Username::parse("alice").unwrap();
    let build = |d: Dialect| {
        let mut s = expected_schema(d).unwrap();
        s.objects.extend(expected_set(d, &alice).unwrap().objects);
        s
    };
    let (sqlite, oracle) = (build(Dialect::Sqlite), build(Dialect::Oracle));
    // SQLite's trigram search: the index, its own tables, the triggers that keep it,
    // the columns it needs in pf_users (migrations/README.md).
    let sqlite_only = |name: &str| {
        name.starts_with("pf_users_search")
            || name == "pf_users_email_fold"
            || name == "idx_users_search_key"
            // A partial index of the events with a message (a CLOB on Oracle), and
            // the trigram index of messages with its triggers (migration 0028).
            || name == "idx_audit_messages"
            || name.starts_with("pf_audit_messages_search")
    };
    // The triggers that mark CPA PERT reports to check again (migration 0020): one
    // per table and event on SQLite, one per table on Oracle.
    let dirty_triggers = |s: &Schema| -> BTreeMap<String, usize> {
        let mut by_table = BTreeMap::new();
        for name in s.objects.keys().filter_map(|n| n.strip_prefix("pf_cpa_dirty_")) {
            let table = name.trim_end_matches("_insert").trim_end_matches("_update").trim_end_matches("_delete");
            *by_table.entry(table.to_string()).or_insert(0) += 1;
        }
        by_table
    };
    let (sqlite_dirty, oracle_dirty) = (dirty_triggers(&sqlite), dirty_triggers(&oracle));
    assert_eq!(sqlite_dirty.keys().collect::<Vec<_>>(), oracle_dirty.keys().collect::<Vec<_>>());
    assert!(sqlite_dirty.values().all(|n| *n == 3) && oracle_dirty.values().all(|n| *n == 1));
    let kinds = |s: &Schema| -> BTreeMap<String, String> {
        s.objects
            .iter()
            .filter(|(n, _)| !sqlite_only(n) && !n.starts_with("pf_cpa_dirty_"))
            .map(|(n, o)| (n.clone(), o.kind().to_string()))
            .collect()
    };
    let (mut sk, ok) = (kinds(&sqlite), kinds(&oracle));
    // pf_mv_user_stats and the career summaries: Oracle's materialized views are a
    // table the refresh rebuilds and plain views on SQLite.
    for (name, kind) in sk.iter_mut() {
        if ok.get(name).map(String::as_str) == Some("materialized view") {
            assert!(kind == "table" || kind == "view", "{name} is a {kind} on SQLite");
            *kind = "materialized view".into();
        }
    }
    assert_eq!(sk, ok, "the same objects");
    for (name, object) in &oracle.objects {
        let (Object::Table(o), Some(Object::Table(s))) = (object, sqlite.objects.get(name)) else { continue };
        let columns = |t: &pathfinder_server::storage::schema_model::Table| {
            t.columns
                .iter()
                .map(|c| c.name.clone())
                .filter(|c| c != "search_key" && c != "email_fold")
                .collect::<Vec<_>>()
        };
        assert_eq!(columns(s), columns(o), "columns of {name}");
        assert_eq!(s.primary_key, o.primary_key, "primary key of {name}");
        assert_eq!(s.foreign_keys, o.foreign_keys, "foreign keys of {name}");
        assert_eq!(s.uniques, o.uniques, "unique constraints of {name}");
    }
}

#[test]
fn every_seed_table_and_column_exists_after_migrate_and_provision() {
    let (s, dir) = common::sqlite();
    let alice = Username::parse("alice").unwrap();
    s.provision_user_tables(&alice, &audit("user_tables.provision")).unwrap();
    let main = raw(&dir);
    // alice's tables live in her own file (see storage/sqlite/user_tables.rs).
    let own = Connection::open(s.user_tables_file(&alice).unwrap()).unwrap();
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
    indexes.extend(index_names(&Connection::open(s.user_tables_file(&alice).unwrap()).unwrap()));
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
    let suffixes: Vec<String> = user_table_statements(Dialect::Sqlite, &Username::parse("x").unwrap())
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

/// Every statement the Oracle backend can send: the migrations, the per-user
/// template (for a short and the longest name), every `sql!` statement's Oracle
/// text, and what the generators make (users searches, bulk inserts, a set's drop,
/// count and career statements).
fn oracle_statements() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for m in ORACLE {
        out.extend(split_statements(m.sql).into_iter().map(|s| (m.name.to_string(), s)));
    }
    let longest = Username::parse(&"u".repeat(USERNAME_MAX_BYTES)).unwrap();
    for user in [Username::parse("alice").unwrap(), longest] {
        for stmt in user_table_statements(Dialect::Oracle, &user) {
            if let Some((kind, name)) = created_object(&stmt) {
                out.push(("drop".into(), pathfinder_server::storage::drop_statement(kind, &name)));
            }
            out.push(("template".into(), stmt));
        }
        let tables = ["pf_user_x_experiences", "pf_user_x_skills"];
        out.push(("counts".into(), pathfinder_server::storage::counts_statement(Dialect::Oracle, &tables)));
        out.push(("career".into(), pathfinder_server::storage::career_statement(&user)));
        for section in pathfinder::career::CareerSection::ALL {
            use pathfinder_server::storage::{career_count_statement, career_page_statement, career_reveal_statement};
            for after in [false, true] {
                out.push(("career page".into(), career_page_statement(Dialect::Oracle, &user, section, after)));
            }
            out.push(("career count".into(), career_count_statement(&user, section)));
            if section.has_self_written() {
                out.push(("career reveal".into(), career_reveal_statement(&user, section)));
            }
        }
        for (table, column, _) in pathfinder::retention::USER_TABLES {
            let retention = pathfinder_server::storage::retention_set_statements(&user, table, column);
            out.extend(retention.into_iter().map(|s| ("retention".to_string(), s)));
        }
    }
    // A subject-access export's reads: each shared table's rows of a person, and a
    // per-user table whole (the columns come from the catalog at run time).
    let columns = ["user_id".to_string(), "created_at".to_string()];
    for part in pathfinder_server::storage::SUBJECT_PARTS {
        out.push((
            part.file.into(),
            pathfinder_server::storage::subject_select_statement(part.table, &columns, part.filter),
        ));
    }
    out.push((
        "export".into(),
        pathfinder_server::storage::subject_select_statement("pf_user_alice_skills", &columns, "1 = 1"),
    ));
    for stmt in sql::STATEMENTS.iter() {
        if let Some(text) = stmt.oracle {
            out.push((stmt.at.to_string(), text.to_string()));
        }
    }
    for f in [
        "",
        "q=a&status=active&sort=email&dir=desc",
        "sort=created_at",
        "q=abc&match=prefix",
        "q=Zoë_K&match=prefix&status=suspended&sort=email",
        "q=ab&sort=created_at&dir=desc&status=deleted",
    ] {
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
        out.push((
            "search".into(),
            search::users_query(&filter, Dialect::Oracle, search::UsersAccess::Walk).unwrap().0,
        ));
        if let Some((source, probe, _)) = search::candidates_probe(&filter, Dialect::Oracle) {
            out.push(("search probe".into(), probe));
            let access = search::UsersAccess::Candidates(source);
            out.push(("search candidates".into(), search::users_query(&filter, Dialect::Oracle, access).unwrap().0));
        }
        let key =
            if filter.sort == pathfinder::filter::UserSort::CreatedAt { "2026-01-01 00:00:00.000000" } else { "k" };
        let cursor = pathfinder::filter::Cursor {
            sort: filter.sort,
            descending: filter.descending,
            key: key.into(),
            id: pathfinder::new_id(),
        };
        filter.after = Some(cursor.encode());
        out.push((
            "search".into(),
            search::users_query(&filter, Dialect::Oracle, search::UsersAccess::Walk).unwrap().0,
        ));
    }
    // The Audit page's searches and facets (storage/audit/search.rs).
    let now = chrono::Utc::now();
    let cursor = pathfinder::audit::AuditCursor { created_at: now, id: pathfinder::new_id() };
    for q in [
        "",
        "range=30d&action=user.status.&status=4xx",
        "range=custom&from=2026-01-01T10:30&to=2026-03-01&action=auth.login&status=errors",
        "actor=alice&method=POST&path=/api/&ip=10.1.&text=100%25&order=oldest",
        "involving=01HZZZZZZZZZZZZZZZZZZZZZZZ&entity_type=user&entity_id=x&status=500",
    ] {
        let pairs: serde_json::Map<String, serde_json::Value> = q
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.replace("%25", "%").into()))
            .collect();
        let params: pathfinder::audit::AuditParams = serde_json::from_value(pairs.into()).unwrap();
        let mut filter = pathfinder::audit::AuditFilter::from_params(&params, now).unwrap();
        let actor = filter.actor.clone();
        for page in [
            pathfinder::audit::PageFrom::First,
            pathfinder::audit::PageFrom::After(cursor.clone()),
            pathfinder::audit::PageFrom::Before(cursor.clone()),
        ] {
            filter.page = page;
            let (sql, _) =
                audit_search::page_sql(&filter, actor.as_deref(), audit_search::Walk::Planner, Dialect::Oracle);
            out.push(("audit search".into(), sql));
        }
        out.extend(audit_search::tally_sqls(&filter).into_iter().map(|s| ("audit facets".to_string(), s)));
    }
    // The CPA PERT reports list (storage/pert.rs): no filter, and every filter.
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let plain = pathfinder::pert::PertCursor { day: None, id: "01HZZZZZZZZZZZZZZZZZZZZZZZ".into() };
    let dated = pathfinder::pert::PertCursor { day: Some(today), ..plain.clone() };
    for params in [
        pathfinder::pert::PertParams::default(),
        pathfinder::pert::PertParams {
            status: "pending".into(),
            route: "EVR".into(),
            from: "2025-01-01".into(),
            to: "2025-12-31".into(),
            deadline: "30".into(),
            employer: "kpmg".into(),
            user: "alice".into(),
            check: "hours_over".into(),
            after: plain.encode(),
        },
        pathfinder::pert::PertParams { deadline: "past".into(), check: "overdue".into(), ..Default::default() },
        // Each dated order, from its first page and from a cursor.
        pathfinder::pert::PertParams { deadline: "past".into(), status: "accepted".into(), ..Default::default() },
        pathfinder::pert::PertParams { deadline: "30".into(), after: dated.encode(), ..Default::default() },
        pathfinder::pert::PertParams {
            from: "2025-01-01".into(),
            to: "2025-03-31".into(),
            route: "PPR".into(),
            after: dated.encode(),
            ..Default::default()
        },
    ] {
        let filter = pathfinder::pert::PertFilter::from_params(&params).unwrap();
        out.push((
            "pert reports".into(),
            pathfinder_server::storage::pert::reports_query(&filter, today, 50, Dialect::Oracle).0,
        ));
    }
    let plan = pathfinder_server::generate::Plan {
        seed: 1,
        users: 20,
        audit_events: 20,
        provisioned: 1,
        end: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    };
    for t in pathfinder_server::generate::sample_batches(&plan) {
        out.push(("bulk".into(), pathfinder_server::storage::insert_sql(&t)));
    }
    out
}

/// What sqlparser's Oracle dialect cannot read, each with the reason. Keep it short.
const ORACLE_PARSER_EXCEPTIONS: &[(&str, fn(&str) -> bool)] = &[
    ("PARTITION BY RANGE … INTERVAL", |s| s.contains("INTERVAL (NUMTODSINTERVAL")),
    ("LOCAL (partitioned) index", |s| s.trim_end().ends_with("LOCAL")),
    ("CREATE MATERIALIZED VIEW … BUILD IMMEDIATE REFRESH …", |s| s.starts_with("CREATE MATERIALIZED VIEW")),
    ("PL/SQL block", |s| s.starts_with("BEGIN") || s.starts_with("DECLARE")),
    ("DROP TABLE … CASCADE CONSTRAINTS PURGE", |s| s.ends_with("CASCADE CONSTRAINTS PURGE")),
    ("ALTER SESSION", |s| s.starts_with("ALTER SESSION")),
    ("CREATE TRIGGER (a PL/SQL body)", |s| s.starts_with("CREATE TRIGGER")),
];

#[test]
fn every_oracle_statement_parses_as_oracle_sql() {
    use sqlparser::dialect::OracleDialect;
    use sqlparser::parser::Parser;
    let statements = oracle_statements();
    assert!(statements.len() > 150, "{} statements", statements.len());
    let mut failed = BTreeSet::new();
    for (at, stmt) in &statements {
        if let Err(e) = Parser::parse_sql(&OracleDialect {}, stmt) {
            let known = ORACLE_PARSER_EXCEPTIONS.iter().find(|(_, is)| is(stmt));
            let Some((reason, _)) = known else {
                panic!("Oracle dialect refuses a statement that is not a listed exception ({at}): {e}\n{stmt}")
            };
            failed.insert(*reason);
        }
    }
    let listed: BTreeSet<&str> = ORACLE_PARSER_EXCEPTIONS.iter().map(|(n, _)| *n).collect();
    assert_eq!(failed, listed, "every listed exception still fails (else drop it from the list)");
}

/// The rules of `storage/oracle_lint.rs` over every statement the Oracle backend can send.
#[test]
fn every_oracle_statement_passes_the_oracle_lint() {
    let mut problems = Vec::new();
    for (at, stmt) in oracle_statements() {
        for f in oracle_lint::lint(&stmt) {
            problems.push(format!(
                "{at}: {} — {}\n    {}",
                f.rule,
                f.message,
                stmt.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    assert!(problems.is_empty(), "Oracle would refuse:\n{}", problems.join("\n"));
}

/// Every `sql!` in the source is registered (the lint sees them all): none was
/// dropped by the linker.
#[test]
fn every_sql_statement_is_registered() {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                if p.is_dir() {
                    count(&p)
                } else if p.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    // Invocations, not the macro's own definition and docs.
                    text.matches("sql!(").count()
                        - text.matches("$crate::sql!(").count()
                        - text.matches("`sql!(").count()
                } else {
                    0
                }
            })
            .sum()
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    assert_eq!(sql::STATEMENTS.len(), count(&src));
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
    std::fs::create_dir_all(s.user_tables_file(&bob).unwrap().parent().unwrap()).unwrap();
    let own = Connection::open(s.user_tables_file(&bob).unwrap()).unwrap();
    for stmt in user_table_statements(Dialect::Sqlite, &bob).iter().take(2) {
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
    assert!(!s.user_tables_file(&carol).unwrap().exists(), "no half-made tables");
    let c = raw(&dir);

    c.execute_batch("DROP TRIGGER audit_down").unwrap();
    let id = add_user(s.as_ref(), "ghost", "active", &[]);
    assert!(s.user_profile(&id).is_ok());
}

#[test]
fn the_fold_function_folds_unicode_and_lower_stays_the_builtin() {
    let c = Connection::open_in_memory().unwrap();
    pathfinder_server::storage::driver::sqlite::configure(&c).unwrap();
    let row: (Option<String>, String, String, String, String) = c
        .query_row(
            "SELECT pathfinder_fold(NULL), pathfinder_fold(12), pathfinder_fold(1.5), pathfinder_fold('ÉLODIE Zoë'), lower('ÉLODIE')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(row, (None, "12".into(), "1.5".into(), "élodie zoë".into(), "Élodie".into()));
    // The short-gram words: distinct characters and neighbour pairs per field, folded;
    // what another tool wrote (a blob, invalid UTF-8, a number) is read as text.
    let words: String = c.query_row("SELECT pathfinder_short_grams('Ab', NULL, X'FF', 7)", [], |r| r.get(0)).unwrap();
    assert_eq!(words, "b61z62 u37 u61 u62 ufffd");
}

/// Oracle's catalog, as it describes what the migrations made (names upper-cased and
/// quoted in expressions, NOT NULL as checks, function-based index keys as hidden
/// columns, literals rewritten), reads as the same schema; each change to it is drift.
/// No Oracle server runs here: the rows are written from Oracle's documented forms.
#[test]
fn oracle_catalog_rows_read_as_the_migrations_schema() {
    use pathfinder::storage::Value;
    use pathfinder_server::storage::driver::Values;
    use pathfinder_server::storage::schema_model::{compare, OracleCatalog};
    let t = |s: &str| Value::Text(s.to_string());
    let n = Value::Int;
    let null = || Value::Null;
    let row = |v: Vec<Value>| Values(v);
    let keep = [
        "pf_console_roles",
        "pf_user_analytics",
        "idx_analytics_user",
        "idx_users_active_recent",
        "idx_users_created",
        "pf_mv_user_stats",
    ];
    let mut expected = expected_schema(Dialect::Oracle).unwrap();
    expected.objects.retain(|name, _| keep.contains(&name.as_str()));
    assert_eq!(expected.objects.len(), keep.len());
    let mv_query = split_statements(ORACLE.iter().find(|m| m.name == "0003_user_analytics").unwrap().sql)
        .into_iter()
        .find(|s| s.starts_with("CREATE MATERIALIZED VIEW"))
        .and_then(|s| s.split_once(" AS\n").map(|(_, q)| q.to_string()))
        .unwrap();
    let col = |table: &str,
               c: &str,
               ty: &str,
               len: Option<i64>,
               prec: Option<i64>,
               scale: Option<i64>,
               nullable: &str,
               default: Option<&str>| {
        row(vec![
            t(table),
            t(c),
            t(ty),
            len.map_or(null(), n),
            prec.map_or(null(), n),
            scale.map_or(null(), n),
            t(nullable),
            default.map_or(null(), t),
            t("NO"),
        ])
    };
    let catalog = || OracleCatalog {
        tables: vec![row(vec![t("pf_console_roles")]), row(vec![t("pf_user_analytics")])],
        columns: vec![
            col("pf_console_roles", "user_id", "VARCHAR2", Some(26), None, None, "N", None),
            col("pf_console_roles", "role", "VARCHAR2", Some(20), None, None, "N", None),
            col("pf_console_roles", "granted_by", "VARCHAR2", Some(26), None, None, "Y", None),
            col(
                "pf_console_roles",
                "granted_at",
                "TIMESTAMP(6)",
                Some(0),
                None,
                Some(6),
                "Y",
                Some("CURRENT_TIMESTAMP\n"),
            ),
            col("pf_user_analytics", "analytics_id", "VARCHAR2", Some(26), None, None, "N", None),
            col("pf_user_analytics", "user_id", "VARCHAR2", Some(26), None, None, "N", None),
            col("pf_user_analytics", "event_type", "VARCHAR2", Some(100), None, None, "N", None),
            col("pf_user_analytics", "event_data", "CLOB", Some(0), None, None, "Y", None),
            col("pf_user_analytics", "session_id", "VARCHAR2", Some(26), None, None, "Y", None),
            col("pf_user_analytics", "ip_address", "VARCHAR2", Some(45), None, None, "Y", None),
            col("pf_user_analytics", "user_agent", "VARCHAR2", Some(500), None, None, "Y", None),
            col("pf_user_analytics", "referrer", "VARCHAR2", Some(500), None, None, "Y", None),
            col("pf_user_analytics", "page_url", "VARCHAR2", Some(500), None, None, "Y", None),
            col(
                "pf_user_analytics",
                "event_timestamp",
                "TIMESTAMP(6)",
                Some(0),
                None,
                Some(6),
                "Y",
                Some("CURRENT_TIMESTAMP "),
            ),
        ],
        constraints: vec![
            row(vec![t("pf_users"), t("SYS_C0010001"), t("P"), null(), null(), null()]),
            row(vec![t("pf_console_roles"), t("SYS_C0010101"), t("C"), t("\"USER_ID\" IS NOT NULL"), null(), null()]),
            row(vec![t("pf_console_roles"), t("SYS_C0010102"), t("C"), t("\"ROLE\" IS NOT NULL"), null(), null()]),
            row(vec![
                t("pf_console_roles"),
                t("SYS_C0010103"),
                t("C"),
                t("role IN ('admin','sre','compliance')"),
                null(),
                null(),
            ]),
            row(vec![t("pf_console_roles"), t("SYS_C0010104"), t("P"), null(), null(), null()]),
            row(vec![t("pf_console_roles"), t("SYS_C0010105"), t("R"), null(), t("CASCADE"), t("SYS_C0010001")]),
            row(vec![t("pf_user_analytics"), t("SYS_C0010201"), t("C"), t("\"USER_ID\" IS NOT NULL"), null(), null()]),
            row(vec![
                t("pf_user_analytics"),
                t("SYS_C0010202"),
                t("C"),
                t("\"EVENT_TYPE\" IS NOT NULL"),
                null(),
                null(),
            ]),
            row(vec![t("pf_user_analytics"), t("SYS_C0010203"), t("C"), t("event_data IS JSON"), null(), null()]),
            row(vec![t("pf_user_analytics"), t("SYS_C0010204"), t("P"), null(), null(), null()]),
            row(vec![t("pf_user_analytics"), t("SYS_C0010205"), t("R"), null(), t("CASCADE"), t("SYS_C0010001")]),
        ],
        constraint_columns: vec![
            row(vec![t("SYS_C0010001"), t("user_id")]),
            row(vec![t("SYS_C0010104"), t("user_id")]),
            row(vec![t("SYS_C0010104"), t("role")]),
            row(vec![t("SYS_C0010105"), t("user_id")]),
            row(vec![t("SYS_C0010204"), t("analytics_id")]),
            row(vec![t("SYS_C0010205"), t("user_id")]),
        ],
        indexes: vec![
            row(vec![t("idx_analytics_user"), t("pf_user_analytics"), t("NONUNIQUE"), t("LOCAL")]),
            row(vec![t("idx_users_active_recent"), t("pf_users"), t("NONUNIQUE"), null()]),
            row(vec![t("idx_users_created"), t("pf_users"), t("NONUNIQUE"), null()]),
        ],
        index_keys: vec![
            row(vec![t("idx_analytics_user"), n(1), t("user_id"), null()]),
            row(vec![
                t("idx_users_active_recent"),
                n(1),
                t("sys_nc00031$"),
                t("CASE  WHEN \"ACCOUNT_STATUS\"='active' THEN \"ACCOUNT_STATUS\" END"),
            ]),
            row(vec![t("idx_users_active_recent"), n(2), t("last_activity_at"), null()]),
            row(vec![
                t("idx_users_created"),
                n(1),
                t("sys_nc00034$"),
                t("COALESCE(\"CREATED_AT\",TIMESTAMP' 0001-01-01 00:00:00.000000000')"),
            ]),
        ],
        mviews: vec![row(vec![t("pf_mv_user_stats"), t("IMMEDIATE"), t("COMPLETE"), t("DEMAND"), t(&mv_query)])],
        views: vec![],
        partitioning: vec![row(vec![
            t("pf_user_analytics"),
            t("RANGE"),
            t("NUMTODSINTERVAL(1,'DAY')"),
            t("event_timestamp"),
        ])],
        others: vec![],
    };
    let drift = |cat: &OracleCatalog| -> Vec<String> {
        compare(&expected, &Schema::from_oracle_catalog(cat).unwrap(), "").into_iter().map(|d| d.0).collect()
    };
    assert_eq!(drift(&catalog()), Vec::<String>::new());

    // Each kind of change is reported.
    let mut changed = catalog();
    changed.columns[3] = col("pf_console_roles", "granted_at", "TIMESTAMP(6)", Some(0), None, Some(6), "Y", None);
    changed.constraints[3] =
        row(vec![t("pf_console_roles"), t("SYS_C0010103"), t("C"), t("role IN ('admin','sre')"), null(), null()]);
    changed.constraints[5] =
        row(vec![t("pf_console_roles"), t("SYS_C0010105"), t("R"), null(), t("NO ACTION"), t("SYS_C0010001")]);
    changed.indexes[0] = row(vec![t("idx_analytics_user"), t("pf_user_analytics"), t("NONUNIQUE"), null()]);
    changed.index_keys[3] = row(vec![t("idx_users_created"), n(1), t("created_at"), null()]);
    changed.partitioning[0] =
        row(vec![t("pf_user_analytics"), t("RANGE"), t("NUMTOYMINTERVAL(1,'MONTH')"), t("event_timestamp")]);
    changed.mviews[0] = row(vec![t("pf_mv_user_stats"), t("IMMEDIATE"), t("FORCE"), t("DEMAND"), t(&mv_query)]);
    let got = drift(&changed);
    for want in [
        "table pf_console_roles: column granted_at is TIMESTAMP, expected TIMESTAMP DEFAULT current_timestamp",
        "table pf_console_roles: missing CHECK (role in ( 'admin' , 'sre' , 'compliance' ))",
        "table pf_console_roles: missing FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE",
        "index idx_analytics_user is ON pf_user_analytics(user_id), expected ON pf_user_analytics(user_id) LOCAL",
        "index idx_users_created is ON pf_users(created_at), expected ON pf_users(coalesce ( created_at , timestamp '0001-01-01 00:00:00' ))",
        "materialized view pf_mv_user_stats is build immediate refresh force on demand, expected build immediate refresh complete on demand",
    ] {
        assert!(got.iter().any(|d| d == want), "expected {want:?} in {got:#?}");
    }
    assert!(got.iter().any(|d| d.starts_with("table pf_user_analytics: partitioning is")), "{got:#?}");
}
