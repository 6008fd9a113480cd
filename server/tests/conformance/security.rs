//! The security review: each check fires on the facts it looks for and is quiet
//! without them, as both backends gather them; a finding stays one row while runs
//! see it, closes at the first run that does not, and a new row opens if it comes
//! back (the history); every opening, closing and run is audited; two instances
//! running it at once open nothing twice.

use crate::common::{add_user, audit};
use crate::{count, Harness};
use chrono::Utc;
use pathfinder::dto::Timestamp;
use pathfinder::security::{InstanceFacts, SecurityPolicy, SecurityView, Severity};
use pathfinder::storage::{AuditEntry, RefreshWhen, Storage};
use pathfinder::Role;
use std::collections::BTreeSet;

checks! {
    each_check_fires_on_its_facts_and_closes_when_they_are_gone,
    a_finding_that_comes_back_opens_a_new_row_and_the_old_one_stays_closed,
    two_instances_reviewing_at_once_open_each_finding_once,
}

/// `t` as a literal of the backend's SQL.
fn at(h: &Harness, t: Timestamp) -> String {
    if h.oracle {
        format!("TIMESTAMP '{}'", t.format("%Y-%m-%d %H:%M:%S"))
    } else {
        format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f"))
    }
}

fn run(s: &dyn Storage, policy: &SecurityPolicy) -> pathfinder::security::ReviewOutcome {
    s.security_review(RefreshWhen::Now, policy, &audit("security.review")).unwrap().expect("ran")
}

/// The open findings as (check, names).
fn open(view: &SecurityView) -> BTreeSet<(String, String)> {
    view.open.iter().map(|f| (f.check.clone(), f.names.clone())).collect()
}

fn sign_in_row(action: &str, user: &pathfinder::UserId, ip: &str) -> AuditEntry {
    AuditEntry { actor: Some(user.clone()), ip_address: Some(ip.into()), response_status: 401, ..audit(action) }
}

/// A badly configured instance: https without secure cookies, beyond loopback with
/// no metrics token and the default host names, a public proxy, backups on.
fn careless() -> InstanceFacts {
    InstanceFacts {
        https: true,
        secure_cookie: false,
        metrics_token: false,
        beyond_loopback: true,
        default_hosts: true,
        public_proxies: vec!["8.8.8.8".into()],
        backup_every_hours: Some(24),
        ..InstanceFacts::default()
    }
}

fn careful() -> InstanceFacts {
    InstanceFacts { https: true, secure_cookie: true, ..InstanceFacts::default() }
}

/// The review's own tables emptied, and on Oracle (one database for every check)
/// what other checks left that the review would name: console roles, chain
/// verifications, the upkeep jobs' runs.
fn start_afresh(h: &Harness) {
    (h.raw)("DELETE FROM pf_security_findings");
    (h.raw)("DELETE FROM pf_console_instances");
    if h.oracle {
        (h.raw)("DELETE FROM pf_console_roles");
        (h.raw)("DELETE FROM pf_audit_jobs");
        (h.raw)("UPDATE pf_console_jobs SET last_finished_at = NULL, last_status = NULL");
        (h.raw)("UPDATE pf_encryption_keys SET last_rotated = CURRENT_TIMESTAMP");
    }
}

/// The open findings about what this check made (on Oracle others' users,
/// addresses and keys may be named too).
fn open_of(view: &SecurityView, expected: &BTreeSet<(String, String)>) -> BTreeSet<(String, String)> {
    let names: BTreeSet<&String> = expected.iter().map(|(_, n)| n).collect();
    open(view).into_iter().filter(|(_, n)| names.contains(n)).collect()
}

fn each_check_fires_on_its_facts_and_closes_when_they_are_gone(h: &Harness) {
    start_afresh(h);
    let s = h.s();
    let alice = add_user(s, "sec_alice", "active", &[Role::Admin]);
    let bob = add_user(s, "sec_bob", "active", &[Role::Compliance]);
    let carol = add_user(s, "sec_carol", "active", &[Role::Sre]);
    add_user(s, "sec_nobody", "active", &[]);
    let now = Utc::now();
    // Bob has a second factor and signed in lately; Carol signed in long ago, with a password only.
    (h.raw)(&format!("UPDATE pf_users SET mfa_enabled = 'Y', last_login = {} WHERE username = 'sec_bob'", at(h, now)));
    (h.raw)(&format!("UPDATE pf_users SET last_login = {} WHERE username = 'sec_carol'", h.long_ago));
    // Roles granted long ago, except Alice's.
    (h.raw)(&format!("UPDATE pf_console_roles SET granted_at = {} WHERE user_id <> '{alice}'", h.long_ago));
    s.report_instance("web-1:3000", &careless()).unwrap();
    s.report_instance("web-2:3000", &careful()).unwrap();
    // An instance silent for a day is gone: its settings are not checked.
    s.report_instance("gone:3000", &careless()).unwrap();
    (h.raw)(&format!("UPDATE pf_console_instances SET reported_at = {} WHERE instance_name = 'gone:3000'", h.long_ago));
    let key = s.create_api_key("old client", "hash-of-old", "pfk_old", &audit("flag.api_key.create")).unwrap();
    s.create_api_key("new client", "hash-of-new", "pfk_new", &audit("flag.api_key.create")).unwrap();
    (h.raw)(&format!("UPDATE pf_flag_api_keys SET created_at = {} WHERE key_id = '{}'", h.long_ago, key.key_id));
    let phone = pathfinder::dto::SensitiveFields { phone_number: Some("+1 555 0199".into()), ..Default::default() };
    s.set_sensitive_fields(&bob, &phone, &audit("user.sensitive.update")).unwrap();
    (h.raw)(&format!("UPDATE pf_encryption_keys SET created_at = {0}, last_rotated = {0}", h.long_ago));
    // The last day's sign-ins: Alice locked 4 times; 21 failures from one address
    // (and 20 from another: not more than the policy's 20); Bob from 6 addresses.
    for _ in 0..4 {
        s.append_audit(&sign_in_row("login.lockout", &alice, "198.51.100.1")).unwrap();
    }
    for i in 0..21 {
        let action = if i % 2 == 0 { "login.failure" } else { "login.locked" };
        s.append_audit(&sign_in_row(action, &carol, "203.0.113.9")).unwrap();
        if i < 20 {
            s.append_audit(&sign_in_row("login.failure", &carol, "203.0.113.10")).unwrap();
        }
    }
    for i in 0..6 {
        s.append_audit(&AuditEntry {
            response_status: 303,
            ..sign_in_row("login.success", &bob, &format!("192.0.2.{i}"))
        })
        .unwrap();
    }
    s.append_audit(&AuditEntry { response_status: 303, ..sign_in_row("login.success", &carol, "192.0.2.1") }).unwrap();

    let strict = SecurityPolicy { max_admins: 0, ..SecurityPolicy::default() };
    let first = run(s, &strict);
    let view = s.security_view(500).unwrap();
    // The master key's age is known from its last re-wrap, which another check may have done.
    let rewrapped = (h.raw_text)("SELECT COUNT(*) FROM pf_audit_log WHERE action = 'key.master.rewrap'");
    let mut expected: BTreeSet<(String, String)> = [
        ("second_factor_required", "sec_alice"),
        ("no_second_factor", "sec_carol"),
        ("dormant_account", "sec_alice"),
        ("dormant_account", "sec_carol"),
        ("recent_grant", "sec_alice"),
        ("too_many_admins", "sec_alice"),
        ("unused_api_key", "old client (pfk_old…)"),
        ("data_keys_overdue", "users' data keys"),
        ("master_key_old", "the master key"),
        ("chain_unverified", "the audit chain"),
        ("backup_missing", "backups"),
        ("upkeep_stale", "user_stats"),
        ("upkeep_stale", "storage_sample"),
        ("upkeep_stale", "db_statistics"),
        ("cookie_not_secure", "web-1:3000"),
        ("metrics_open", "web-1:3000"),
        ("default_hosts", "web-1:3000"),
        ("public_proxy", "web-1:3000"),
        ("repeated_lockouts", "sec_alice"),
        ("failing_address", "203.0.113.9"),
        ("many_addresses", "sec_bob"),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_string(), n.to_string()))
    .collect();
    if rewrapped.as_deref() != Some("0") {
        expected.remove(&("master_key_old".to_string(), "the master key".to_string()));
    }
    assert_eq!(open_of(&view, &expected), expected);
    assert_eq!(first.open, view.open_counts);
    assert_eq!(s.open_findings().unwrap(), view.open_counts);
    assert_eq!(view.open[0].severity, Severity::High, "most severe first");
    if !h.oracle {
        // A fresh database: nothing else to find.
        assert_eq!(open(&view), expected);
        assert_eq!(first.opened, expected.len() as u64);
        assert_eq!(view.open_counts, [3, 13, 5], "high: second factor, backup, cookie; low: grant, key, 3 jobs");
        assert_eq!(count(s, "security.finding.open"), expected.len());
    }
    assert_eq!((count(s, "security.review.begin"), count(s, "security.review")), (1, 1));
    assert_eq!(view.last_run.status.as_deref(), Some("ok"));

    // Everything fixed but the chain; the sign-in counts now under a looser policy.
    (h.raw)(&format!("UPDATE pf_users SET mfa_enabled = 'Y', last_login = {} WHERE username LIKE 'sec_%'", at(h, now)));
    (h.raw)(&format!("UPDATE pf_console_roles SET granted_at = {}", h.long_ago));
    s.report_instance("web-1:3000", &careful()).unwrap();
    s.revoke_api_key(&key.key_id, &audit("flag.api_key.revoke")).unwrap();
    (h.raw)(&format!("UPDATE pf_encryption_keys SET last_rotated = {}", at(h, now)));
    s.append_audit(&audit("key.master.rewrap")).unwrap();
    (h.raw)(&format!(
        "UPDATE pf_console_jobs SET last_finished_at = {} WHERE job_name IN ('user_stats', 'storage_sample', 'db_statistics')",
        at(h, now)
    ));
    let chain_seen = view.open.iter().find(|f| f.check == "chain_unverified").expect("chain").first_seen_at;
    let loose = SecurityPolicy {
        lockouts_per_day: 4,
        failures_per_address: 21,
        addresses_per_account: 6,
        ..SecurityPolicy::default()
    };
    let second = run(s, &loose);
    let view = s.security_view(500).unwrap();
    let still: BTreeSet<(String, String)> = [("chain_unverified".to_string(), "the audit chain".to_string())].into();
    assert_eq!(open_of(&view, &expected), still, "{view:#?}");
    let chain = view.open.iter().find(|f| f.check == "chain_unverified").expect("chain");
    assert_eq!(chain.first_seen_at, chain_seen, "the same finding, seen again");
    assert!(chain.last_seen_at > chain_seen);
    let closed: BTreeSet<(String, String)> = view.closed.iter().map(|f| (f.check.clone(), f.names.clone())).collect();
    assert_eq!(closed, expected.difference(&still).cloned().collect(), "each kept, closed");
    assert!(view.closed.iter().all(|f| f.closed_at.is_some()));
    if !h.oracle {
        assert_eq!((second.opened, second.closed), (0, expected.len() as u64 - 1));
        assert_eq!(count(s, "security.finding.close"), expected.len() - 1);
        assert_eq!(s.open_findings().unwrap(), [0, 1, 0]);
    }
}

fn a_finding_that_comes_back_opens_a_new_row_and_the_old_one_stays_closed(h: &Harness) {
    start_afresh(h);
    let s = h.s();
    add_user(s, "sec_dora", "active", &[Role::Admin]);
    let policy = SecurityPolicy::default();
    run(s, &policy);
    let first = s.security_view(500).unwrap();
    let row = first.open.iter().find(|f| f.check == "second_factor_required").expect("dora has none").clone();
    // The CLI runs it too, and says so by its exit code: 3 while a high finding is open.
    let cli = (h.cli)(&["security", "review"], &[]);
    assert_eq!(cli.status.code(), Some(3), "{}", String::from_utf8_lossy(&cli.stderr));
    assert!(String::from_utf8_lossy(&cli.stdout).contains("high\tA role that requires a second factor"));
    (h.raw)("UPDATE pf_users SET mfa_enabled = 'Y' WHERE username = 'sec_dora'");
    if !h.oracle {
        // Nothing else high on a fresh database: exit 0 once it is fixed.
        let cli = (h.cli)(&["security", "review"], &[]);
        assert_eq!(cli.status.code(), Some(0), "{}", String::from_utf8_lossy(&cli.stdout));
    }
    run(s, &policy);
    (h.raw)("UPDATE pf_users SET mfa_enabled = 'N' WHERE username = 'sec_dora'");
    run(s, &policy);
    let view = s.security_view(500).unwrap();
    let again = view.open.iter().find(|f| f.check == "second_factor_required").expect("open again");
    assert_ne!(again.finding_id, row.finding_id);
    let old = view.closed.iter().find(|f| f.finding_id == row.finding_id).expect("kept closed");
    assert_eq!((old.first_seen_at, old.names.as_str()), (row.first_seen_at, "sec_dora"));
    // Not due again within the period: no run, no row.
    let rows = count(s, "security.review");
    let due = RefreshWhen::Due(policy.every());
    assert_eq!(s.security_review(due, &policy, &audit("security.review")).unwrap(), None);
    assert_eq!(count(s, "security.review"), rows);
}

fn two_instances_reviewing_at_once_open_each_finding_once(h: &Harness) {
    start_afresh(h);
    add_user(h.s(), "sec_erin", "active", &[Role::Admin]);
    let policy = SecurityPolicy { max_admins: 0, ..SecurityPolicy::default() };
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let s = (h.another_instance)();
            std::thread::spawn(move || s.security_review(RefreshWhen::Now, &policy, &audit("security.review")))
        })
        .collect();
    let mut ran = 0;
    for r in runs {
        match r.join().unwrap() {
            Ok(Some(_)) => ran += 1,
            Err(pathfinder::AppError::Conflict(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(ran >= 1);
    let view = h.s().security_view(500).unwrap();
    let distinct = open(&view);
    assert_eq!(distinct.len(), view.open.len(), "no finding open twice");
    if !h.oracle {
        assert_eq!(count(h.s(), "security.finding.open"), view.open.len(), "each opening audited once");
    }
}
