//! Faults a console meets while it serves, each run against the real binary:
//! - the wall clock steps back an hour (NTP correcting a clock that ran ahead, a
//!   virtual machine restored from a snapshot), under Debian's libfaketime, whose
//!   offset file the test rewrites while the console serves; monotonic time stays
//!   real, as it does when a wall clock steps;
//! - the database's folder becomes read-only while it serves (the console then runs
//!   as `nobody`: root ignores file modes).
//!
//! The others have tests beside the code they test: a reader holding the
//! write-ahead log (`sqlite_file.rs`), a signal during retention, a backup or a key
//! rotation, and a process killed midway (`conformance/`).

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "faults-test-password-1";
const NOBODY: u32 = 65534;

/// Debian's libfaketime (package `faketime`, installed by scripts/setup).
fn libfaketime() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|arch| arch.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists());
    found.expect("Debian's libfaketime is missing: run scripts/setup (apt-get install faketime)")
}

/// A console's database (in a folder of its own) and how its processes run.
struct Console {
    dir: tempfile::TempDir,
    /// The offset file of the clock its processes see, if faked.
    clock: Option<PathBuf>,
    /// Its processes run as `nobody`, who owns the database's folder.
    as_nobody: bool,
}

impl Console {
    fn new() -> Console {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        Console { dir, clock: None, as_nobody: false }
    }

    /// Its processes see a clock the test can step.
    fn with_fake_clock() -> Console {
        let console = Console::new();
        let clock = console.dir.path().join("clock");
        std::fs::write(&clock, "+0").unwrap();
        Console { clock: Some(clock), ..console }
    }

    /// Its processes run as `nobody` when the test runs as root (file modes bind
    /// everyone else), with the database's folder theirs and a copy of the binary
    /// (the build's own may sit where `nobody` cannot reach, under /root).
    fn without_root() -> Console {
        use std::os::unix::fs::PermissionsExt;
        let console = Console::new();
        if !is_root() {
            return console;
        }
        std::fs::set_permissions(console.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_pathfinder-admin"), console.dir.path().join("pathfinder-admin")).unwrap();
        std::os::unix::fs::chown(console.folder(), Some(NOBODY), Some(NOBODY)).unwrap();
        Console { as_nobody: true, ..console }
    }

    /// The database's folder.
    fn folder(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn db(&self) -> PathBuf {
        self.folder().join("pf.db")
    }

    /// The console's command on the database, as its processes run.
    fn command(&self, args: &[&str]) -> Command {
        let bin = env!("CARGO_BIN_EXE_pathfinder-admin");
        let mut cmd = if self.as_nobody {
            let copy = self.dir.path().join("pathfinder-admin");
            let mut c = Command::new("setpriv");
            c.args([&format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}"), "--clear-groups"]).arg(copy);
            c
        } else {
            Command::new(bin)
        };
        cmd.args(args)
            .env("PF_DATABASE_URL", format!("sqlite:{}", self.db().display()))
            .env("PF_ADMIN_PASSWORD", PASSWORD)
            .env("PF_MFA_REQUIRED_ROLES", "none")
            .env("PF_AUDIT_CHECKPOINT_SECONDS", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        if let Some(clock) = &self.clock {
            cmd.env("LD_PRELOAD", libfaketime())
                .env("FAKETIME_TIMESTAMP_FILE", clock)
                .env("FAKETIME_NO_CACHE", "1")
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        cmd
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Steps the clock of every process under it (`-3600`: an hour back).
    fn set_clock(&self, offset: &str) {
        std::fs::write(self.clock.as_ref().expect("a console with a fake clock"), offset).unwrap();
    }

    /// Makes the database's folder, and everything in it, read-only (`false`) or
    /// writable again, as its owner sees it.
    fn set_writable(&self, writable: bool) {
        use std::os::unix::fs::PermissionsExt;
        fn walk(path: &std::path::Path, writable: bool) {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            let mode = if writable { mode | 0o200 } else { mode & !0o222 };
            if path.is_dir() {
                for entry in std::fs::read_dir(path).unwrap() {
                    walk(&entry.unwrap().path(), writable);
                }
            }
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        walk(&self.folder(), writable);
    }

    /// The chain verifies and Debian's sqlite3 finds the file whole.
    fn assert_whole(&self) {
        let verified = self.ok(&["audit", "verify"]);
        assert!(verified.contains("intact"), "{verified}");
        let check = Command::new("sqlite3").arg(self.db()).arg("PRAGMA integrity_check").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok");
    }

    fn sql(&self, query: &str) -> String {
        let c = rusqlite::Connection::open(self.db()).unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c.query_row(query, [], |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .unwrap()
    }
}

/// `serve`, stopped (SIGTERM, then waited for) when dropped.
struct Served {
    child: Child,
    addr: String,
}

impl Served {
    fn start(console: &Console) -> Served {
        let mut child = console.command(&["serve", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).spawn().unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("serve ended before it listened").unwrap();
            if let Some(at) = line.strip_prefix("Pathfinder Admin is serving at http://") {
                break at.to_string();
            }
        };
        // Keep reading, so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Served { child, addr }
    }

    /// One request (HTTP/1.1, the connection closed after it): status, headers, body.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
        let mut tcp = std::net::TcpStream::connect(&self.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        tcp.write_all(req.as_bytes()).unwrap();
        let mut reply = String::new();
        tcp.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, head.to_string(), body.to_string())
    }

    /// Signs in as the first administrator: the session cookie.
    fn sign_in(&self) -> String {
        let origin = format!("http://{}", self.addr);
        let form = format!("username=admin&password={PASSWORD}");
        let (status, head, body) = self.request(
            "POST",
            "/auth/login",
            &[("Origin", &origin), ("Content-Type", "application/x-www-form-urlencoded")],
            &form,
        );
        assert_eq!(status, 303, "{head}\n{body}");
        let cookie = head
            .lines()
            .filter_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
            .find(|c| c.starts_with("pf_session="))
            .unwrap_or_else(|| panic!("no session cookie: {head}"));
        cookie.split(';').next().unwrap().to_string()
    }

    /// A server function called from the console's own page: status and body.
    fn call(&self, cookie: &str, endpoint: &str, form: &str) -> (u16, String) {
        let origin = format!("http://{}", self.addr);
        let headers =
            [("Cookie", cookie), ("Origin", origin.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
        let (status, _, body) = self.request("POST", &format!("/api/{endpoint}"), &headers, form);
        (status, body)
    }

    /// Whether `cookie` is a session the console accepts (a page only the signed in get).
    fn signed_in(&self, cookie: &str) -> bool {
        self.request("GET", "/charts/audit.svg", &[("Cookie", cookie)], "").0 == 200
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// Waits (at most a minute) until `ready` holds; panics with `what` otherwise.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < until, "waited a minute for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn checkpoints(console: &Console) -> i64 {
    console.sql("SELECT COUNT(*) FROM pf_audit_checkpoints").parse().unwrap()
}

/// After the clock steps back an hour: sessions signed in before still work and new
/// ones can be made; jobs run now are not refused as if their last run had not
/// ended yet; audit checkpoints are still signed; the chain and the file verify.
#[test]
fn the_clock_stepping_back_an_hour_signs_no_one_out_and_blocks_no_job() {
    let console = Console::with_fake_clock();
    console.ok(&["migrate"]);
    console.ok(&["create-admin", "--username", "admin", "--email", "admin@example.com"]);
    // Jobs run now, before the step: their ends are recorded at the clock's time.
    console.ok(&["retention", "run"]);
    console.ok(&["rotate-keys", "--all"]);

    let served = Served::start(&console);
    let before = served.sign_in();
    assert!(served.signed_in(&before));
    assert!(!served.signed_in("pf_session=forged"), "the check can fail");

    // The step: an hour back, for the server (from its next reading of the clock on)
    // and every command after it.
    let stepped_at = chrono::Utc::now();
    console.set_clock("-3600");

    // Sessions: a new one can be made, and is dated an hour back (the step took);
    // the one from before is still good; the new one ends when signed out.
    let after = served.sign_in();
    let an_hour_back = (stepped_at - chrono::Duration::minutes(55)).format("%Y-%m-%d %H:%M:%S");
    let dated_back = format!("SELECT COUNT(*) FROM pf_user_sessions WHERE created_at < '{an_hour_back}'");
    assert_eq!(console.sql(&dated_back), "1", "the session made after the step");
    assert!(served.signed_in(&after));
    assert!(served.signed_in(&before), "a session signed before the step is still good");
    let origin = format!("http://{}", served.addr);
    let (status, ..) = served.request("POST", "/auth/logout", &[("Cookie", &after), ("Origin", &origin)], "");
    assert_eq!(status, 303);
    assert!(!served.signed_in(&after), "signed out");
    assert!(served.signed_in(&before));

    // Leases: a job asked for now runs, though its last run seems to end in the future.
    console.ok(&["retention", "run"]);
    assert!(console.ok(&["rotate-keys", "--all"]).contains("Rotated "), "a rotation runs after the step");
    let held = "SELECT COUNT(*) FROM pf_console_jobs
                WHERE job_name IN ('retention', 'key_rotation') AND lease_owner IS NOT NULL";
    assert_eq!(console.sql(held), "0", "their leases given back");

    // Checkpoints: the serving instance goes on signing the chain's head.
    let signed = checkpoints(&console);
    console.ok(&["rotate-keys", "--all"]); // a new head to sign
    wait_for("a checkpoint signed after the step", || checkpoints(&console) > signed);
    drop(served);

    // Back on the right time: the chain, its checkpoints and the file are whole.
    console.set_clock("+0");
    console.assert_whole();
}

/// The database's folder (and everything in it) becomes read-only while the console
/// serves: what it has open goes on (pages), what needs a new file (a
/// user's table set) is refused with 503 and a reference, no file made and nothing
/// recorded as done; a new process reads but cannot write. Once the folder is
/// writable again, the same request finishes the set without a restart.
#[test]
fn a_read_only_database_folder_refuses_what_needs_new_files_and_recovers() {
    let console = Console::without_root();
    console.ok(&["migrate"]);
    console.ok(&["create-admin", "--username", "admin", "--email", "admin@example.com"]);
    console.ok(&["generate", "--users", "5", "--audit-events", "0", "--provisioned", "0", "--seed", "3"]);
    let served = Served::start(&console);
    let cookie = served.sign_in();
    let user_id = console.sql("SELECT user_id FROM pf_users WHERE username <> 'admin' ORDER BY user_id LIMIT 1");
    let username = console.sql(&format!("SELECT username FROM pf_users WHERE user_id = '{user_id}'"));
    let set_file = console.folder().join("pf.db-user-tables").join(format!("{username}.db"));
    // The set's state in the registry, and its provisioning's audit rows by status.
    let state = || {
        let status =
            format!("SELECT COALESCE(MAX(status), 'none') FROM pf_user_table_sets WHERE user_id = '{user_id}'");
        let rows = |code: u16| {
            console.sql(&format!(
                "SELECT COUNT(*) FROM pf_audit_log WHERE action = 'user_tables.provision' AND response_status = {code}"
            ))
        };
        (console.sql(&status), rows(200), rows(503))
    };
    let none = |s: &str| (s.to_string(), "0".to_string(), "0".to_string());
    assert_eq!(state(), none("none"));

    // The first upkeep round over (the security review is its last job), so the
    // connections it opened are back in the pool: what the console has open.
    let reviewed = "SELECT COUNT(last_finished_at) FROM pf_console_jobs WHERE job_name = 'security_review'";
    wait_for("the first upkeep round", || console.sql(reviewed) == "1");

    console.set_writable(false);
    assert!(served.signed_in(&cookie), "pages read on");
    let (status, body) = served.call(&cookie, "provision_user_tables", &format!("user_id={user_id}"));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"Unavailable\""), "with its reference: {body}");
    assert!(!set_file.exists(), "no half-made set");
    // Its intent stays, as after a crash, for the next provisioning to finish; the
    // failure is audited, and nothing says it was done.
    assert_eq!(state(), ("provisioning".into(), "0".into(), "1".into()));
    // Another process: it reads, and its writes are refused with a sentence.
    assert!(console.ok(&["audit", "verify"]).contains("intact"));
    let refused = console.command(&["provision-user", &username]).output().unwrap();
    assert!(!refused.status.success(), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("try again shortly (reference"), "{refused:?}");

    console.set_writable(true);
    let (status, body) = served.call(&cookie, "provision_user_tables", &format!("user_id={user_id}"));
    assert_eq!(status, 200, "{body}");
    assert!(set_file.exists());
    assert_eq!(state(), ("ready".into(), "1".into(), "1".into()));
    drop(served);
    console.assert_whole();
}
