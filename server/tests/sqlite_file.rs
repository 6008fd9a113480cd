//! The embedded database is a plain SQLite file that the tools people already have
//! open, check and change: Debian 12's `sqlite3` and Python's `sqlite3` (SQLite 3.40,
//! so also Datasette), and a newer SQLite without the console's functions. And its
//! search index survives `VACUUM`.

mod common;

use pathfinder::filter::UserFilter;
use pathfinder::storage::UserStore;
use std::path::Path;
use std::process::Command;

fn generated() -> (std::sync::Arc<pathfinder_server::storage::Store>, tempfile::TempDir) {
    common::generated(11, 400, 500, 2)
}

/// Runs `sqlite3 <file> <sql>`: the machine's own shell (scripts/setup installs it).
fn shell(file: &Path, sql: &str) -> (bool, String) {
    let out = Command::new("sqlite3")
        .arg(file)
        .arg(sql)
        .output()
        .expect("the sqlite3 shell is installed (scripts/setup installs Debian's sqlite3)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_file_passes_integrity_check_in_the_sqlite3_shell_and_python() {
    let (s, dir) = generated();
    let main = dir.path().join("pf.db");
    let (ok, version) = shell(&main, "SELECT sqlite_version()");
    assert!(ok, "{version}");
    let (ok, out) = shell(&main, "PRAGMA integrity_check");
    assert!(ok && out.trim() == "ok", "sqlite3 {}: {out}", version.trim());
    let (ok, out) = shell(&main, "SELECT COUNT(*) FROM pf_users WHERE account_status IS NOT NULL");
    assert!(ok && out.trim().parse::<u32>().unwrap() >= 400, "{out}");
    // The trigram index reads in that SQLite too, and finds what a scan finds.
    let (ok, out) = shell(&main, "SELECT COUNT(*) FROM pf_users_search WHERE pf_users_search MATCH '\"son\"'");
    assert!(ok, "{out}");
    let (_, scanned) = shell(
        &main,
        "SELECT COUNT(*) FROM pf_users WHERE username LIKE '%son%' OR email LIKE '%son%' \
         OR first_name LIKE '%son%' OR last_name LIKE '%son%'",
    );
    let (matched, scanned): (u32, u32) = (out.trim().parse().unwrap(), scanned.trim().parse().unwrap());
    assert!(scanned > 0 && matched == scanned, "the index finds {matched}, a scan {scanned}");
    for set in std::fs::read_dir(dir.path().join("pf.db-user-tables")).unwrap() {
        let (ok, out) = shell(&set.unwrap().path(), "PRAGMA integrity_check");
        assert!(ok && out.trim() == "ok", "{out}");
    }

    // Python's sqlite3 module (what Datasette uses) opens and checks it.
    let script = "import sqlite3, sys\n\
                  c = sqlite3.connect(sys.argv[1])\n\
                  print(sqlite3.sqlite_version)\n\
                  print(c.execute('PRAGMA integrity_check').fetchone()[0])\n\
                  print(c.execute('SELECT COUNT(*) FROM pf_users').fetchone()[0])\n";
    let out = Command::new("python3").arg("-c").arg(script).arg(&main).output().expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines.get(1), Some(&"ok"), "Python's SQLite {:?}: {text}", lines.first());

    // Such a tool may change what needs no console function; it cannot add or delete
    // users, rename them or change an email (the search keys need pathfinder_fold and
    // pathfinder_short_grams), and is told so.
    let (ok, out) = shell(&main, "UPDATE pf_users SET account_status = 'suspended', timezone = 'Europe/Oslo' WHERE username = (SELECT MIN(username) FROM pf_users)");
    assert!(ok, "{out}");
    let (ok, out) = shell(
        &main,
        "UPDATE pf_users SET first_name = 'Renamed' WHERE username = (SELECT MIN(username) FROM pf_users)",
    );
    assert!(!ok && out.contains("pathfinder_short_grams"), "{out}");
    let (ok, out) = shell(&main, "DELETE FROM pf_users WHERE username = (SELECT MIN(username) FROM pf_users)");
    assert!(!ok && out.contains("pathfinder_short_grams"), "{out}");
    let (ok, out) = shell(
        &main,
        "INSERT INTO pf_users (user_id, username, email, password_hash) VALUES ('01JTOOLINSERT0000000000001', 'from_shell', 'shell@example.com', 'x')",
    );
    assert!(!ok && out.contains("pathfinder_fold"), "{out}");
    let (ok, out) = shell(
        &main,
        "UPDATE pf_users SET email = 'changed@example.com' WHERE username = (SELECT MIN(username) FROM pf_users)",
    );
    assert!(!ok && out.contains("no such function: pathfinder_"), "{out}");
    let (ok, out) = shell(&main, "PRAGMA integrity_check");
    assert!(ok && out.trim() == "ok", "{out}");
    let first = s.search_users(&UserFilter::from_query("", "", "", "", "", "").unwrap()).unwrap().items.remove(0);
    assert_eq!(first.account_status, "suspended", "the console sees the shell's change");
}

#[test]
fn a_newer_sqlite_without_the_consoles_functions_finds_no_fault() {
    let (_s, dir) = generated();
    // rusqlite's bundled SQLite, plain: no pathfinder_fold, no replaced lower().
    let c = rusqlite::Connection::open(dir.path().join("pf.db")).unwrap();
    let version: String = c.query_row("SELECT sqlite_version()", [], |r| r.get(0)).unwrap();
    let faults: Vec<String> =
        c.prepare("PRAGMA integrity_check").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(faults, ["ok"], "SQLite {version}");
    c.execute("INSERT INTO pf_users_search (pf_users_search, rank) VALUES ('integrity-check', 1)", []).unwrap();
}

#[test]
fn vacuum_cannot_unhinge_the_search_index() {
    let (s, dir) = generated();
    let main = dir.path().join("pf.db");
    let c = rusqlite::Connection::open(&main).unwrap();
    pathfinder_server::storage::driver::sqlite::configure(&c).unwrap();
    // Gaps in the rowids, then VACUUM, which may renumber them.
    c.execute_batch(
        "DELETE FROM pf_users WHERE rowid IN (SELECT rowid FROM pf_users ORDER BY rowid LIMIT 150);
         VACUUM;",
    )
    .unwrap();
    c.execute("INSERT INTO pf_users_search (pf_users_search, rank) VALUES ('integrity-check', 1)", []).unwrap();
    drop(c);
    // Every user is still found through the trigram candidates by their own name.
    let rows: Vec<(String, String)> = rusqlite::Connection::open(&main)
        .unwrap()
        .prepare("SELECT user_id, username FROM pf_users")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(rows.len() > 200);
    for (id, name) in rows.iter().step_by(7) {
        let page = s.search_users(&UserFilter::from_query(name, "", "", "", "", "").unwrap()).unwrap();
        assert!(page.items.iter().any(|u| &u.user_id.0 == id), "{name} is found after VACUUM");
    }
}

/// SQLite rebuilds the statistics a slice of users at a time: the result is what one
/// statement over all users gives, and rows of users that are gone go too.
#[test]
fn statistics_rebuilt_in_slices_match_one_pass() {
    use pathfinder::storage::{RefreshWhen, StatsStore};
    use pathfinder_server::storage::stats::SQLITE_SLICE;
    let users = 3 * SQLITE_SLICE as u64 + 17;
    let (s, dir) = common::generated(5, users, 0, 0);
    let c = rusqlite::Connection::open(dir.path().join("pf.db")).unwrap();
    // Rows for users that do not exist: below the first, between two, after the last.
    for ghost in ["0", "01JZZZZZZZZZZZZZZZZZZZZZZZ", "zzz"] {
        c.execute(
            "INSERT INTO pf_mv_user_stats (user_id, username, total_sessions, total_events) VALUES (?1, 'ghost', 1, 1)",
            [ghost],
        )
        .unwrap();
    }
    s.refresh_user_stats(RefreshWhen::Now, &common::audit("user_stats.refresh")).unwrap();
    let one_pass = "SELECT u.user_id, u.username, COUNT(DISTINCT a.session_id), COUNT(a.analytics_id),
                           MAX(a.event_timestamp), MIN(a.event_timestamp)
                    FROM pf_users u LEFT JOIN pf_user_analytics a ON u.user_id = a.user_id
                    GROUP BY u.user_id, u.username";
    let table =
        "SELECT user_id, username, total_sessions, total_events, last_activity, first_activity FROM pf_mv_user_stats";
    let differ = |a: &str, b: &str| -> i64 {
        c.query_row(&format!("SELECT COUNT(*) FROM ({a} EXCEPT {b})"), [], |r| r.get(0)).unwrap()
    };
    assert_eq!((differ(table, one_pass), differ(one_pass, table)), (0, 0));
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM pf_mv_user_stats"), users as i64, "every user once, no ghost");
    assert!(count("SELECT COUNT(*) FROM pf_user_analytics") > 0, "the generated users have events to count");
}

/// A migration that adds indexes to an analyzed database (a load analyzes it)
/// analyzes their tables, so the planner never weighs an index without statistics.
#[test]
fn migrations_analyze_the_indexes_they_add_to_an_analyzed_database() {
    use pathfinder::storage::SchemaStore;
    let (s, dir) = common::generated(9, 300, 100, 0);
    let c = rusqlite::Connection::open(dir.path().join("pf.db")).unwrap();
    let unanalyzed = || -> Vec<String> {
        c.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = 'pf_users'
             AND name NOT IN (SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL)",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    assert_eq!(unanalyzed(), Vec::<String>::new(), "generate analyzes what it loaded");
    // The last step again, with real work in it: it drops and makes pf_users' indexes anew.
    c.execute_batch(
        "DROP TABLE pf_console_jobs; DROP INDEX idx_mv_user_stats_user; DROP INDEX idx_enc_keys_master;
         DROP INDEX idx_enc_keys_rotated; ALTER TABLE pf_encryption_keys DROP COLUMN master_key_id;
         ALTER TABLE pf_users DROP COLUMN phone_number_enc; ALTER TABLE pf_users DROP COLUMN date_of_birth_enc;
         ALTER TABLE pf_users DROP COLUMN gender_enc; ALTER TABLE pf_users DROP COLUMN nationality_enc;
         ALTER TABLE pf_users DROP COLUMN mfa_secret_enc; ALTER TABLE pf_sso_accounts DROP COLUMN access_token_enc;
         ALTER TABLE pf_sso_accounts DROP COLUMN refresh_token_enc;
         DELETE FROM pf_schema_version WHERE version >= 9;",
    )
    .unwrap();
    // And what 0020 to 0023 made (CPA PERT oversight's tables, indexes and triggers, analytics' summaries,
    // the security review's tables, dormant users' counts and jobs).
    let made: Vec<(String, String)> = c
        .prepare(
            "SELECT type, name FROM sqlite_master WHERE name IN ('pf_ref_cpa_competencies', 'pf_cpa_report_checks',
             'pf_cpa_reports_dirty', 'pf_cpa_counts', 'pf_cpa_due_counts') OR (type = 'index' AND name LIKE 'idx_cpa_%') OR name LIKE 'pf_cpa_dirty_%'
             OR (type = 'table' AND name LIKE 'pf_analytics_%') OR name = 'idx_analytics_time_id'
             OR name IN ('pf_security_findings', 'pf_console_instances', 'pf_user_stats_activity', 'pf_dormant_jobs')",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (kind, name) in made {
        c.execute_batch(&format!("DROP {kind} IF EXISTS {name}")).unwrap();
    }
    let applied = s.migrate(&common::audit("schema.migrate")).unwrap().applied;
    assert_eq!(
        applied,
        [
            "0009_one_storage",
            "0010_field_encryption",
            "0011_sign_in_guard",
            "0012_accounts",
            "0013_users_search_short",
            "0014_audit_chain",
            "0015_audit_time_walk",
            "0016_feature_flags_console",
            "0017_operations",
            "0018_backups",
            "0019_retention",
            "0020_cpa_pert_oversight",
            "0021_cpa_pert_periods",
            "0022_analytics",
            "0023_security_review",
            "0024_dormant_users",
            "0025_access_reviews",
            "0026_stopped_jobs",
            "0027_pages_at_scale",
            "0028_audit_message_search",
            "0029_audit_time_walk_actor"
        ]
    );
    assert_eq!(unanalyzed(), Vec::<String>::new(), "the new indexes have statistics");
}

/// A reader that holds an old snapshot (another program with the file open, a
/// long export) keeps every change since in the write-ahead log, and the log grows:
/// the checkpoint says how far behind it is, loses nothing, and empties the log once
/// the reader ends. SQLite's own checkpoints (at commits) never shrink the file.
#[test]
fn a_held_write_ahead_log_grows_and_empties_when_its_reader_ends() {
    use pathfinder::storage::{AuditStore, OperationsStore};
    let (s, dir) = common::sqlite();
    let main = dir.path().join("pf.db");
    let log = pathfinder_server::storage::driver::sqlite::log_of(&main);
    common::add_user(s.as_ref(), "before_reader", "active", &[]);
    let first = s.checkpoint_log().unwrap().expect("SQLite has a write-ahead log");
    assert_eq!((first.behind, first.bytes), (0, 0), "nothing held: emptied");

    let reader = rusqlite::Connection::open(&main).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let seen: i64 = reader.query_row("SELECT COUNT(*) FROM pf_users", [], |r| r.get(0)).unwrap();
    for i in 0..300 {
        common::add_user(s.as_ref(), &format!("while_held_{i}"), "active", &[]);
    }
    let held = s.checkpoint_log().unwrap().unwrap();
    assert!(held.behind > 0 && held.behind == held.frames, "{held:?}");
    assert!(held.bytes > 1_000_000 && held.bytes == std::fs::metadata(&log).unwrap().len(), "{held:?}");
    for i in 0..100 {
        common::add_user(s.as_ref(), &format!("still_held_{i}"), "active", &[]);
    }
    let grown = s.checkpoint_log().unwrap().unwrap();
    assert!(grown.bytes > held.bytes && grown.behind > held.behind, "{grown:?} after {held:?}");
    // The reader still sees its snapshot; the console every change.
    let still: i64 = reader.query_row("SELECT COUNT(*) FROM pf_users", [], |r| r.get(0)).unwrap();
    assert_eq!(still, seen);
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);

    let emptied = s.checkpoint_log().unwrap().unwrap();
    assert_eq!((emptied.behind, emptied.bytes), (0, 0), "{emptied:?}");
    let (ok, said) =
        shell(&main, "PRAGMA integrity_check; SELECT COUNT(*) FROM pf_users WHERE username LIKE '%held%';");
    assert!(ok && said.trim() == "ok\n400", "{said}");
    let report = s.verify_audit_chain(&common::trust(None), &mut |_, _| true).unwrap();
    assert_eq!(report.problem, None, "the audit chain is whole");
    assert!(report.checked >= 402, "{report:?}");
}
