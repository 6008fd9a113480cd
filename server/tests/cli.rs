//! The `pathfinder-admin` command line, run as a process: help, exit codes,
//! idempotence, and the database it leaves behind.

use pathfinder::storage::AuditEntry;
use pathfinder_server::storage::migrations::latest_version;
use std::process::{Command, Output};

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Cli { dir: tempfile::tempdir().unwrap() }
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("cli.db")
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pathfinder-admin"));
        cmd.args(args)
            .env("PF_DATABASE_URL", format!("sqlite:{}", self.db().display()))
            .env_remove("PF_ADMIN_PASSWORD")
            .stdin(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, &[]);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], env: &[(&str, &str)], code: i32, says: &str) {
        let out = self.run(args, env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} should say {says:?}, said: {stderr}");
    }
}

/// Every command and subcommand, read from the command line's own definition (so
/// none can be left out), answers `--help`.
#[test]
fn every_command_has_help() {
    use clap::CommandFactory;
    fn walk(prefix: &[String], cmd: &clap::Command, out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let path: Vec<String> = prefix.iter().cloned().chain([sub.get_name().to_string()]).collect();
            walk(&path, sub, out);
            out.push(path);
        }
    }
    let mut commands = Vec::new();
    walk(&[], &pathfinder_server::cli::Cli::command(), &mut commands);
    let names: Vec<String> = commands.iter().map(|c| c.join(" ")).collect();
    for expected in ["serve", "retention run", "api-key revoke", "backup restore", "audit export"] {
        assert!(names.contains(&expected.to_string()), "{expected} in {names:?}");
    }
    let cli = Cli::new();
    for cmd in &commands {
        let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        args.push("--help");
        let out = cli.ok(&args);
        assert!(out.contains("Usage: pathfinder-admin"), "{}: {out}", cmd.join(" "));
    }
}

/// The README's table of variables names every variable an option reads and every
/// secret (with its `_FILE` form), and nothing else.
#[test]
fn the_readme_lists_every_variable_and_its_file_form() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, out: &mut std::collections::BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            out.extend(arg.get_env().map(|e| e.to_string_lossy().into_owned()));
        }
        cmd.get_subcommands().for_each(|sub| walk(sub, out));
    }
    let mut variables = std::collections::BTreeSet::new();
    walk(&pathfinder_server::cli::Cli::command(), &mut variables);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    // The table's first column: `PF_A`, `PF_B` / `_FILE` …
    let rows: Vec<&str> =
        readme.lines().filter(|l| l.starts_with("| `PF_")).map(|l| l.split('|').nth(1).unwrap_or_default()).collect();
    let listed: std::collections::BTreeSet<String> = rows
        .iter()
        .flat_map(|cell| cell.split(['`', ',', ' ', '/']))
        .filter(|w| w.starts_with("PF_") || w.starts_with("LEPTOS_"))
        .map(String::from)
        .collect();
    for secret in pathfinder_server::cli::SECRETS.into_iter().chain(["PF_DATABASE_URL", "PF_ADMIN_PASSWORD"]) {
        variables.insert(secret.to_string());
        let row = rows.iter().find(|r| r.contains(&format!("`{secret}`"))).unwrap_or_else(|| panic!("{secret}"));
        assert!(row.contains("`_FILE`"), "{secret} can come from a file: say so in its row ({row})");
    }
    variables.insert("PF_ORACLE_TEST_URL".into());
    let missing: Vec<_> = variables.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&variables).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the README's table lacks {missing:?}; it lists {extra:?}, which nothing reads"
    );
}

#[test]
fn migrate_provision_check_and_drop() {
    let cli = Cli::new();
    assert!(cli.ok(&["migrate"]).contains(&format!("Migrated from version 0 to {}", latest_version())));
    assert!(cli.ok(&["migrate"]).contains(&format!("up to date (version {})", latest_version())));
    assert!(cli.ok(&["provision-user", "alice"]).contains("is ready (11 objects)"));
    assert!(cli.ok(&["provision-user", "alice"]).contains("is ready (11 objects)"), "idempotent");
    assert!(cli.ok(&["schema-check"]).contains("matches the migrations"));
    assert!(cli.ok(&["refresh-stats"]).starts_with("Refreshed the user statistics in "));

    cli.fails(&["provision-user", "Alice"], &[], 2, "must start with a lower-case letter");
    cli.fails(&["provision-user", "bob;drop"], &[], 2, "may contain only a-z, 0-9 and _");
    cli.fails(&["drop-user-tables", "alice"], &[], 2, "--yes");
    cli.fails(&["drop-user-tables", "bob", "--yes"], &[], 2, "A registered table set for 'bob' was not found.");

    // alice's set is a file of its own beside the database.
    let alice_file = cli.dir.path().join("cli.db-user-tables/alice.db");
    let own = rusqlite::Connection::open(&alice_file).unwrap();
    own.execute_batch("DROP INDEX pf_user_alice_ix_exp_company").unwrap();
    let out = cli.run(&["schema-check"], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing index pf_user_alice_ix_exp_company"));
    own.execute_batch("CREATE INDEX pf_user_alice_ix_exp_company ON pf_user_alice_experiences(company)").unwrap();
    drop(own);

    assert!(cli.ok(&["drop-user-tables", "alice", "--yes"]).contains("Dropped"));
    assert!(!alice_file.exists());
    let conn = rusqlite::Connection::open(cli.db()).unwrap();
    let audited: Vec<String> = {
        let mut st =
            conn.prepare("SELECT action FROM pf_audit_log WHERE request_method = 'CLI' ORDER BY created_at").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert!(audited.contains(&"user_tables.provision".to_string()), "{audited:?}");
    assert!(audited.contains(&"user_tables.drop".to_string()), "{audited:?}");
    assert!(audited.contains(&"schema.migrate".to_string()), "{audited:?}");
    assert!(audited.contains(&"user_stats.refresh".to_string()), "{audited:?}");
}

#[test]
fn create_admin_takes_the_password_from_a_file_or_the_environment_only() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    let args = ["create-admin", "--username", "boss", "--email", "boss@example.com"];
    cli.fails(&args, &[], 2, "No password given");
    cli.fails(&args, &[("PF_ADMIN_PASSWORD", "short")], 2, "at least 12 characters");
    cli.fails(
        &["create-admin", "--username", "boss", "--email", "not-an-email"],
        &[("PF_ADMIN_PASSWORD", "long enough pass")],
        2,
        "is not an email address",
    );
    let out = cli.run(&args, &[("PF_ADMIN_PASSWORD", "long enough pass")]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("/login"), "tells how to sign in");
    cli.fails(&args, &[("PF_ADMIN_PASSWORD", "long enough pass")], 2, "already taken");

    let file = cli.dir.path().join("pw");
    std::fs::write(&file, "another long password\n").unwrap();
    let pw = file.to_str().unwrap();
    cli.ok(&["create-admin", "--username", "boss2", "--email", "b2@example.com", "--password-file", pw]);
    // The file's password (its line, without the newline) signs in; nothing else does.
    assert!(signs_in(&cli, "boss2", "another long password"));
    assert!(!signs_in(&cli, "boss2", "another long password\n"));
    assert!(cli
        .ok(&[
            "create-admin",
            "--username",
            "boss3",
            "--email",
            "b3@example.com",
            "--password-file",
            pw,
            "--if-no-admin"
        ])
        .contains("exists already"));
    // The password is never an argument.
    let out = cli.run(&["create-admin", "--username", "x", "--email", "x@example.com", "--password", "p"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// Whether `user` signs in with `password` to a console served (in-process) from
/// the test's database: the sign-in form answers with a session cookie.
fn signs_in(cli: &Cli, user: &str, password: &str) -> bool {
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;
    let storage = pathfinder_server::storage::Store::open_sqlite(&cli.db()).unwrap();
    let outbox = pathfinder::mail::Outbox {
        mailer: std::sync::Arc::new(pathfinder::mail::OutboxMailer { path: cli.dir.path().join("outbox.txt") }),
        public_url: "http://localhost:3000".into(),
    };
    let config = pathfinder_server::config::ServeConfig {
        session_policy: pathfinder_server::auth::SessionPolicy { mfa_required: vec![], ..Default::default() },
        ..pathfinder_server::config::ServeConfig::with_defaults(
            b"a cli test session secret, 32+ bytes".to_vec(),
            outbox,
        )
    };
    let state =
        pathfinder_server::http::AppState::new(&config, pathfinder::db::Db::new(std::sync::Arc::new(storage))).unwrap();
    let form = url_encoded(&[("username", user), ("password", password)]);
    let req = Request::post("/auth/login")
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "http://localhost")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form))
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let resp = rt.block_on(pathfinder_server::http::router(state).oneshot(req)).unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    resp.headers().get(header::LOCATION).is_some_and(|l| l == "/")
}

fn url_encoded(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

#[test]
fn unusable_database_urls_fail_with_one_sentence() {
    let cli = Cli::new();
    let with = |url: &str| cli.run(&["migrate"], &[("PF_DATABASE_URL", url)]);
    let out = with("postgres://somewhere/db");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with sqlite: or oracle://"));

    let out = with("oracle://pf:hunter2secret@127.0.0.1:1/nothing");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!stderr.contains("hunter2secret"), "the password never shows: {stderr}");
    let expected = if cfg!(feature = "oracle") {
        // Without Oracle Instant Client on this machine; with it, the server is unreachable.
        ["Oracle Instant Client was not found (DPI-1047)", "unreachable"]
    } else {
        ["rebuild with `--features oracle`", "rebuild with `--features oracle`"]
    };
    assert!(expected.iter().any(|e| stderr.contains(e)), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");

    // The URL (which carries the Oracle password) may come from a file.
    let from_file = cli.dir.path().join("from-file.db");
    let url_file = cli.dir.path().join("database-url");
    std::fs::write(&url_file, format!("sqlite:{}\n", from_file.display())).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pathfinder-admin"))
        .arg("migrate")
        .env_remove("PF_DATABASE_URL")
        .env("PF_DATABASE_URL_FILE", &url_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(from_file.exists(), "migrated the database the file names");
}

#[test]
fn json_logs_never_show_the_database_password() {
    let cli = Cli::new();
    let out = cli.run(
        &["migrate"],
        &[
            ("PF_DATABASE_URL", "oracle://pf:hunter2secret@127.0.0.1:1/nothing"),
            ("PF_LOG_FORMAT", "json"),
            ("RUST_LOG", "debug"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("hunter2secret"), "{stderr}");
    let logs: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect();
    assert!(
        logs.iter().any(|l| l["fields"]["database"] == "oracle://pf:***@127.0.0.1:1/nothing"),
        "the URL is logged without its password: {stderr}"
    );
}

/// Every generated row, table by table, in key order, of the database and of the
/// per-user files beside it: equal fingerprints, equal data. The audit rows of the
/// run's own bookkeeping (batch markers, migrations) carry the time they were
/// written and are left out, as are the trigram indexes' own tables (their layout
/// follows how the load was batched; what they hold derives from the rows here).
fn fingerprint(db: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let mut files = vec![db.to_path_buf()];
    let mut own: Vec<_> = std::fs::read_dir(format!("{}-user-tables", db.display()))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    own.sort();
    files.extend(own);
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.file_name().unwrap().as_encoded_bytes());
        hash.update(table_rows_digest(&file));
    }
    hex::encode(hash.finalize())
}

fn table_rows_digest(db: &std::path::Path) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'pf\\_%' ESCAPE '\\' AND name NOT LIKE 'pf\\_users\\_search%' ESCAPE '\\'
                  AND name NOT LIKE 'pf\\_audit\\_messages\\_search%' ESCAPE '\\' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut hash = Sha256::new();
    for t in &tables {
        let filter = match t.as_str() {
            "pf_audit_log" => " WHERE request_method <> 'CLI'",
            // The chain, its head and the kept counts take in the bookkeeping rows
            // too (which the two runs write at other times and in another order).
            "pf_schema_version"
            | "pf_user_table_sets"
            | "pf_audit_chain_head"
            | "pf_audit_counts"
            | "pf_audit_counts_daily" => " WHERE 0",
            _ => "",
        };
        // Keys and ciphertexts are random (fresh keys, random nonces): compare only
        // which fields are encrypted, and each key's owner and version.
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}') ORDER BY cid"))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|c| c.unwrap())
            .filter(|c| t != "pf_encryption_keys" || ["user_id", "algorithm", "rotation_count"].contains(&c.as_str()))
            .filter(|c| t != "pf_audit_log" || !c.starts_with("chain_"))
            // When the needs-attention checks ran, not what they found.
            .filter(|c| t != "pf_cpa_report_checks" || c != "found_at")
            // When the analytics summaries were counted, not what they say.
            .filter(|c| t != "pf_analytics_progress" || c != "updated_at")
            .map(|c| if c.ends_with("_enc") { format!("{c} IS NULL") } else { c })
            .collect();
        let mut stmt = conn.prepare(&format!("SELECT {} FROM {t}{filter} ORDER BY 1", columns.join(", "))).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..n {
                hash.update(format!("{:?}|", row.get_ref(i).unwrap()).as_bytes());
            }
        }
        hash.update(t.as_bytes());
    }
    hash.finalize().to_vec()
}

#[test]
fn generate_is_deterministic_and_an_interrupted_run_finishes_where_it_stopped() {
    let args = [
        "generate",
        "--users",
        "20000",
        "--audit-events",
        "150000",
        "--provisioned",
        "3",
        "--seed",
        "9",
        "--end-date",
        "2026-11-01",
    ];
    let whole = Cli::new();
    whole.ok(&["migrate"]);
    assert!(whole.ok(&args).contains("11 batches written, 0 already there"));

    assert!(whole.ok(&["schema-check"]).contains("matches the migrations"), "the load made its indexes again");

    // Start a run on a fresh database and wait until its first batches are in.
    let batches = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT COUNT(*) FROM pf_audit_log WHERE action = 'data.generate'", [], |r| r.get(0)).unwrap_or(0)
    };
    let started_run = |cli: &Cli| {
        cli.ok(&["migrate"]);
        let child = Command::new(env!("CARGO_BIN_EXE_pathfinder-admin"))
            .args(args)
            .env("PF_DATABASE_URL", format!("sqlite:{}", cli.db().display()))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let conn = rusqlite::Connection::open(cli.db()).unwrap();
        let started = std::time::Instant::now();
        while batches(&conn) < 2 {
            assert!(started.elapsed().as_secs() < 60, "no batch committed within a minute");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        (child, conn)
    };

    // Killed outright while its indexes wait for the end of the load: the next run
    // of the command makes them.
    let killed = Cli::new();
    let (mut child, _) = started_run(&killed);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!killed.run(&["schema-check"], &[]).status.success(), "the killed load left indexes to make");
    killed.ok(&args);
    assert!(killed.ok(&["schema-check"]).contains("matches the migrations"));
    assert_eq!(fingerprint(&killed.db()), fingerprint(&whole.db()), "same rows as the uninterrupted run");

    // Interrupt a run once its first batches are in.
    let cut = Cli::new();
    let (child, conn) = started_run(&cut);
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Interrupted after"), "{stdout}");
    // Whole batches only: each committed users batch brought exactly its 5,000 users.
    let users_batches: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM pf_audit_log WHERE action = 'data.generate' AND entity_id LIKE 'users:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let users: i64 = conn.query_row("SELECT COUNT(*) FROM pf_users", [], |r| r.get(0)).unwrap();
    assert_eq!(users, users_batches * 5_000);
    let done = batches(&conn);
    assert!(done < 11, "interrupted before the end ({done} batches)");
    assert!(cut.ok(&["schema-check"]).contains("matches the migrations"), "an interrupted load made its indexes");

    let rest = cut.ok(&args);
    assert!(rest.contains(&format!("{} batches written, {done} already there", 11 - done)), "{rest}");
    assert_eq!(fingerprint(&cut.db()), fingerprint(&whole.db()), "same rows as the uninterrupted run");
    assert!(cut.ok(&args).contains("0 batches written, 11 already there"), "a finished run is a no-op");

    // Other settings on the same rows: refused, nothing of the batch written.
    let other = ["generate", "--users", "20000", "--audit-events", "0", "--seed", "10", "--end-date", "2026-11-01"];
    cut.fails(&other, &[], 2, "collides with rows already in the database");
    assert_eq!(fingerprint(&cut.db()), fingerprint(&whole.db()));
    cut.fails(&["generate", "--users", "5", "--provisioned", "6"], &[], 2, "cannot exceed --users");
}

/// The embedded default keeps its master key beside the database; `serve` refuses to
/// start without the key the data keys are wrapped with; `rotate-master-key` makes a
/// new one and keeps the old as `.master-key.previous` until it is deleted;
/// `rotate-keys` and `delete-user` do what they say, audited.
#[test]
fn the_embedded_master_key_rotates_and_serve_refuses_to_start_without_it() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["generate", "--users", "40", "--audit-events", "0", "--end-date", "2026-11-01"]);
    let conn = rusqlite::Connection::open(cli.db()).unwrap();
    let one = |sql: &str| -> String { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let keys: i64 = conn.query_row("SELECT COUNT(*) FROM pf_encryption_keys", [], |r| r.get(0)).unwrap();
    assert!(keys > 10, "generated phone numbers and birth dates are encrypted: {keys} keys");
    let plain: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM pf_users WHERE phone_number IS NOT NULL OR date_of_birth IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(plain, 0, "no plaintext left");
    let name = one("SELECT u.username FROM pf_users u JOIN pf_encryption_keys k ON k.user_id = u.user_id ORDER BY u.username LIMIT 1");
    let id = pathfinder::UserId(one(&format!("SELECT user_id FROM pf_users WHERE username = '{name}'")));
    let read = || {
        let s = pathfinder_server::storage::Store::open_sqlite(&cli.db()).unwrap();
        pathfinder::storage::KeyStore::read_sensitive_fields(
            &s,
            &id,
            &AuditEntry::new(pathfinder::storage::SENSITIVE_READ, "user", id.0.clone()),
        )
    };
    let fields = read().unwrap();
    assert!(fields.phone_number.is_some() || fields.date_of_birth.is_some());

    let key_file = cli.dir.path().join(".master-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let saved = cli.dir.path().join("saved-key");
    std::fs::rename(&key_file, &saved).unwrap();
    cli.fails(&["serve", "--listen", "127.0.0.1:0"], &[], 2, "which this server was not given");
    std::fs::rename(&saved, &key_file).unwrap();

    let old = std::fs::read_to_string(&key_file).unwrap();
    let out = cli.ok(&["rotate-master-key"]);
    assert!(out.contains(&format!("Re-wrapped {keys} data keys")), "{out}");
    let previous = cli.dir.path().join(".master-key.previous");
    assert_eq!(std::fs::read_to_string(&previous).unwrap(), old);
    assert_ne!(std::fs::read_to_string(&key_file).unwrap(), old);
    assert_eq!(read().unwrap(), fields);
    cli.fails(&["rotate-master-key"], &[], 2, "delete it once those backups have expired");
    std::fs::remove_file(&previous).unwrap();
    assert_eq!(read().unwrap(), fields, "every key is under the new master key");

    assert!(cli.ok(&["rotate-keys", "--overdue"]).contains("Rotated 0 data keys"));
    assert!(cli.ok(&["rotate-keys", "--all"]).contains(&format!("Rotated {keys} data keys")));
    assert!(cli.ok(&["rotate-keys", "--user", &name]).contains("now version 2"));
    assert_eq!(read().unwrap(), fields);
    cli.fails(&["rotate-keys"], &[], 2, "--user NAME, --overdue or --all");
    cli.fails(&["rotate-keys", "--user", "nobody_here"], &[], 2, "nobody_here");

    cli.fails(&["delete-user", &name], &[], 2, "--yes");
    assert!(cli.ok(&["delete-user", &name, "--yes"]).contains("data key is destroyed"));
    let left: i64 =
        conn.query_row("SELECT COUNT(*) FROM pf_encryption_keys WHERE user_id = ?1", [&id.0], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
    let audited: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM pf_audit_log WHERE action IN ('key.master.rewrap', 'key.rotate', 'user.delete', 'fields.seal')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // One row per rotated key, one per batch of re-wrapping and of sealing, one for the delete.
    assert!(audited >= keys + 1 + 3, "{audited}");
}

/// `audit verify` exits 0 on an intact chain and 3 on a broken one, naming the
/// break; `audit export` writes exactly the filter to a file, audited; the audit key
/// is made beside the database; checkpoints are signed.
#[test]
fn audit_verify_and_export_from_the_command_line() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["provision-user", "alice"]);
    cli.ok(&["provision-user", "bob"]);
    assert!(cli.ok(&["audit", "checkpoint"]).contains("Signed a checkpoint"));
    assert!(cli.dir.path().join(".audit-key").exists(), "the key is kept beside the database");
    let out = cli.ok(&["audit", "verify"]);
    assert!(out.contains("The audit chain is intact") && out.contains("1 checkpoints"), "{out}");
    // Export the provisioning events to a file.
    let file = cli.dir.path().join("out.csv");
    let file_arg = file.display().to_string();
    cli.ok(&["audit", "export", "--action", "user_tables.", "--output", &file_arg]);
    let csv = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,created_at,user_id,action"), "{csv}");
    assert!(lines.len() >= 3 && lines[1..].iter().all(|l| l.contains(",user_tables.")), "{csv}");
    let nd = cli.ok(&["audit", "export", "--format", "ndjson", "--action", "user_tables.provision"]);
    assert!(nd.lines().all(|l| l.contains("\"action\":\"user_tables.provision\"")), "{nd}");
    cli.fails(&["audit", "export", "--actor", "nobody_here"], &[], 2, "No user is named 'nobody_here'");
    cli.fails(&["audit", "export", "--format", "xlsx"], &[], 2, "Unknown format");
    let c = rusqlite::Connection::open(cli.db()).unwrap();
    let exports: i64 =
        c.query_row("SELECT COUNT(*) FROM pf_audit_log WHERE action = 'audit.export.done'", [], |r| r.get(0)).unwrap();
    assert_eq!(exports, 2);
    // Edit an event behind the console's back: verify names it and exits 3.
    c.execute("UPDATE pf_audit_log SET ip_address = '203.0.113.9' WHERE chain_seq = 3", []).unwrap();
    let out = cli.run(&["audit", "verify"], &[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("BROKEN at sequence 3 (edited)"), "{said}");
}

/// The tail-cut attack of issue 24: with write access to the database, delete the
/// newest events, the checkpoints after the cut, and move the unsigned head back.
/// The checkpoints inside the database then vouch for nothing cut; the witness
/// outside it (`.audit-witness` beside the keys) does, and `audit verify` reports
/// the truncation with what the witness saw. A restore from a backup is said as one.
#[test]
fn a_tail_cut_with_its_checkpoints_is_caught_by_the_witness() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["provision-user", "alice"]);
    cli.ok(&["audit", "checkpoint"]);
    cli.ok(&["provision-user", "bob"]);
    cli.ok(&["provision-user", "carol"]);
    assert!(cli.ok(&["audit", "checkpoint"]).contains("Signed a checkpoint"));
    let witness = cli.dir.path().join(".audit-witness");
    assert!(std::fs::read_to_string(&witness).unwrap().contains("checkpoint "), "the witness holds the checkpoint");
    let out = cli.ok(&["audit", "verify"]);
    assert!(out.contains("The audit chain is intact") && out.contains("newest checkpoint"), "{out}");

    let c = rusqlite::Connection::open(cli.db()).unwrap();
    let head: i64 = c.query_row("SELECT last_seq FROM pf_audit_chain_head", [], |r| r.get(0)).unwrap();
    let keep = head - 3;
    let kept_hash: String =
        c.query_row("SELECT chain_hash FROM pf_audit_log WHERE chain_seq = ?1", [keep], |r| r.get(0)).unwrap();
    c.execute("DELETE FROM pf_audit_log WHERE chain_seq > ?1", [keep]).unwrap();
    c.execute("DELETE FROM pf_audit_checkpoints WHERE chain_seq > ?1", [keep]).unwrap();
    c.execute("UPDATE pf_audit_chain_head SET last_seq = ?1, last_hash = ?2", rusqlite::params![keep, kept_hash])
        .unwrap();
    // What the checkpoints inside the database cannot see:
    let unwitnessed = cli.run(&["audit", "verify"], &[("PF_AUDIT_WITNESS", "/nonexistent/none")]);
    assert_eq!(unwitnessed.status.code(), Some(0), "{}", String::from_utf8_lossy(&unwitnessed.stdout));
    // What the witness sees:
    let out = cli.run(&["audit", "verify"], &[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains(&format!("BROKEN at sequence {} (truncated)", keep + 1)), "{said}");
    assert!(said.contains(&format!("outside witness saw a checkpoint at sequence {head}")), "{said}");
    // And the next checkpoint does not paper over it: the witness keeps the higher one.
    cli.fails(&["audit", "checkpoint"], &[], 2, "saw a newer checkpoint");
    assert_eq!(cli.run(&["audit", "verify"], &[]).status.code(), Some(3));
    // A forged witness line (no audit key behind it) is caught too.
    let text = std::fs::read_to_string(&witness).unwrap();
    let forged: String = text
        .lines()
        .map(|l| {
            if l.starts_with("checkpoint ") {
                format!("{} {}", l.rsplit_once(' ').unwrap().0, "00".repeat(32))
            } else {
                l.into()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&witness, forged + "\n").unwrap();
    let out = cli.run(&["audit", "verify"], &[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code() == Some(3) && said.contains("witness file was altered"), "{said}");
}

/// `audit verify` on a copy without its keys writes nothing beside it and says what
/// it could not check (it made `.audit-key` and `.master-key`, then reported the
/// chain broken at its checkpoint).
#[test]
fn verifying_a_copy_without_its_keys_makes_no_keys() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["provision-user", "alice"]);
    cli.ok(&["audit", "checkpoint"]);
    let copy = tempfile::tempdir().unwrap();
    let db = copy.path().join("copy.db");
    rusqlite::Connection::open(cli.db()).unwrap().execute("VACUUM INTO ?1", [db.display().to_string()]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pathfinder-admin"))
        .args(["audit", "verify"])
        .env("PF_DATABASE_URL", format!("sqlite:{}", db.display()))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("Checkpoints were not checked"), "{said}");
    let mut left: Vec<String> = std::fs::read_dir(copy.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert!(left.iter().all(|f| f.starts_with("copy.db")), "a verification wrote {left:?}");
}

/// Everything the console writes is its owner's alone, whatever the shell's umask:
/// the database, its -wal and -shm, the per-user files, backups and keys 0600, their
/// folders 0700 (they were 0644, readable by anyone on the host).
#[cfg(unix)]
#[test]
fn what_the_console_writes_only_its_owner_reads() {
    use std::os::unix::fs::PermissionsExt;
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["provision-user", "alice"]);
    let backups = cli.dir.path().join("backups");
    cli.ok(&["backup", "create", "--to", backups.to_str().unwrap()]);
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.clone());
            if p.is_dir() {
                walk(&p, out);
            }
        }
    }
    let mut made = Vec::new();
    walk(cli.dir.path(), &mut made);
    let names: Vec<String> = made.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for expected in ["cli.db", ".master-key", "alice.db", "manifest.json"] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }
    for p in made {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", p.display());
    }
}

/// A folder's only subfolder (the backup `backup create` made).
fn only_folder(root: &std::path::Path) -> std::path::PathBuf {
    let folders: Vec<_> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    folders[0].clone()
}

/// The one entry of `dir` whose name starts with `prefix`.
/// `schema-check` passes on the database at `path` (a restored copy).
fn assert_schema_matches(path: &std::path::Path) {
    let check = Command::new(env!("CARGO_BIN_EXE_pathfinder-admin"))
        .args(["schema-check"])
        .env("PF_DATABASE_URL", format!("sqlite:{}", path.display()))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
}

fn only_folder_named(dir: &std::path::Path, prefix: &str) -> std::path::PathBuf {
    only_folder_where(dir, |name| name.starts_with(prefix))
}

fn only_folder_ending(dir: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    only_folder_where(dir, |name| name.ends_with(suffix))
}

fn only_folder_where(dir: &std::path::Path, is: impl Fn(&str) -> bool) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| is(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

fn sqlite_count(db: &std::path::Path, query: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(query, [], |r| r.get(0)).unwrap()
}

/// `generate` writes every table of a provisioned user's set (issue 25: the two
/// summaries, skills progression, PERT drafts and the archive stayed empty), and the
/// first provisioned user is heavy: thousands of chat messages.
#[test]
fn generate_fills_every_per_user_table_with_a_heavy_user_among_them() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["generate", "--users", "40", "--audit-events", "100", "--provisioned", "4", "--end-date", "2026-11-25"]);
    let sets = cli.dir.path().join("cli.db-user-tables");
    let mut files: Vec<_> = std::fs::read_dir(&sets).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    let mut most_messages = 0;
    for file in &files {
        let c = rusqlite::Connection::open(file).unwrap();
        let mut tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        tables.retain(|t| !t.starts_with("sqlite_"));
        assert_eq!(tables.len(), 10, "{}: {tables:?}", file.display());
        for t in &tables {
            let n: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0)).unwrap();
            assert!(n > 0, "{t} is empty in {}", file.display());
            if t.ends_with("_chat_messages") {
                most_messages = most_messages.max(n);
            }
        }
        // The drafts point at the set's own experiences; messages at their chats.
        let orphans: i64 = c
            .query_row(
                &format!(
                    "SELECT COUNT(*) FROM {p}_pert_responses WHERE experience_id NOT IN (SELECT id FROM {p}_experiences)",
                    p = tables.iter().find(|t| t.ends_with("_pert_responses")).unwrap().trim_end_matches("_pert_responses")
                ),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0);
    }
    assert!(most_messages >= 1_000, "a heavy user has thousands of messages: {most_messages}");
    assert!(cli.ok(&["schema-check"]).contains("matches the migrations"));
}

#[test]
fn a_backup_verifies_restores_elsewhere_and_refuses_corruption_and_overwriting() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["generate", "--users", "40", "--audit-events", "200", "--provisioned", "3", "--end-date", "2026-11-25"]);
    // The secrets a served console keeps beside its database: the audit key (made by
    // the checkpoint, which it signs) and the session secret (as `serve` leaves it).
    assert!(cli.ok(&["audit", "checkpoint"]).contains("Signed"), "a signed checkpoint");
    std::fs::write(cli.dir.path().join(".jwt-secret"), "a session secret of thirty-two bytes+\n").unwrap();
    let root = cli.dir.path().join("backups");
    let said = cli.ok(&["backup", "create", "--to", root.to_str().unwrap()]);
    assert!(
        said.contains("Backed up (full) into") && said.contains(&format!("schema version {}", latest_version())),
        "{said}"
    );
    let folder = only_folder(&root);
    // The database, three sets, the key files beside the database, the manifest.
    assert!(folder.join("pathfinder.db").exists() && folder.join("manifest.json").exists());
    assert_eq!(std::fs::read_dir(folder.join("user-tables")).unwrap().count(), 3);
    let beside: Vec<String> = std::fs::read_dir(cli.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for key in [".audit-key", ".jwt-secret"] {
        assert!(beside.contains(&key.to_string()), "{key} is kept beside the database: {beside:?}");
        let (kept, copied) =
            (std::fs::read(cli.dir.path().join(key)).unwrap(), std::fs::read(folder.join(key)).unwrap());
        assert_eq!(copied, kept, "{key}: the backup holds the same secret");
    }
    // Never the master key (crypto-shredding): the restore says where it must come from.
    assert!(beside.contains(&".master-key".to_string()) && !folder.join(".master-key").exists());
    assert!(cli.ok(&["backup", "list"]).contains("\tok\t"));
    // Verified with the backup's own audit key: the chain and its signed checkpoints.
    let verified = cli.ok(&["backup", "verify"]);
    assert!(verified.contains("verified") && verified.contains("audit chain whole"), "{verified}");
    assert!(verified.contains(", 1 signed checkpoints)"), "the checkpoint is checked: {verified}");
    let db = cli.db();
    let status = |q: &str| sqlite_count(&db, q);
    assert_eq!(status("SELECT COUNT(*) FROM pf_backups WHERE status = 'ok' AND verify_status = 'ok'"), 1);
    assert_eq!(status("SELECT COUNT(*) FROM pf_audit_log WHERE action IN ('backup.create.begin', 'backup.create', 'backup.verify')"), 3);

    // Restored elsewhere: the same users, a whole schema, its own audit row.
    let elsewhere = cli.dir.path().join("restored/pf.db");
    let restored = cli.ok(&["backup", "restore", folder.to_str().unwrap(), "--to", elsewhere.to_str().unwrap()]);
    assert!(restored.contains("Restored backup") && restored.contains("never hold the master keys"), "{restored}");
    assert!(!elsewhere.with_file_name(".master-key").exists(), "no stray master key made beside the copy");
    let users = "SELECT COUNT(*) FROM pf_users";
    assert_eq!(sqlite_count(&elsewhere, users), sqlite_count(&db, users));
    assert_schema_matches(&elsewhere);
    assert_eq!(sqlite_count(&elsewhere, "SELECT COUNT(*) FROM pf_audit_log WHERE action = 'backup.restore'"), 1);

    // Again over that copy, told to: what was there is moved aside whole, not deleted.
    let args = ["backup", "restore", folder.to_str().unwrap(), "--to", elsewhere.to_str().unwrap(), "--overwrite"];
    assert!(cli.ok(&args).contains("Restored backup"));
    let aside = only_folder_named(elsewhere.parent().unwrap(), "pf.db.before-restore-");
    assert!(aside.join("pf.db").exists());
    assert_eq!(std::fs::read_dir(aside.join("pf.db-user-tables")).unwrap().count(), 3, "the sets' folder moved whole");
    assert_eq!(sqlite_count(&elsewhere, users), sqlite_count(&db, users));

    // Over a live database: refused without --overwrite, and nothing changes.
    let before = std::fs::read(&db).unwrap();
    cli.fails(&["backup", "restore", folder.to_str().unwrap(), "--to", db.to_str().unwrap()], &[], 2, "--overwrite");
    assert_eq!(std::fs::read(&db).unwrap(), before);

    // Checked with another key than the one that signed its checkpoints (given in
    // PF_AUDIT_KEY, which comes before the backup's own), the verification fails:
    // the checkpoint no longer vouches for the chain.
    let wrong = [("PF_AUDIT_KEY", "another audit key of thirty-two bytes or more")];
    let out = cli.run(&["backup", "verify", folder.to_str().unwrap()], &wrong);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("audit chain is broken") && stdout.contains("Checkpoint"), "{stdout}");

    // One byte changed in a set's file: the verification names it, exit 3, recorded.
    let set = std::fs::read_dir(folder.join("user-tables")).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&set).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&set, bytes).unwrap();
    let out = cli.run(&["backup", "verify", folder.to_str().unwrap()], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("corrupted") && stdout.contains("user-tables/"), "{stdout}");
    assert_eq!(status("SELECT COUNT(*) FROM pf_backups WHERE verify_status = 'failed'"), 1);
    // A corrupted backup is not restored.
    let third = cli.dir.path().join("third/pf.db");
    cli.fails(
        &["backup", "restore", folder.to_str().unwrap(), "--to", third.to_str().unwrap()],
        &[],
        2,
        "Nothing was restored",
    );
    assert!(!third.exists());
}

/// `retention`: a policy refused with a sentence and exit 2; the dry run's numbers
/// are what the run then does, the archive filled; the policies show the run.
#[test]
fn retention_dry_runs_then_runs_what_it_said() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["generate", "--users", "30", "--audit-events", "100", "--provisioned", "3", "--end-date", "2025-06-01"]);
    cli.fails(&["retention", "set", "pf_user_*_skills", "--days", "30"], &[], 2, "matches no table");
    cli.fails(&["retention", "set", "pf_user_analytics", "--days", "30", "--archive"], &[], 2, "has no archive table");
    assert!(cli.ok(&["retention", "set", "pf_user_*_experiences", "--days", "30", "--archive"]).contains("Saved"));
    assert!(cli.ok(&["retention", "set", "pf_user_analytics", "--days", "30"]).contains("Saved"));
    let dry = cli.ok(&["retention", "run", "--dry-run"]);
    assert!(dry.starts_with("Retention (dry run): would archive "), "{dry}");
    let said = cli.ok(&["retention", "run"]);
    assert_eq!(
        dry.replace("would archive", "archived").replace("would delete", "deleted").replace(" (dry run)", ""),
        said,
        "the run did what the dry run said"
    );
    let db = cli.db();
    let summaries =
        "SELECT COUNT(*) FROM pf_audit_log WHERE action = 'retention.run' AND error_message LIKE 'Retention:%'";
    assert_eq!(sqlite_count(&db, summaries), 1, "one summary row");
    assert_eq!(sqlite_count(&db, "SELECT COUNT(*) FROM pf_data_retention_policies WHERE last_run IS NOT NULL"), 2);
    let old_events = "SELECT COUNT(*) FROM pf_user_analytics WHERE event_timestamp < '2025-06-01'";
    assert_eq!(sqlite_count(&db, old_events), 0);
    assert!(!said.contains("archived 0 rows"), "generated experiences that ended long ago were archived: {said}");
    assert!(cli.ok(&["retention", "policies"]).contains("Last run"));
}

/// An incremental backup holds the database and the sets changed since the full
/// backup; it verifies and restores with the full backup's copies of the others.
#[test]
fn an_incremental_backup_restores_with_its_full_backup() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["generate", "--users", "30", "--audit-events", "50", "--provisioned", "3", "--end-date", "2026-11-25"]);
    let root = cli.dir.path().join("backups");
    let to = root.to_str().unwrap();
    cli.ok(&["backup", "create", "--to", to]);
    // One more set after the full backup; the three before are unchanged.
    cli.ok(&["provision-user", "late_one"]);
    let said = cli.ok(&["backup", "create", "--to", to, "--incremental"]);
    assert!(said.contains("Backed up (incremental)"), "{said}");
    let folder = only_folder_ending(&root, "-incremental");
    let copied: Vec<_> =
        std::fs::read_dir(folder.join("user-tables")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(copied, ["late_one.db"], "only the set that changed");
    let verified = cli.ok(&["backup", "verify", folder.to_str().unwrap()]);
    assert!(verified.contains("verified") && verified.contains("audit chain whole"), "{verified}");
    let elsewhere = cli.dir.path().join("restored/pf.db");
    cli.ok(&["backup", "restore", folder.to_str().unwrap(), "--to", elsewhere.to_str().unwrap()]);
    assert_eq!(std::fs::read_dir(elsewhere.with_file_name("pf.db-user-tables")).unwrap().count(), 4, "all four sets");
    assert_schema_matches(&elsewhere);
    // Without its full backup, it is not restored.
    std::fs::remove_dir_all(only_folder_ending(&root, "-full")).unwrap();
    let third = cli.dir.path().join("third/pf.db");
    cli.fails(
        &["backup", "restore", folder.to_str().unwrap(), "--to", third.to_str().unwrap()],
        &[],
        2,
        "from its full backup) is missing",
    );
}

/// `user export` against the database it came from: every file holds exactly the
/// rows the database has of that person (each shared table by the export's own
/// filter, every per-user table whole), the profile's sensitive fields decrypted,
/// no password hash, token or ciphertext anywhere; an unknown person and an existing
/// file are refused with a sentence, and nothing is written.
#[test]
fn user_export_holds_every_row_of_the_person_and_no_credential() {
    use std::io::Read;
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["generate", "--users", "40", "--audit-events", "400", "--provisioned", "1", "--end-date", "2026-11-25"]);
    let db = rusqlite::Connection::open(cli.db()).unwrap();
    let (id, name): (String, String) = db
        .query_row(
            "SELECT u.user_id, u.username FROM pf_user_table_sets s JOIN pf_users u ON u.username = s.username",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let email: String = db.query_row("SELECT email FROM pf_users WHERE user_id = ?1", [&id], |r| r.get(0)).unwrap();
    let out = cli.dir.path().join("export.zip");
    let said = cli.ok(&["user", "export", &name, "--output", out.to_str().unwrap()]);
    assert!(said.contains("rows/s"), "{said}");

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len()).map(|i| zip.by_index(i).unwrap().name().to_string()).collect();
    let mut text = |file: &str| {
        let mut s = String::new();
        zip.by_name(file).unwrap_or_else(|e| panic!("{file}: {e}")).read_to_string(&mut s).unwrap();
        s
    };
    let rows = |json: &str| serde_json::from_str::<Vec<serde_json::Value>>(json).unwrap();
    let readme = text("README.txt");
    // Each shared table: the database's count of the person's rows.
    for part in pathfinder_server::storage::SUBJECT_PARTS {
        let second = match part.table {
            "pf_user_invitations" => email.clone(),
            _ => id.clone(),
        };
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", part.table, part.filter);
        let params: Vec<&dyn rusqlite::ToSql> = if part.filter.contains(":2") { vec![&id, &second] } else { vec![&id] };
        let want: usize =
            db.query_row(&sql.replace(":1", "?1").replace(":2", "?2"), params.as_slice(), |r| r.get(0)).unwrap();
        let got = rows(&text(part.file)).len();
        // The export's own outcome row is written after its audit file.
        let want = if part.file == "audit_log.json" { want - 1 } else { want };
        assert_eq!(got, want, "{}", part.file);
        assert!(readme.contains(&format!("- {} ({want} rows)", part.file)), "{readme}");
    }
    // Each per-user table, whole.
    let set = rusqlite::Connection::open(cli.dir.path().join(format!("cli.db-user-tables/{name}.db"))).unwrap();
    let tables: Vec<String> = set
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tables.len(), 10);
    for t in &tables {
        let want: usize = set.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0)).unwrap();
        let file = format!("tables/{}.json", t.trim_start_matches(&format!("pf_user_{name}_")));
        assert_eq!(rows(&text(&file)).len(), want, "{file}");
    }
    // The profile decrypted; nothing secret anywhere.
    let profile = rows(&text("profile.json")).remove(0);
    assert_eq!(profile["user_id"], id.as_str());
    let stored: Option<String> =
        db.query_row("SELECT phone_number_enc FROM pf_users WHERE user_id = ?1", [&id], |r| r.get(0)).unwrap();
    if stored.is_some() {
        let phone = profile["phone_number"].as_str().expect("the phone number decrypted");
        assert!(phone.chars().any(|c| c.is_ascii_digit()), "{phone}");
    }
    for file in &names {
        let body = text(file);
        for word in ["password_hash", "\"token", "_token\"", "mfa_secret", "_enc\"", "$argon2"] {
            assert!(!body.contains(word), "{word} in {file}");
        }
    }
    let audit = db
        .query_row(
            "SELECT error_message FROM pf_audit_log WHERE action = 'read.user.export' AND entity_id = ?1",
            [&id],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    assert!(audit.contains("profile.json 1"), "{audit}");

    // Refused: an unknown person, an existing file. Nothing new is written.
    let nowhere = cli.dir.path().join("n.zip");
    cli.fails(&["user", "export", "nobody_here", "--output", nowhere.to_str().unwrap()], &[], 2, "was not found");
    assert!(!nowhere.exists());
    cli.fails(&["user", "export", &name, "--output", out.to_str().unwrap()], &[], 2, "exists");
}
