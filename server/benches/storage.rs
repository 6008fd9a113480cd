//! Storage-level latency: each console operation through the storage interface,
//! beside the same SQL sent straight to SQLite on a raw connection (the floor).
//!
//!     cargo bench -p pathfinder-server --bench storage -- <sqlite file> [label]
//!
//! Without a file it generates a small dataset in a temporary folder. Prints one
//! Markdown table (p50/p95/p99 in microseconds) for BENCHMARKS.md.

use pathfinder::filter::UserFilter;
use pathfinder::storage::{
    AuditEntry, AuditStore, KeyStore, SessionStore, StatsStore, Storage, UserStore, UserTableStore, Value,
};
use pathfinder::{UserId, Username};
use pathfinder_server::generate::{self, Plan};
use pathfinder_server::storage::driver::sqlite::configure;
use pathfinder_server::storage::driver::Dialect;
use pathfinder_server::storage::search::{candidates_probe, users_query, UsersAccess};
use pathfinder_server::storage::{sql, Store};
use rusqlite::{params, params_from_iter, Connection};
use std::time::{Duration, Instant};

/// The SQLite text of the one statement the storage layer sends that contains
/// `fragment`: the floor runs exactly the storage's SQL.
/// Looked up once per fragment, so the floor's timings hold no search of the list.
fn registered(fragment: &'static str) -> &'static str {
    thread_local! {
        static FOUND: std::cell::RefCell<std::collections::HashMap<&'static str, &'static str>> = Default::default();
    }
    FOUND.with(|found| {
        *found.borrow_mut().entry(fragment).or_insert_with(|| {
            let all: Vec<&str> =
                sql::STATEMENTS.iter().filter_map(|s| s.sqlite).filter(|text| text.contains(fragment)).collect();
            assert_eq!(all.len(), 1, "one statement contains {fragment:?}: {all:?}");
            all[0]
        })
    })
}

fn sqlite_values(values: Vec<Value>) -> Vec<rusqlite::types::Value> {
    values
        .into_iter()
        .map(|v| match v {
            Value::Text(t) => rusqlite::types::Value::Text(t),
            Value::Int(i) => rusqlite::types::Value::Integer(i),
            other => panic!("the search binds text and numbers only: {other:?}"),
        })
        .collect()
}

const RUN_FOR: Duration = Duration::from_millis(1500);
const MAX_RUNS: usize = 3_000;
const WARM_FOR: Duration = Duration::from_millis(300);

fn time(mut f: impl FnMut()) -> Vec<Duration> {
    // Warm the connection's page cache first: the first operation measured would
    // otherwise pay for reading its index pages (measured: 2× at p50 for `mar`).
    let warm = Instant::now();
    while warm.elapsed() < WARM_FOR {
        f();
    }
    let started = Instant::now();
    let mut out = Vec::new();
    while out.len() < MAX_RUNS && started.elapsed() < RUN_FOR {
        let t = Instant::now();
        f();
        out.push(t.elapsed());
    }
    out.sort();
    out
}

fn pct(sorted: &[Duration], p: f64) -> String {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    format!("{:.0}", sorted[i].as_secs_f64() * 1e6)
}

fn row(name: &str, storage: &[Duration], raw: Option<&[Duration]>) {
    let r = |p| raw.map_or("–".to_string(), |d| pct(d, p));
    println!(
        "| {name} | {} | {} | {} | {} | {} | {} |",
        pct(storage, 0.5),
        pct(storage, 0.95),
        pct(storage, 0.99),
        r(0.5),
        r(0.95),
        r(0.99)
    );
}

/// An audit row as the storage writes it, on a raw connection.
fn raw_audit(tx: &rusqlite::Transaction, action: &str, user_id: &str) {
    let stamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    let none = None::<String>;
    tx.execute(
        // The seed's insert without the chain and the counts: the floor of a write.
        registered(":11, :12, :13)"),
        params![pathfinder::new_id(), none, action, "user", user_id, none, none, none, none, 200, 0, none, stamp],
    )
    .unwrap();
}

/// The users search as the storage sends it: the candidates probe, then the page query.
fn raw_search(c: &Connection, f: &UserFilter) -> usize {
    let access = match candidates_probe(f, Dialect::Sqlite) {
        Some((source, probe, binds)) => {
            let n: i64 = c
                .prepare_cached(&probe)
                .unwrap()
                .query_row(params_from_iter(sqlite_values(binds)), |r| r.get(0))
                .unwrap();
            UsersAccess::from_probe(source, n)
        }
        None => UsersAccess::Walk,
    };
    let (query, binds) = users_query(f, Dialect::Sqlite, access).unwrap();
    let args = sqlite_values(binds);
    let mut stmt = c.prepare_cached(&query).unwrap();
    let mut rows = stmt.query(params_from_iter(args)).unwrap();
    let mut n = 0;
    while let Some(r) = rows.next().unwrap() {
        let _: (String, String, String) = (r.get(0).unwrap(), r.get(1).unwrap(), r.get(8).unwrap());
        n += 1;
    }
    n
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let (path, _tmp) = match args.next() {
        Some(p) => {
            // cargo runs benches in the package folder: a relative path would miss.
            let path = std::path::PathBuf::from(p);
            assert!(path.is_absolute() && path.exists(), "give the absolute path of an existing database");
            (path, None)
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("bench.db");
            let s = Store::open_sqlite(&path).unwrap();
            pathfinder::storage::SchemaStore::migrate(
                &s,
                &AuditEntry::new(pathfinder::storage::SCHEMA_MIGRATE, "schema", "bench"),
            )
            .unwrap();
            let plan = Plan {
                seed: 42,
                users: 10_000,
                audit_events: 100_000,
                provisioned: 0,
                end: chrono::Utc::now().date_naive(),
            };
            generate::run(&s, &plan, &Default::default(), &mut |_, _, _| {}).unwrap();
            (path, Some(dir))
        }
    };
    let label = args.next().unwrap_or_else(|| path.display().to_string());
    // A third argument `audit` or `flags`: that section alone.
    let section = args.next().unwrap_or_default();
    let audit_only = section == "audit";
    let s = Store::open_sqlite(&path).unwrap();
    let c = Connection::open(&path).unwrap();
    configure(&c).unwrap();
    let users: i64 = c.query_row("SELECT COUNT(*) FROM pf_users", [], |r| r.get(0)).unwrap();
    let events: i64 = c.query_row("SELECT MAX(rowid) FROM pf_audit_log", [], |r| r.get(0)).unwrap_or(0);
    let sets: i64 = c.query_row("SELECT COUNT(*) FROM pf_user_table_sets", [], |r| r.get(0)).unwrap();
    println!("\n### Storage: {label} ({users} users, ~{events} audit rows, {sets} table sets)\n");
    println!("| operation | storage p50 µs | p95 | p99 | raw SQLite p50 µs | p95 | p99 |");
    println!("|---|---:|---:|---:|---:|---:|---:|");

    if audit_only {
        audit_log(&s, &c, &path);
        return;
    }
    if section == "flags" {
        flags(&s, &c);
        return;
    }
    let searches = [
        ("search prefix, common (`mar`)", "mar", "prefix", "", "username", "asc"),
        ("search prefix, rare (`zoe_kowalski`)", "zoe_kowalski", "prefix", "", "username", "asc"),
        (
            "search prefix, email 18 characters (`jessica.jones99999`)",
            "jessica.jones99999",
            "prefix",
            "",
            "email",
            "asc",
        ),
        ("search prefix, 1 character (`q`)", "q", "prefix", "", "username", "asc"),
        ("search contains, 1 character, no match (`~`)", "~", "contains", "", "username", "asc"),
        ("search contains, common (`son`)", "son", "contains", "", "username", "asc"),
        ("search contains, rare (`wski_1a`)", "wski_1a", "contains", "", "email", "asc"),
        ("search contains, 2 letters (`qu`)", "qu", "contains", "", "username", "asc"),
        ("search contains, 2 characters, no match (`!x`)", "!x", "contains", "", "username", "asc"),
        ("search by status (`deleted`, newest first)", "", "", "deleted", "created_at", "desc"),
        ("search status + contains (`suspended`, `garcia`)", "garcia", "contains", "suspended", "username", "asc"),
        ("list, no filter, by email descending", "", "", "", "email", "desc"),
    ];
    for (name, q, mode, status, sort, dir) in searches {
        let f = UserFilter::from_query(q, mode, status, sort, dir, "").unwrap();
        let storage = time(|| {
            s.search_users(&f).unwrap();
        });
        let raw = time(|| {
            raw_search(&c, &f);
        });
        row(name, &storage, Some(&raw));
    }

    // Before any write below: the newest events are the dataset's own.
    audit_log(&s, &c, &path);

    // A user with sessions (and with a table set, when there are any).
    let subject: String = c
        .query_row(
            "SELECT COALESCE((SELECT user_id FROM pf_user_table_sets LIMIT 1), (SELECT user_id FROM pf_user_sessions LIMIT 1))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let id = UserId(subject.clone());
    let storage = time(|| {
        let p = s.user_profile(&id).unwrap();
        s.list_sessions(&id).unwrap();
        if let Ok(name) = Username::parse(&p.summary.username) {
            s.user_table_set(&name).unwrap();
        }
    });
    let own_tables: Vec<String> = {
        let name: String =
            c.query_row("SELECT username FROM pf_users WHERE user_id = ?1", [&subject], |r| r.get(0)).unwrap();
        let file = s.user_tables_file(&Username::parse(&name).unwrap()).unwrap();
        match file.exists() {
            true => Connection::open(&file)
                .unwrap()
                .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            false => Vec::new(),
        }
    };
    let raw = time(|| {
        let name: String = c
            .prepare_cached(registered("FROM pf_users u LEFT JOIN pf_user_groups g ON g.group_id = u.feature_group_id"))
            .unwrap()
            .query_row([&subject], |r| r.get(1))
            .unwrap();
        c.prepare_cached(registered("SELECT role FROM pf_console_roles"))
            .unwrap()
            .query_map([&subject], |r| r.get::<_, String>(0))
            .unwrap()
            .for_each(drop);
        let mut st = c.prepare_cached(registered("WHERE s.user_id = :1 ORDER BY s.created_at DESC")).unwrap();
        st.query_map([&subject], |r| r.get::<_, String>(0)).unwrap().for_each(drop);
        let _: Option<String> = c
            .prepare_cached(registered("SELECT status FROM pf_user_table_sets"))
            .unwrap()
            .query_row([&name], |r| r.get(0))
            .ok();
        // The set's row counts, in its own file.
        if !own_tables.is_empty() {
            let file = s.user_tables_file(&Username::parse(&name).unwrap()).unwrap();
            let own = Connection::open_with_flags(&file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
            own.prepare(registered("SELECT name FROM sqlite_master WHERE name LIKE :1"))
                .unwrap()
                .query_map([format!("pf\\_user\\_{}\\_%", name.replace('_', "\\_"))], |r| r.get::<_, String>(0))
                .unwrap()
                .for_each(drop);
            let each: Vec<String> = own_tables.iter().map(|t| format!("(SELECT COUNT(*) FROM {t})")).collect();
            let _: i64 = own.query_row(&format!("SELECT {}", each.join(", ")), [], |r| r.get(0)).unwrap();
        }
    });
    row("user detail (profile, roles, sessions, table set)", &storage, Some(&raw));

    let storage = time(|| {
        s.user_activity(&id).unwrap();
        s.last_stats_refresh().unwrap();
    });
    let raw = time(|| {
        let mut st = c.prepare_cached(registered("FROM pf_mv_user_stats WHERE user_id = :1")).unwrap();
        st.query_map([&subject], |r| r.get::<_, Option<i64>>(0)).unwrap().for_each(drop);
        let _: Option<String> =
            c.query_row(registered("SELECT last_finished_at"), ["user_stats"], |r| r.get(0)).unwrap();
    });
    row("user detail: activity and last statistics refresh (new)", &storage, Some(&raw));

    let now = chrono::Utc::now();
    let storage = time(|| {
        s.overview(now, 90).unwrap();
    });
    let raw = time(|| {
        c.prepare_cached(registered("GROUP BY COALESCE(account_status"))
            .unwrap()
            .query_map([], |r| r.get::<_, i64>(1))
            .unwrap()
            .for_each(drop);
        let ts = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
        let _: i64 =
            c.query_row(registered("WHERE is_active = 'Y' AND expires_at > :1"), [ts(now)], |r| r.get(0)).unwrap();
        let since = ts(now - chrono::Duration::hours(24));
        let _: i64 =
            c.query_row(registered("FROM pf_audit_log WHERE created_at >= :1"), [since], |r| r.get(0)).unwrap();
        let _: i64 = c.query_row(registered("COALESCE(MAX(version), 0)"), [], |r| r.get(0)).unwrap();
        let _: Option<String> =
            c.query_row(registered("SELECT last_finished_at"), ["user_stats"], |r| r.get(0)).unwrap();
    });
    row("overview counts (the background job; pages read its cache)", &storage, Some(&raw));

    let storage = time(|| {
        s.recent_audit(50).unwrap();
    });
    let raw = time(|| {
        let mut st = c.prepare_cached(registered("ORDER BY created_at DESC, id DESC LIMIT :1")).unwrap();
        st.query_map([50], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(11)?))).unwrap().for_each(drop);
    });
    row("audit: latest 50 events", &storage, Some(&raw));

    let since = now - chrono::Duration::hours(24);
    let storage = time(|| {
        s.count_audit_since(since).unwrap();
    });
    let raw = time(|| {
        let _: i64 = c
            .query_row(
                registered("FROM pf_audit_log WHERE created_at >= :1"),
                [since.format("%Y-%m-%d %H:%M:%S%.6f").to_string()],
                |r| r.get(0),
            )
            .unwrap();
    });
    row("audit: events in the last 24 h (count)", &storage, Some(&raw));

    let someone: String = c.query_row("SELECT username FROM pf_users WHERE rowid = 1", [], |r| r.get(0)).unwrap();
    // A product account: looked up in a write transaction, no lease taken.
    let storage = time(|| {
        let now = chrono::Utc::now();
        s.begin_login(&someone, None, now, now).unwrap();
    });
    let raw = time(|| {
        let _: String = c
            .prepare_cached(registered("LEFT JOIN pf_console_devices d ON d.user_id = u.user_id"))
            .unwrap()
            .query_row(rusqlite::params![None::<String>, &someone], |r| r.get(0))
            .unwrap();
    });
    row("sign-in lookup (before the password check)", &storage, Some(&raw));

    // A state change with its audit row, committed (synchronous=FULL: includes the fsync).
    let target = UserId(c.query_row("SELECT user_id FROM pf_users WHERE rowid = 2", [], |r| r.get(0)).unwrap());
    let mut flip = false;
    let audit = AuditEntry::new(pathfinder::storage::Action::new("user.status.bench"), "user", target.as_str());
    let storage = time(|| {
        flip = !flip;
        s.set_account_status(&target, if flip { "suspended" } else { "active" }, &audit).unwrap();
    });
    let mut raw_conn = Connection::open(&path).unwrap();
    configure(&raw_conn).unwrap();
    let raw = time(|| {
        flip = !flip;
        let tx = raw_conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let stamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.6f").to_string();
        tx.execute(
            registered("UPDATE pf_users SET account_status = :1"),
            params![if flip { "suspended" } else { "active" }, stamp, target.as_str()],
        )
        .unwrap();
        raw_audit(&tx, "user.status.bench", target.as_str());
        tx.commit().unwrap();
    });
    row("state change + audit row, committed", &storage, Some(&raw));
    s.set_account_status(&target, "active", &audit).unwrap();

    // Field encryption: a user's four sensitive fields written and read (the read is
    // audited) through the storage, beside the same work with no encryption at all:
    // the seed's plaintext columns, one statement, the audit row, committed.
    let keyed = UserId(c.query_row("SELECT user_id FROM pf_encryption_keys LIMIT 1", [], |r| r.get(0)).unwrap());
    let fields = pathfinder::dto::SensitiveFields {
        phone_number: Some("+1 555 0100".into()),
        date_of_birth: Some("1990-02-03".into()),
        gender: Some("female".into()),
        nationality: Some("Canadian".into()),
    };
    let write_audit = AuditEntry::new(pathfinder::storage::SENSITIVE_UPDATE, "user", keyed.as_str());
    let read_audit = AuditEntry::new(pathfinder::storage::SENSITIVE_READ, "user", keyed.as_str());
    let storage = time(|| s.set_sensitive_fields(&keyed, &fields, &write_audit).unwrap());
    let raw = time(|| {
        let tx = raw_conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        tx.execute(
            "UPDATE pf_users SET phone_number = ?1, date_of_birth = ?2, gender = ?3, nationality = ?4 WHERE user_id = ?5",
            params!["+1 555 0100", "1990-02-03", "female", "Canadian", keyed.as_str()],
        )
        .unwrap();
        raw_audit(&tx, "user.sensitive.update", keyed.as_str());
        tx.commit().unwrap();
    });
    row("sensitive fields: encrypted write (4 fields) + audit row; floor: plaintext", &storage, Some(&raw));
    let storage = time(|| {
        s.read_sensitive_fields(&keyed, &read_audit).unwrap();
    });
    let raw = time(|| {
        let tx = raw_conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let _: (Option<String>, Option<String>) = tx
            .query_row(
                "SELECT phone_number, date_of_birth, gender, nationality FROM pf_users WHERE user_id = ?1",
                [keyed.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        raw_audit(&tx, "read.user.sensitive", keyed.as_str());
        tx.commit().unwrap();
    });
    row("sensitive fields: audited decrypting read; floor: plaintext", &storage, Some(&raw));
    // The cryptography alone (no database): unwrap a data key, then seal or open 4 fields.
    {
        use pathfinder_server::crypto::{DataKey, FieldRef, Keyring, MasterKey};
        let ring = Keyring::new(Some(MasterKey::generate()), vec![]);
        let wrapped = DataKey::generate(0).wrap(&ring, "u").unwrap();
        let field = |column| FieldRef { table: "pf_users", column, row_id: "u" };
        let columns = ["phone_number", "date_of_birth", "gender", "nationality"];
        let key = DataKey::unwrap(&ring, &wrapped, "u", 0).unwrap();
        let sealed: Vec<String> = columns.iter().map(|c| key.seal(field(c), "+1 555 0100").unwrap()).collect();
        let seal = time(|| {
            let key = DataKey::unwrap(&ring, &wrapped, "u", 0).unwrap();
            columns.iter().for_each(|c| drop(key.seal(field(c), "+1 555 0100").unwrap()));
        });
        let open = time(|| {
            let key = DataKey::unwrap(&ring, &wrapped, "u", 0).unwrap();
            columns.iter().zip(&sealed).for_each(|(c, v)| drop(key.open(field(c), v).unwrap()));
        });
        row("crypto alone: unwrap the data key + seal 4 fields", &seal, None);
        row("crypto alone: unwrap the data key + open 4 fields", &open, None);
    }
    // The plaintext the floor wrote is the product's kind of write: seal it again.
    s.seal_all_plaintext(&AuditEntry::new(pathfinder::storage::FIELDS_SEAL, "user", "bench")).unwrap();
    let storage = time(|| {
        s.rotate_user_key(&keyed, &AuditEntry::new(pathfinder::storage::KEY_ROTATE, "user", keyed.as_str())).unwrap();
    });
    row("rotate one user's data key (re-encrypt, committed)", &storage, None);

    // Provisioning one more user's table set (and dropping it again).
    let fresh = Username::parse("bench_provision_probe").unwrap();
    let mut took = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        s.provision_user_tables(
            &fresh,
            &AuditEntry::new(pathfinder::storage::TABLES_PROVISION, "user_tables", "bench"),
        )
        .unwrap();
        took.push(t.elapsed());
        s.drop_user_tables(&fresh, &AuditEntry::new(pathfinder::storage::TABLES_DROP, "user_tables", "bench")).unwrap();
    }
    took.sort();
    row("provision one more table set", &took, None);
}

/// The Audit page's searches and facets (issue 10), each beside the same SQL on a
/// raw connection; facets beside the grouping of the events they replace; and the
/// searches again without each index of migration 0014 (dropped in a transaction
/// that is rolled back).
fn audit_log(s: &Store, c: &Connection, path: &std::path::Path) {
    use pathfinder::audit::{AuditFilter, AuditParams};
    use pathfinder_server::storage::audit::search::{message_probe_sql, page_sql, walk_probe_sql, Walk};
    let now = chrono::Utc::now();
    // A heavy user (the generator gives a few up to 10^5 events) and a typical one.
    let heavy: String = c
        .query_row(
            "SELECT user_id FROM pf_audit_log WHERE user_id IN (SELECT user_id FROM pf_users WHERE rowid <= 20)
             GROUP BY user_id ORDER BY COUNT(*) DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // A user halfway down the list: the generator gives most people a few events.
    let typical: String = c
        .query_row("SELECT user_id FROM pf_users WHERE rowid = (SELECT MAX(rowid) / 2 FROM pf_users)", [], |r| r.get(0))
        .unwrap();
    let count_of = |user: &str| -> i64 {
        c.query_row("SELECT COUNT(*) FROM pf_audit_log WHERE user_id = ?1", [user], |r| r.get(0)).unwrap()
    };
    println!(
        "\n### Audit log: searches (first page of 50), facets and counts\n\nheavy user: {} events as actor; typical user: {}\n",
        count_of(&heavy),
        count_of(&typical)
    );
    println!("| operation | storage p50 µs | p95 | p99 | raw SQLite p50 µs | p95 | p99 |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let params = |f: &dyn Fn(&mut AuditParams)| {
        let mut p = AuditParams::default();
        f(&mut p);
        p
    };
    let searches: Vec<(&str, AuditParams)> = vec![
        ("timeline of a typical user", params(&|p| p.involving = typical.clone())),
        ("timeline of a heavy user", params(&|p| p.involving = heavy.clone())),
        (
            "heavy user + action + 30 days",
            params(&|p| {
                p.actor = heavy.clone();
                p.action = "experience.update".into();
                p.range = "30d".into();
            }),
        ),
        (
            "typical user + action + 30 days",
            params(&|p| {
                p.actor = typical.clone();
                p.action = "auth.login".into();
                p.range = "30d".into();
            }),
        ),
        (
            "action over 30 days (common: `auth.login`)",
            params(&|p| {
                p.action = "auth.login".into();
                p.range = "30d".into();
            }),
        ),
        (
            "action over 30 days (rare: `backup.run`)",
            params(&|p| {
                p.action = "backup.run".into();
                p.range = "30d".into();
            }),
        ),
        ("action prefix, common (`auth.`)", params(&|p| p.action = "auth.".into())),
        ("action prefix, rare (`user_tables.`)", params(&|p| p.action = "user_tables.".into())),
        ("errors (status >= 400), newest first", params(&|p| p.status = "errors".into())),
        ("path prefix `/admin/`", params(&|p| p.path = "/admin/".into())),
        ("path prefix `/api/pert/`", params(&|p| p.path = "/api/pert/".into())),
        (
            "message text `expired`, last 7 days",
            params(&|p| {
                p.text = "expired".into();
                p.range = "7d".into();
            }),
        ),
        (
            "message text `database`, last 7 days",
            params(&|p| {
                p.text = "database".into();
                p.range = "7d".into();
            }),
        ),
        (
            "three filters: heavy user + 4xx + path `/api/`",
            params(&|p| {
                p.actor = heavy.clone();
                p.status = "4xx".into();
                p.path = "/api/".into();
            }),
        ),
    ];
    // `time_index`: the index a time walk names (migration 0015's, or the seed's
    // `idx_audit_created` to show what 0015 gained).
    let raw_page_through = |c: &Connection, f: &AuditFilter, time_index: &str| {
        // The storage first resolves the actor (a username or an id).
        let actor = f.actor.as_ref().map(|a| {
            c.prepare_cached(registered("WHERE username = :1 OR user_id = :2"))
                .unwrap()
                .query_row([a.to_lowercase(), a.clone()], |r| r.get::<_, String>(0))
                .unwrap()
        });
        // …and chooses the walk (a text: from the trigram index's candidates; an
        // action prefix: from the kept daily counts).
        let walk = Walk::of(f, actor.as_deref()).unwrap_or_else(|| {
            if let Some((probe, binds)) = message_probe_sql(f) {
                let n =
                    c.prepare_cached(&probe).unwrap().query_row(params_from_iter(audit_values(binds)), |r| r.get(0));
                return Walk::from_candidates(n.unwrap());
            }
            let (probe, binds) = walk_probe_sql(f).unwrap();
            let (matching, total): (i64, i64) = c
                .prepare_cached(&probe)
                .unwrap()
                .query_row(params_from_iter(audit_values(binds)), |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap();
            Walk::from_probe(matching, total, f.page_size + 1)
        });
        let (sql, binds) = page_sql(f, actor.as_deref(), walk, Dialect::Sqlite);
        let sql = sql.replace("INDEXED BY idx_audit_time_walk", &format!("INDEXED BY {time_index}"));
        let mut st = c.prepare_cached(&sql).unwrap();
        let mut rows = st.query(params_from_iter(audit_values(binds))).unwrap();
        let mut n = 0;
        while let Some(r) = rows.next().unwrap() {
            let _: (String, String) = (r.get(0).unwrap(), r.get(2).unwrap());
            n += 1;
        }
        n
    };
    let raw_page = |c: &Connection, f: &AuditFilter| raw_page_through(c, f, "idx_audit_time_walk");
    let mut filters = Vec::new();
    for (name, p) in &searches {
        let f = AuditFilter::from_params(p, now).unwrap();
        let storage = time(|| {
            s.search_audit(&f).unwrap();
        });
        let raw = time(|| {
            raw_page(c, &f);
        });
        row(name, &storage, Some(&raw));
        filters.push((name, f));
    }
    // Facets and counts over a month and a quarter: storage (the kept counts) beside
    // the grouping of the events they replace.
    for (name, range, action) in [
        ("facets + count, 30 days", "30d", ""),
        ("facets + count, 90 days", "90d", ""),
        ("facets + count, 90 days, action prefix `auth.`", "90d", "auth."),
    ] {
        let f = AuditFilter::from_params(
            &params(&|p| {
                p.range = range.into();
                p.action = action.into();
            }),
            now,
        )
        .unwrap();
        let storage = time(|| {
            s.audit_facets(&f).unwrap();
        });
        let since = f.from.unwrap().format("%Y-%m-%d %H:%M:%S%.6f").to_string();
        let raw = time(|| {
            let mut st = c
                .prepare_cached(
                    "SELECT action, response_status / 100, COUNT(*) FROM pf_audit_log WHERE created_at >= ?1
                     AND action >= ?2 GROUP BY 1, 2",
                )
                .unwrap();
            st.query_map(params![since, action], |r| r.get::<_, i64>(2)).unwrap().for_each(drop);
        });
        row(&format!("{name} (floor: GROUP BY over the events)"), &storage, Some(&raw));
    }
    let f = AuditFilter::from_params(&params(&|p| p.range = "90d".into()), now).unwrap();
    let storage = time(|| {
        s.audit_histogram(&f).unwrap();
    });
    row("chart data, 90 days (by day, kept counts)", &storage, None);

    // Each index of migration 0014, dropped (in a transaction rolled back after):
    // the raw searches that use it, without it.
    println!("\n| without index | search | raw p50 µs | p95 |\n|---|---|---:|---:|");
    let mut without = Connection::open(path).unwrap();
    configure(&without).unwrap();
    for index in ["idx_audit_user_time", "idx_audit_entity_time", "idx_audit_action_time"] {
        let tx = without.transaction().unwrap();
        tx.execute_batch(&format!("DROP INDEX {index}")).unwrap();
        for (name, f) in &filters {
            let uses = match index {
                "idx_audit_user_time" => f.actor.is_some() || f.involving.is_some(),
                "idx_audit_entity_time" => f.involving.is_some(),
                _ => f.action.is_some(),
            };
            if !uses {
                continue;
            }
            let mut runs = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                raw_page(&tx, f);
                runs.push(t.elapsed());
            }
            runs.sort();
            println!("| {index} | {name} | {} | {} |", pct(&runs, 0.5), pct(&runs, 0.95));
        }
        tx.rollback().unwrap();
    }
    // Migration 0015's index: the time walks through the seed's index instead.
    for (name, f) in &filters {
        let actor = f.actor.as_ref().map(|_| "x");
        if !matches!(Walk::of(f, actor), Some(Walk::Time) | None) {
            continue;
        }
        let mut runs = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            raw_page_through(c, f, "idx_audit_created");
            runs.push(t.elapsed());
        }
        runs.sort();
        println!("| idx_audit_time_walk | {name} | {} | {} |", pct(&runs, 0.5), pct(&runs, 0.95));
    }
}

fn audit_values(values: Vec<Value>) -> Vec<rusqlite::types::Value> {
    values
        .into_iter()
        .map(|v| match v {
            Value::Time(t) => rusqlite::types::Value::Text(t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
            other => sqlite_values(vec![other]).remove(0),
        })
        .collect()
}

/// Flag evaluation and a flag's page (issue 11): one flag and all of them for a
/// user, each beside the evaluation statement on a raw connection; the overrides
/// page of the flag with the most overrides, first and deep pages and filters.
fn flags(s: &Store, c: &Connection) {
    use pathfinder::flags::OverrideFilter;
    use pathfinder::storage::FlagStore;
    let now = chrono::Utc::now();
    let (hot, hot_id, overrides): (String, String, i64) = c
        .query_row(
            "SELECT f.flag_key, f.flag_id, COUNT(*) FROM pf_user_feature_flags o JOIN pf_feature_flags f USING (flag_id)
             GROUP BY f.flag_key, f.flag_id ORDER BY 3 DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    // Users with an override of the hot flag, and users at random (by rowid).
    let holders: Vec<String> = {
        let mut st = c
            .prepare("SELECT u.username FROM pf_user_feature_flags o JOIN pf_users u USING (user_id) WHERE o.flag_id = ?1 LIMIT 1000")
            .unwrap();
        st.query_map([&hot_id], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let max: i64 = c.query_row("SELECT MAX(rowid) FROM pf_users", [], |r| r.get(0)).unwrap();
    let anyone: Vec<(String, String)> = (0..1000)
        .map(|i| {
            c.query_row("SELECT username, user_id FROM pf_users WHERE rowid >= ?1 LIMIT 1", [1 + i * max / 1000], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
        })
        .collect();
    let flag_count: i64 = c.query_row("SELECT COUNT(*) FROM pf_feature_flags", [], |r| r.get(0)).unwrap();
    let evaluation = registered("LEFT JOIN pf_user_feature_flags dgo ON");
    let raw_eval = |user_id: &str, from: &str, to: &str| {
        let mut st = c.prepare_cached(evaluation).unwrap();
        let mut rows = st.query(params![user_id, user_id, from, to]).unwrap();
        let mut n = 0;
        while rows.next().unwrap().is_some() {
            n += 1;
        }
        n
    };
    let mut i = 0;
    let mut next = |list_len: usize| {
        i = (i + 1) % list_len;
        i
    };
    let storage = time(|| {
        s.evaluate(&hot, Some(&holders[next(holders.len())]), now).unwrap();
    });
    let raw = time(|| {
        let (_, id) = &anyone[next(anyone.len())];
        raw_eval(id, &hot, &hot);
    });
    row(&format!("evaluate one flag (`{hot}`), a user with an override"), &storage, Some(&raw));
    let storage = time(|| {
        s.evaluate("search_v2", Some(&anyone[next(anyone.len())].0), now).unwrap();
    });
    let raw = time(|| {
        raw_eval(&anyone[next(anyone.len())].1, "search_v2", "search_v2");
    });
    row("evaluate one flag (`search_v2`), any user", &storage, Some(&raw));
    let storage = time(|| {
        let all = s.evaluate_all(Some(&anyone[next(anyone.len())].0), now).unwrap();
        assert_eq!(all.len() as i64, flag_count);
    });
    let raw = time(|| {
        raw_eval(&anyone[next(anyone.len())].1, "0", "~");
    });
    row(&format!("evaluate all {flag_count} flags, any user"), &storage, Some(&raw));

    // The flag's page: the flag, a page of 50 overrides, their count, its history.
    let page = |f: &OverrideFilter| {
        s.flag(&hot).unwrap();
        let p = s.overrides_of_flag(&hot, f, now, 50).unwrap();
        s.override_count(&hot).unwrap();
        let history = pathfinder::audit::AuditFilter {
            entity_id: Some(hot_id.clone()),
            ..pathfinder::audit::AuditFilter::from_params(&Default::default(), now).unwrap()
        };
        s.search_audit(&history).unwrap();
        p
    };
    let first = OverrideFilter::default();
    let name = format!("flag page (`{hot}`, {overrides} overrides): flag, first 50, count, history");
    row(&name, &time(|| drop(page(&first))), None);
    // Halfway down: the cursor of the override in the middle of the creation order.
    let middle: String = c
        .query_row(
            "SELECT override_id FROM pf_user_feature_flags WHERE flag_id = ?1 ORDER BY created_at, override_id
             LIMIT 1 OFFSET ?2",
            params![hot_id, overrides / 2],
            |r| r.get(0),
        )
        .unwrap();
    let deep = OverrideFilter { after: Some(middle), ..Default::default() };
    row("… a page halfway down (keyset)", &time(|| drop(page(&deep))), None);
    for (name, holders, state) in [
        ("… groups only", "groups", ""),
        ("… users only, active", "users", "active"),
        ("… expired, not yet removed", "", "expired"),
    ] {
        let f = OverrideFilter::from_query(holders, state, "", "").unwrap();
        row(name, &time(|| drop(page(&f))), None);
    }
    let one = OverrideFilter::from_query("", "", &holders[0], "").unwrap();
    row("… one user's", &time(|| drop(page(&one))), None);
    row("overrides count alone", &time(|| assert_eq!(s.override_count(&hot).unwrap(), overrides)), None);
}
