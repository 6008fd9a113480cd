//! Helpers the integration tests share.
#![allow(dead_code)]

use pathfinder::storage::{AuditEntry, NewUser, SchemaStore, Storage};
use pathfinder::{Role, UserId, Username};
use pathfinder_server::storage::Store;
use std::sync::Arc;

/// A migrated SQLite database in a fresh temporary folder (kept alive by the returned guard).
pub fn sqlite() -> (Arc<Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = Store::open_sqlite(&dir.path().join("pf.db")).expect("open sqlite");
    s.migrate(&audit("schema.migrate")).expect("migrate");
    (Arc::new(s), dir)
}

/// A migrated SQLite database filled by `generate` (data ending on 2026-06-01).
pub fn generated(seed: u64, users: u64, audit_events: u64, provisioned: u64) -> (Arc<Store>, tempfile::TempDir) {
    let (s, dir) = sqlite();
    let end = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("a date");
    let plan = pathfinder_server::generate::Plan { seed, users, audit_events, provisioned, end };
    let never = std::sync::atomic::AtomicBool::new(false);
    pathfinder_server::generate::run(s.as_ref(), &plan, &never, &mut |_, _, _| {}).expect("generate");
    (s, dir)
}

pub fn audit(action: &str) -> AuditEntry {
    AuditEntry {
        action: action.into(),
        response_status: 200,
        request_method: Some("TEST".into()),
        ..Default::default()
    }
}

/// A password hash that is cheap to make: tests that do not sign in use it.
pub const NO_LOGIN_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$invalidinvalidinvalidinvalidinvalidinvalid";

pub fn new_user(name: &str, first: &str, last: &str, status: &str, roles: &[Role]) -> NewUser {
    NewUser {
        user_id: UserId::new(),
        username: Username::parse(name).expect("valid username"),
        email: format!("{name}@Example.com"),
        password_hash: NO_LOGIN_HASH.into(),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        account_status: status.into(),
        roles: roles.to_vec(),
        feature_group_id: None,
    }
}

pub fn add_user(s: &dyn Storage, name: &str, status: &str, roles: &[Role]) -> UserId {
    let u = new_user(name, &format!("First{name}"), &format!("Last{name}"), status, roles);
    s.create_user(&u, &audit("user.create")).expect("create user");
    u.user_id
}

/// Runs `pathfinder-admin` on `database_url` with extra environment variables.
pub fn cli(database_url: &str, args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    use std::process::Stdio;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pathfinder-admin"));
    cmd.args(args)
        .env("PF_DATABASE_URL", database_url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("run pathfinder-admin");
    // A command that should end (a `serve` told to stop, say) and does not fails the
    // test after five minutes rather than holding the suite.
    let pid = child.id();
    let (done, waited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if waited.recv_timeout(std::time::Duration::from_secs(300)).is_err() {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    });
    let out = child.wait_with_output().expect("wait for pathfinder-admin");
    let _ = done.send(());
    use std::os::unix::process::ExitStatusExt;
    assert_ne!(out.status.signal(), Some(9), "{args:?} did not end within five minutes: {out:?}");
    out
}

/// What a verification trusts: `key`, and no outside witness.
#[allow(dead_code)]
pub fn trust(key: Option<&[u8]>) -> pathfinder::witness::ChainTrust {
    pathfinder::witness::ChainTrust { key: key.map(std::sync::Arc::from), witness: None }
}
