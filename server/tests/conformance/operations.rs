//! Operations for SREs: storage samples (what they measure, their schedule, lease,
//! retention and audit rows), the optimizer statistics' gathering, and the last
//! chain verification the alerts read.

use crate::common::{add_user, audit};
use crate::{count, Harness, VERSION};
use pathfinder::audit::{AuditFilter, AuditJobKind};
use pathfinder::diagnostics::Setting;
use pathfinder::pool::{PoolHistory, PoolSample};
use pathfinder::storage::{RefreshWhen, TableRows, Value};
use pathfinder::usage::StoragePolicy;
use pathfinder::{AppError, Username};

checks!(
    storage_samples,
    statistics_and_verification,
    pool_and_diagnostics_pages,
    long_work_leaves_connections_for_requests
);

/// Long work (here: exports held open mid-stream, as a slow download or a long
/// verification holds them) takes at most half the pool; the request path still
/// gets a connection at once. Before, as many exports or verifications as the pool
/// had connections took them all, and pages answered 503 until they ended.
fn long_work_leaves_connections_for_requests(h: &Harness) {
    use std::sync::mpsc;
    let s = h.storage.clone();
    add_user(s.as_ref(), "share_someone", "active", &[]);
    let max = s.pool_stats().max as usize;
    let share = (max / 2).max(1);
    let (entered, entries) = mpsc::channel::<()>();
    let gate = std::sync::Arc::new(std::sync::Mutex::new(()));
    let held = gate.lock().unwrap();
    let workers: Vec<_> = (0..max)
        .map(|_| {
            let (s, entered, gate) = (s.clone(), entered.clone(), gate.clone());
            std::thread::spawn(move || {
                s.export_audit(&pathfinder::audit::AuditFilter::default(), &mut |_| {
                    let _ = entered.send(());
                    drop(gate.lock());
                    false
                })
            })
        })
        .collect();
    for _ in 0..share {
        entries.recv_timeout(std::time::Duration::from_secs(30)).expect("long work started");
    }
    assert!(
        entries.recv_timeout(std::time::Duration::from_millis(300)).is_err(),
        "more than half of the pool's {max} connections went to long work"
    );
    let started = std::time::Instant::now();
    assert!(s.count_admins().is_ok(), "a request found a connection while long work held its share");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "a request waited {:?}", started.elapsed());
    drop(held);
    for w in workers {
        assert!(w.join().unwrap().is_ok());
    }
}

fn storage_samples(h: &Harness) {
    let s = h.storage.as_ref();
    let policy = StoragePolicy { history_days: 1, ..StoragePolicy::default() };
    let empty = s.storage_page(&policy).unwrap();
    assert_eq!((empty.sampled_at, empty.used), (None, 0), "no sample yet");

    let owner = Username::parse("conf_space").unwrap();
    s.provision_user_tables(&owner, &audit("user_tables.provision")).unwrap();
    let t = |x: String| Value::Text(x);
    let start = Value::Date(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
    let rows = (0..200)
        .map(|i| vec![t(format!("e{i}")), t("Auditor ".repeat(20)), t(format!("Firm {i}")), start.clone()])
        .collect::<Vec<_>>();
    let experiences = TableRows {
        table: "pf_user_conf_space_experiences".into(),
        columns: &["id", "title", "company", "start_date"],
        rows,
    };
    s.fill_user_tables(&owner, &[experiences], &audit("user_tables.fill")).unwrap();
    // A sample older than the history kept, which the next sample deletes.
    (h.raw)(&format!(
        "INSERT INTO pf_storage_samples (sampled_at, object_kind, object_name, bytes, index_bytes)
         VALUES ({}, 'database', 'used', 1, 0)",
        h.long_ago
    ));

    let begins = count(s, "storage.sample.begin");
    let run = s.sample_storage(RefreshWhen::Now, &policy, &audit("storage.sample")).unwrap().expect("a run");
    assert_eq!(run.status.as_deref(), Some("ok"));
    assert_eq!((count(s, "storage.sample.begin"), count(s, "storage.sample")), (begins + 1, begins + 1));
    let page = s.storage_page(&policy).unwrap();
    assert!(page.sampled_at.is_some());
    assert_eq!(page.last_sample, run);
    let table = |name: &str| page.tables.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name}: {page:?}"));
    // Rows and indexes each count for their table (pf_users has both).
    assert!(table("pf_users").bytes > 0 && table("pf_users").index_bytes > 0);
    assert!(table("pf_audit_log").total() > 0);
    assert!(page.tables.windows(2).all(|w| w[0].total() >= w[1].total()), "largest first");
    assert!(page.tables.iter().all(|t| !t.name.starts_with("pf_user_conf_space")), "a set is not a shared table");
    let sets_sum: i64 = page.tables.iter().map(|t| t.total()).sum::<i64>() + page.sets_bytes;
    assert!(page.used >= sets_sum, "the whole holds its parts: {} < {sets_sum}", page.used);
    assert!(page.limit.is_some_and(|l| l >= page.used), "{:?}", page.limit);
    let largest = page.largest_sets.iter().find(|(u, _)| u == "conf_space").expect("the set is listed");
    assert!(largest.1 > 0);
    assert!(page.sets_count >= 1 && page.sets_bytes >= largest.1);
    let set = s.user_table_set(&owner).unwrap().unwrap();
    assert_eq!(set.size_bytes, Some(largest.1), "the owner's page shows the sampled size");
    assert_eq!(set.size_sampled_at, page.sampled_at);

    // History: the old sample is gone; the growth chart's series hold this one.
    let history = s.storage_history(chrono::Utc::now() - chrono::Duration::days(3650), &["pf_users".into()]).unwrap();
    let used = &history.iter().find(|(n, _)| n == "used").unwrap().1;
    assert_eq!(used.len(), 1, "the sample past the history kept was deleted: {used:?}");
    assert_eq!(used[0].1, page.used);
    assert_eq!(history.iter().find(|(n, _)| n == "pf_users").unwrap().1[0].1, table("pf_users").total());

    // The chart's lines: the whole, and the largest tables of the latest sample.
    let series = s.storage_series(&policy, 2).unwrap();
    let names: Vec<&str> = series.iter().map(|(n, _)| n.as_str()).collect();
    for line in ["used", page.tables[0].name.as_str(), page.tables[1].name.as_str()] {
        assert!(names.contains(&line), "{line} in {names:?}");
    }
    assert!(!names.contains(&page.tables[2].name.as_str()), "only the largest two: {names:?}");
    assert!(series.iter().all(|(_, points)| points.len() <= 1), "within the history kept: {series:?}");

    // The operator's limit replaces the backend's.
    let fixed = StoragePolicy { limit_bytes: Some(page.used as u64 * 2), ..policy };
    s.sample_storage(RefreshWhen::Now, &fixed, &audit("storage.sample")).unwrap();
    let page = s.storage_page(&fixed).unwrap();
    assert_eq!(page.limit, fixed.limit_bytes.map(|l| l as i64));
    assert_eq!(page.level(), "ok");

    // The schedule: not due right after a sample; another instance holding the job
    // makes a run asked for now a conflict, and writes nothing.
    let hour = std::time::Duration::from_secs(3600);
    let audited = s.recent_audit(100_000).unwrap().len();
    assert_eq!(s.sample_storage(RefreshWhen::Due(hour), &policy, &audit("storage.sample")).unwrap(), None);
    (h.raw)(&format!(
        "UPDATE pf_console_jobs SET lease_owner = 'another-instance', lease_until = {} WHERE job_name = 'storage_sample'",
        h.far_future
    ));
    let asked = s.sample_storage(RefreshWhen::Now, &policy, &audit("storage.sample"));
    assert!(matches!(asked, Err(AppError::Conflict(_))), "{asked:?}");
    assert_eq!(s.recent_audit(100_000).unwrap().len(), audited, "neither wrote a row");
    (h.raw)("UPDATE pf_console_jobs SET lease_owner = NULL, lease_until = NULL WHERE job_name = 'storage_sample'");
    s.drop_user_tables(&owner, &audit("user_tables.drop")).unwrap();
}

fn statistics_and_verification(h: &Harness) {
    let s = h.s();
    assert_eq!(s.last_statistics().unwrap().finished_at, None);
    let begins = count(s, "database.statistics.begin");
    let run = s.gather_statistics(RefreshWhen::Now, &audit("database.statistics")).unwrap().expect("a run");
    assert_eq!(run.status.as_deref(), Some("ok"));
    assert_eq!(s.last_statistics().unwrap(), run);
    assert_eq!(count(s, "database.statistics"), begins + 1);
    let day = std::time::Duration::from_secs(86_400);
    assert_eq!(s.gather_statistics(RefreshWhen::Due(day), &audit("database.statistics")).unwrap(), None);

    // The alerts read the last verification that finished.
    let id = s.start_audit_job(AuditJobKind::Verify, "", &audit("audit.verify.start")).unwrap();
    s.run_audit_job(
        &id,
        AuditJobKind::Verify,
        &AuditFilter::default(),
        &pathfinder::witness::ChainTrust::default(),
        &audit("audit.verify"),
    )
    .unwrap();
    let last = s.last_chain_verify().unwrap().expect("a finished verification");
    assert_eq!((last.id.as_str(), last.outcome.as_deref()), (id.as_str(), Some("ok")));

    // The schedule counts that one; once it is older than the period, one instance
    // verifies again, audited like the page's.
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(
        s.scheduled_chain_verify(hour, &pathfinder::witness::ChainTrust::default(), &audit("audit.verify")).unwrap(),
        None,
        "not due"
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    let begins = count(s, "audit.verify.begin");
    let soon = std::time::Duration::from_millis(10);
    let job = s
        .scheduled_chain_verify(soon, &pathfinder::witness::ChainTrust::default(), &audit("audit.verify"))
        .unwrap()
        .expect("due");
    assert_eq!(job.outcome.as_deref(), Some("ok"));
    assert_eq!(count(s, "audit.verify.begin"), begins + 1);
    assert_eq!(s.last_chain_verify().unwrap().map(|j| j.id), Some(job.id.clone()));

    // One verification at a time across instances: asked for while another runs,
    // the running one's id comes back and nothing new starts; asked to run while
    // another instance holds the lease, nothing runs twice.
    let running = s.start_audit_job(AuditJobKind::Verify, "", &audit("audit.verify.begin")).unwrap();
    let asked = s.start_audit_job(AuditJobKind::Verify, "", &audit("audit.verify.begin")).unwrap();
    assert_eq!(asked, running, "one verification, followed by both");
    (h.raw)(&format!(
        "UPDATE pf_console_jobs SET lease_owner = 'another-instance', lease_until = {} WHERE job_name = 'audit_verify'",
        h.far_future
    ));
    let none = pathfinder::witness::ChainTrust::default();
    s.run_audit_job(&running, AuditJobKind::Verify, &AuditFilter::default(), &none, &audit("audit.verify")).unwrap();
    assert_eq!(s.audit_job(&running).unwrap().finished_at, None, "not run here: another instance holds the lease");
    (h.raw)("UPDATE pf_console_jobs SET lease_owner = NULL, lease_until = NULL WHERE job_name = 'audit_verify'");
    let again = running;
    s.run_audit_job(&again, AuditJobKind::Verify, &AuditFilter::default(), &none, &audit("audit.verify")).unwrap();
    assert_eq!(s.audit_job(&again).unwrap().outcome.as_deref(), Some("ok"), "the lease was given back");
}

/// The pool page (this instance's samples and the database's view) and the
/// diagnostics page (versions, schema, settings as given, the jobs' last runs).
fn pool_and_diagnostics_pages(h: &Harness) {
    let s = h.s();
    let history = PoolHistory::default();
    let empty = s.pool_page(&history).unwrap();
    assert_eq!((empty.backend.as_str(), empty.samples, empty.now), (s.backend_name(), 0, None));
    assert!(empty.max >= empty.min && empty.max >= 1, "{empty:?}");
    assert_eq!(empty.database, s.database_view().unwrap(), "the database's own view");
    let sample = PoolSample { at_ms: 1_000, open: 2, active: 1, idle: 1, ..Default::default() };
    history.push(sample, Default::default());
    let page = s.pool_page(&history).unwrap();
    assert_eq!((page.samples, page.now), (1, Some(sample)));

    let settings = [Setting { name: "PF_POOL_MAX".into(), value: "8".into(), source: "environment".into() }];
    let d = s.diagnostics(&settings).unwrap();
    assert_eq!(d.settings, settings);
    assert_eq!((d.latest_schema, d.schema_version()), (VERSION, VERSION));
    assert_eq!(d.backend, s.backend_name());
    assert!(d.clock_difference_ms.abs() < 60_000, "the clocks agree: {} ms", d.clock_difference_ms);
    let job = |name: &str| d.jobs.iter().find(|j| j.name == name).unwrap_or_else(|| panic!("{name}: {:?}", d.jobs));
    assert_eq!(job("Optimizer statistics").finished_at, None, "not run yet");
    s.gather_statistics(RefreshWhen::Now, &audit("database.statistics")).unwrap();
    let d = s.diagnostics(&[]).unwrap();
    let ran = d.jobs.iter().find(|j| j.name == "Optimizer statistics").unwrap();
    assert_eq!((ran.finished_at, ran.status.as_deref()), (s.last_statistics().unwrap().finished_at, Some("ok")));
    let backup = d.jobs.iter().find(|j| j.name == "Backup").unwrap();
    let expected = if s.backend_name() == "oracle" { "taken by the platform" } else { "none yet" };
    assert!(backup.detail.starts_with(expected), "{backup:?}");
}
