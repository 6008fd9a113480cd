//! The storage conformance suite: one set of checks over the storage interface, a
//! file per capability, each check its own test on both backends: on a fresh SQLite
//! database always, and on Oracle when PF_ORACLE_TEST_URL is set at build time
//! (otherwise reported as skipped, never as passed).

#[path = "../common/mod.rs"]
mod common;

use pathfinder::storage::Storage;
use pathfinder_server::crypto::Keyring;
use std::sync::Arc;

/// Each check of a file as two tests: `on_sqlite::<check>` on a fresh database, and
/// `on_oracle::<check>` on the database of PF_ORACLE_TEST_URL (one check at a time,
/// since they share it).
macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[test]
                fn $check() {
                    super::$check(&crate::sqlite());
                }
            )*
        }

        mod on_oracle {
            $(
                #[test]
                #[cfg_attr(not(pf_oracle_test), ignore = "set PF_ORACLE_TEST_URL to run the conformance suite on Oracle")]
                fn $check() {
                    crate::on_oracle(super::$check);
                }
            )*
        }
    };
}

mod access_reviews;
mod accounts;
mod analytics;
mod audit;
mod backups;
mod bulk;
mod career;
mod dormant;
mod flags;
mod invitations;
mod keys;
mod mfa;
mod operations;
mod pert;
mod reference;
mod retention;
mod schema;
mod security;
mod sessions;
mod stats;
mod subject_access;
mod user_tables;
mod users;

/// What the checks need besides the storage interface: a second console instance
/// on the same database, and SQL sent around the console, as an operator's tool would.
pub struct Harness {
    pub storage: Arc<dyn Storage>,
    pub another_instance: Box<dyn Fn() -> Arc<dyn Storage>>,
    pub raw: Box<dyn Fn(&str)>,
    /// Like `raw`, in a user's table set (SQLite keeps each set in a file of its own).
    pub raw_in_set: Box<dyn Fn(&str, &str)>,
    /// Whether the backend is Oracle.
    pub oracle: bool,
    /// A time far ahead, as a literal of the backend's SQL.
    pub far_future: &'static str,
    /// A time long ago, likewise.
    pub long_ago: &'static str,
    /// A date (YYYY-MM-DD) as a literal of the backend's SQL.
    pub date: fn(&str) -> String,
    /// The master keys the storage holds.
    pub keyring: Keyring,
    /// Another instance on the same database, holding these master keys.
    pub open_with: Box<dyn Fn(Keyring) -> Arc<dyn Storage>>,
    /// The first column of the first row of a query sent around the console, as text.
    pub raw_text: Box<dyn Fn(&str) -> Option<String>>,
    /// `pathfinder-admin` run on the same database, with extra environment variables.
    pub cli: Box<dyn Fn(&[&str], &[(&str, String)]) -> std::process::Output>,
    /// The SQLite database's folder, removed when the check is over.
    _dir: Option<tempfile::TempDir>,
}

impl Harness {
    pub fn s(&self) -> &dyn Storage {
        self.storage.as_ref()
    }
}

/// The schema version this build migrates to.
pub const VERSION: i64 = 29;

/// The audit actions written so far, newest first.
pub fn actions(s: &dyn Storage) -> Vec<String> {
    s.recent_audit(100_000).unwrap().into_iter().map(|a| a.action).collect()
}

/// How many audit rows have `action`.
pub fn count(s: &dyn Storage, action: &str) -> usize {
    actions(s).iter().filter(|a| *a == action).count()
}

/// A fresh, migrated SQLite database of the check's own.
fn sqlite() -> Harness {
    use pathfinder_server::config::DatabaseUrl;
    let (s, dir) = common::sqlite();
    let path = dir.path().join("pf.db");
    let url = DatabaseUrl::Sqlite(path.clone());
    let (again, with, read, raw, cli) = (path.clone(), url.clone(), path.clone(), path.clone(), path.clone());
    let set = path.clone();
    Harness {
        storage: s,
        another_instance: Box::new(move || {
            Arc::new(pathfinder_server::storage::Store::open_sqlite(&again).unwrap()) as Arc<dyn Storage>
        }),
        raw: Box::new(move |sql| {
            // As another tool would: the file, without the console's functions.
            rusqlite::Connection::open(&raw).unwrap().execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }),
        raw_in_set: Box::new(move |username, sql| {
            let file = format!("{}-user-tables/{username}.db", set.display());
            rusqlite::Connection::open(file).unwrap().execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }),
        oracle: false,
        far_future: "'2999-01-01 00:00:00.000000'",
        long_ago: "'2000-01-01 00:00:00.000000'",
        date: |d| format!("'{d}'"),
        keyring: pathfinder_server::config::keyring(&url).unwrap(),
        open_with: Box::new(move |k| pathfinder_server::storage::open(&with, k).unwrap()),
        raw_text: Box::new(move |sql| {
            let c = rusqlite::Connection::open(&read).unwrap();
            c.query_row(sql, [], |r| {
                Ok(match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Null => None,
                    rusqlite::types::ValueRef::Integer(i) => Some(i.to_string()),
                    v => Some(v.as_str()?.to_string()),
                })
            })
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }),
        cli: Box::new(move |args, env| common::cli(&format!("sqlite:{}", cli.display()), args, env)),
        _dir: Some(dir),
    }
}

/// Runs `check` on the Oracle database of PF_ORACLE_TEST_URL, one check at a time.
fn on_oracle(check: fn(&Harness)) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let url = std::env::var("PF_ORACLE_TEST_URL").expect("PF_ORACLE_TEST_URL is set");
    check(&oracle(&url));
}

#[cfg(feature = "oracle")]
fn oracle(url: &str) -> Harness {
    use pathfinder_server::config::DatabaseUrl;
    use pathfinder_server::crypto::MasterKey;
    let parsed = DatabaseUrl::parse(url).expect("PF_ORACLE_TEST_URL is an oracle:// URL");
    let DatabaseUrl::Oracle(o) = parsed.clone() else { panic!("PF_ORACLE_TEST_URL is not an oracle:// URL") };
    // The suite's master key: PF_MASTER_KEY when set, else one for this process.
    static MASTER: std::sync::OnceLock<MasterKey> = std::sync::OnceLock::new();
    let master = MASTER
        .get_or_init(|| match std::env::var("PF_MASTER_KEY") {
            Ok(k) => MasterKey::parse(&k).expect("PF_MASTER_KEY is a master key"),
            Err(_) => MasterKey::generate(),
        })
        .clone();
    let keyring = Keyring::new(Some(master), vec![]);
    let s = pathfinder_server::storage::open(&parsed, keyring.clone()).expect("connect to Oracle");
    s.migrate(&common::audit("schema.migrate")).expect("migrate Oracle");
    let (again, with, o2, o3) = (parsed.clone(), parsed.clone(), o.clone(), o.clone());
    let k2 = keyring.clone();
    let url = url.to_string();
    Harness {
        storage: s,
        another_instance: Box::new(move || pathfinder_server::storage::open(&again, k2.clone()).unwrap()),
        raw: Box::new(move |sql| {
            let c = oracle::Connection::connect(&o.user, &o.password, &o.connect_string).unwrap();
            c.execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.commit().unwrap();
        }),
        raw_in_set: Box::new(move |_, sql| {
            let c = oracle::Connection::connect(&o3.user, &o3.password, &o3.connect_string).unwrap();
            c.execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.commit().unwrap();
        }),
        oracle: true,
        far_future: "TIMESTAMP '2999-01-01 00:00:00'",
        long_ago: "TIMESTAMP '2000-01-01 00:00:00'",
        date: |d| format!("DATE '{d}'"),
        keyring,
        open_with: Box::new(move |k| pathfinder_server::storage::open(&with, k).unwrap()),
        raw_text: Box::new(move |sql| {
            let c = oracle::Connection::connect(&o2.user, &o2.password, &o2.connect_string).unwrap();
            c.query_row_as::<Option<String>>(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"))
        }),
        cli: Box::new(move |args, env| common::cli(&url, args, env)),
        _dir: None,
    }
}

#[cfg(not(feature = "oracle"))]
fn oracle(_url: &str) -> Harness {
    panic!("PF_ORACLE_TEST_URL is set but this test build has no Oracle backend: run with --features oracle");
}
