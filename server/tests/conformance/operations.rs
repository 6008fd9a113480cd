//! Operations for SREs: storage samples (what they measure, their schedule, lease,
//! retention and audit rows), the optimizer statistics' gathering, and the last
//! chain verification the alerts read.

use super::{audit, count, Harness};
use pathfinder::audit::{AuditFilter, AuditJobKind};
use pathfinder::backup::{BackupKind, BackupSchedule};
use pathfinder::storage::{RefreshWhen, Storage, TableRows, Value};
use pathfinder::usage::StoragePolicy;
use pathfinder::{AppError, Username};
use pathfinder_server::storage::backup::{read_manifest, verify_backup};

pub fn storage_samples(h: &Harness) {
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

pub fn statistics_and_verification(s: &dyn Storage) {
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
    s.run_audit_job(&id, AuditJobKind::Verify, &AuditFilter::default(), None, &audit("audit.verify")).unwrap();
    let last = s.last_chain_verify().unwrap().expect("a finished verification");
    assert_eq!((last.id.as_str(), last.outcome.as_deref()), (id.as_str(), Some("ok")));

    // The schedule counts that one; once it is older than the period, one instance
    // verifies again, audited like the page's.
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(s.scheduled_chain_verify(hour, None, &audit("audit.verify")).unwrap(), None, "not due");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let begins = count(s, "audit.verify.begin");
    let soon = std::time::Duration::from_millis(10);
    let job = s.scheduled_chain_verify(soon, None, &audit("audit.verify")).unwrap().expect("due");
    assert_eq!(job.outcome.as_deref(), Some("ok"));
    assert_eq!(count(s, "audit.verify.begin"), begins + 1);
    assert_eq!(s.last_chain_verify().unwrap().map(|j| j.id), Some(job.id));
}

/// Backups: the embedded database takes them (recorded, audited, verification
/// recorded); Oracle's platform takes its own, and the console says so.
pub fn backups(h: &Harness) {
    let s = h.storage.as_ref();
    let root = tempfile::tempdir().unwrap();
    let schedule = BackupSchedule {
        root: root.path().to_path_buf(),
        full_every: std::time::Duration::from_secs(24 * 3600),
        incremental_every: std::time::Duration::from_secs(4 * 3600),
        keep_days: 30,
    };
    let (kept, changed) = (Username::parse("conf_inc_kept").unwrap(), Username::parse("conf_inc_changed").unwrap());
    for u in [&kept, &changed] {
        s.provision_user_tables(u, &audit("user_tables.provision")).unwrap();
    }
    let made = s.create_backup(root.path(), BackupKind::Full, &audit("backup.create"));
    if s.backend_name() == "oracle" {
        assert!(matches!(made, Err(AppError::Invalid(_))), "{made:?}");
        assert_eq!(s.scheduled_backup(&schedule, None, &audit("backup.create")).unwrap(), None, "the platform's");
        assert!(std::fs::read_dir(root.path()).unwrap().next().is_none(), "nothing written");
        return;
    }
    let b = made.unwrap();
    assert_eq!((b.status.as_str(), b.kind.as_str()), ("ok", "full"));
    assert!(b.total_bytes.unwrap() > 0 && b.file_count.unwrap() >= 1 && b.chain_seq.is_some());
    assert!(std::path::Path::new(&b.location).join("manifest.json").exists());
    assert_eq!(s.backups(10).unwrap().first().map(|x| x.backup_id.clone()), Some(b.backup_id.clone()));
    assert_eq!((count(s, "backup.create.begin"), count(s, "backup.create")), (1, 1));
    s.record_backup_verification(&b.backup_id, true, "checked", &audit("backup.verify")).unwrap();
    let v = s.backups(1).unwrap().remove(0);
    assert_eq!((v.verify_status.as_deref(), v.verify_note.as_deref()), (Some("ok"), Some("checked")));
    assert!(v.verified_at.is_some());

    // An incremental backup copies the sets changed since the full one, and names
    // the full backup's copies of the others; it verifies from both folders.
    let rows = TableRows {
        table: "pf_user_conf_inc_changed_skills".into(),
        columns: &["id", "skill_name"],
        rows: vec![vec![Value::Text("s1".into()), Value::Text("IFRS".into())]],
    };
    s.fill_user_tables(&changed, &[rows], &audit("user_tables.fill")).unwrap();
    let inc = s.create_backup(root.path(), BackupKind::Incremental, &audit("backup.create")).unwrap();
    assert_eq!((inc.kind.as_str(), inc.base_id.as_deref()), ("incremental", Some(b.backup_id.as_str())));
    let manifest = read_manifest(std::path::Path::new(&inc.location)).unwrap();
    let file = |name: &str| manifest.files.iter().find(|f| f.path == format!("user-tables/{name}.db")).unwrap();
    assert!(file("conf_inc_kept").in_base, "unchanged: the full backup's copy");
    assert!(!file("conf_inc_changed").in_base, "changed: copied again");
    assert!(!std::path::Path::new(&inc.location).join("user-tables/conf_inc_kept.db").exists());
    // Every file, from both folders, matches the manifest and passes the integrity
    // check; the schema is this database's, which an earlier check left drifted.
    let report = verify_backup(std::path::Path::new(&inc.location), None).unwrap();
    assert!(report.note.contains("The copy's schema differs from the migrations"), "{}", report.note);
    assert!(inc.total_bytes.unwrap() < b.total_bytes.unwrap() + 4096 * 4, "{inc:?} / {b:?}");

    // The schedule: nothing due now; once both are older than the keeping time, a
    // new full backup (verified), and the old two expire, their folders removed.
    assert_eq!(s.scheduled_backup(&schedule, None, &audit("backup.create")).unwrap(), None);
    (h.raw)(&format!("UPDATE pf_backups SET started_at = {}", h.long_ago));
    let fresh = s.scheduled_backup(&schedule, None, &audit("backup.create")).unwrap().expect("a full backup");
    assert_eq!(fresh.kind.as_str(), "full");
    assert!(fresh.verified_at.is_some() && fresh.verify_note.unwrap().contains("schema differs"), "verified, as above");
    let old: Vec<_> = s.backups(10).unwrap().into_iter().filter(|x| x.backup_id != fresh.backup_id).collect();
    assert!(old.iter().all(|x| x.status == "expired"), "{old:?}");
    assert!(old.iter().all(|x| !std::path::Path::new(&x.location).exists()));
    assert_eq!(count(s, "backup.expire"), 2);
    assert_eq!(s.scheduled_backup(&schedule, None, &audit("backup.create")).unwrap(), None, "nothing due");
}
