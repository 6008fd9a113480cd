//! Backups of the embedded database: taken, verified, restored, scheduled and expired; on Oracle, the platform's.

use crate::common::audit;
use crate::{count, Harness};
use pathfinder::backup::{BackupKind, BackupSchedule};
use pathfinder::storage::{TableRows, Value};
use pathfinder::{AppError, Username};
use pathfinder_server::storage::backups::{read_manifest, verify_backup};

checks!(backups, a_backup_whose_process_ended_is_settled, a_signal_stops_a_backup_and_keeps_nothing_of_it);

/// Backups: the embedded database takes them (recorded, audited, verification
/// recorded); Oracle's platform takes its own, and the console says so.
fn backups(h: &Harness) {
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
    let made = s.create_backup(root.path(), BackupKind::Full, &audit("backup.create"), &|| true);
    if s.backend_name() == "oracle" {
        assert!(matches!(made, Err(AppError::Invalid(_))), "{made:?}");
        assert_eq!(
            s.scheduled_backup(&schedule, None, &audit("backup.create"), &|| true).unwrap(),
            None,
            "the platform's"
        );
        assert!(std::fs::read_dir(root.path()).unwrap().next().is_none(), "nothing written");
        let page = s.backups_page(5).unwrap();
        assert!(page.platform_takes_them && page.backups.is_empty(), "{page:?}");
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
    let inc = s.create_backup(root.path(), BackupKind::Incremental, &audit("backup.create"), &|| true).unwrap();
    assert_eq!((inc.kind.as_str(), inc.base_id.as_deref()), ("incremental", Some(b.backup_id.as_str())));
    let manifest = read_manifest(std::path::Path::new(&inc.location)).unwrap();
    let file = |name: &str| manifest.files.iter().find(|f| f.path == format!("user-tables/{name}.db")).unwrap();
    assert!(file("conf_inc_kept").in_base, "unchanged: the full backup's copy");
    assert!(!file("conf_inc_changed").in_base, "changed: copied again");
    assert!(!std::path::Path::new(&inc.location).join("user-tables/conf_inc_kept.db").exists());
    // Every file, from both folders, matches the manifest and passes the integrity
    // check; the schema matches the migrations and the chain is whole.
    let report = verify_backup(std::path::Path::new(&inc.location), None).unwrap();
    assert!(report.ok, "{}", report.note);
    assert!(
        report.note.contains("matches the migrations") && report.note.contains("audit chain whole"),
        "{}",
        report.note
    );
    assert!(inc.total_bytes.unwrap() < b.total_bytes.unwrap() + 4096 * 4, "{inc:?} / {b:?}");

    // The schedule: nothing due now; once both are older than the keeping time, a
    // new full backup (verified), and the old two expire, their folders removed.
    assert_eq!(s.scheduled_backup(&schedule, None, &audit("backup.create"), &|| true).unwrap(), None);
    (h.raw)(&format!("UPDATE pf_backups SET started_at = {}", h.long_ago));
    let fresh = s.scheduled_backup(&schedule, None, &audit("backup.create"), &|| true).unwrap().expect("a full backup");
    assert_eq!(fresh.kind.as_str(), "full");
    assert_eq!(fresh.verify_status.as_deref(), Some("ok"), "verified: {:?}", fresh.verify_note);
    assert!(fresh.verified_at.is_some() && fresh.verify_note.clone().unwrap().contains("matches the migrations"));
    let old: Vec<_> = s.backups(10).unwrap().into_iter().filter(|x| x.backup_id != fresh.backup_id).collect();
    assert!(old.iter().all(|x| x.status == "expired"), "{old:?}");
    assert!(old.iter().all(|x| !std::path::Path::new(&x.location).exists()));
    assert_eq!(count(s, "backup.expire"), 2);
    assert_eq!(s.scheduled_backup(&schedule, None, &audit("backup.create"), &|| true).unwrap(), None, "nothing due");

    // A copy whose schema drifted from the migrations (another tool dropped an
    // index) fails its verification and says so.
    (h.raw)("DROP INDEX idx_users_status_name");
    let drifted = s.create_backup(root.path(), BackupKind::Full, &audit("backup.create"), &|| true).unwrap();
    let report = verify_backup(std::path::Path::new(&drifted.location), None).unwrap();
    assert!(!report.ok && report.note.contains("schema differs from the migrations"), "{}", report.note);

    // The Backups page: the newest first, as many as asked, taken here.
    let page = s.backups_page(2).unwrap();
    assert!(!page.platform_takes_them);
    let ids: Vec<&str> = page.backups.iter().map(|b| b.backup_id.as_str()).collect();
    assert_eq!(ids, [drifted.backup_id.as_str(), fresh.backup_id.as_str()]);
}

/// A backup whose process ends midway (SIGKILL, or SIGTERM, whose default is the
/// same; here an abort after the main file's copy) leaves its row `running` and a
/// folder without a manifest. While its folder is being written nothing touches it;
/// an hour after the last write, the next backup (or scheduled round) marks it
/// failed, removes the half-made folder and audits the outcome its process never
/// wrote.
fn a_backup_whose_process_ended_is_settled(h: &Harness) {
    let s = h.storage.as_ref();
    if h.oracle {
        return; // the platform takes Oracle's backups (see `backups`)
    }
    let root = tempfile::tempdir().unwrap();
    let to = root.path().to_string_lossy().to_string();
    let out = (h.cli)(&["backup", "create", "--to", &to], &[("PF_TEST_CRASH_AT", "backup.main_copied".to_string())]);
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stopped = s.backups(1).unwrap().remove(0);
    let folder = std::path::PathBuf::from(&stopped.location);
    assert_eq!(stopped.status, "running");
    assert!(folder.join("pathfinder.db").exists() && !folder.join("manifest.json").exists());
    let outcomes = count(s, "backup.create");

    // Within a backup's time it may still be running: left alone.
    let next = s.create_backup(root.path(), BackupKind::Full, &audit("backup.create"), &|| true).unwrap();
    assert_eq!(next.status, "ok");
    assert!(folder.exists());
    assert_eq!(s.backups(5).unwrap().iter().find(|b| b.backup_id == stopped.backup_id).unwrap().status, "running");

    // An hour and more with nothing written: it has stopped.
    (h.raw)(&format!("UPDATE pf_backups SET started_at = {} WHERE backup_id = '{}'", h.long_ago, stopped.backup_id));
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let mut paths = vec![folder.clone(), folder.join("user-tables")];
    for dir in paths.clone() {
        paths.extend(std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()));
    }
    for p in &paths {
        std::fs::File::open(p).unwrap().set_modified(two_hours_ago).unwrap();
    }
    let later = s.create_backup(root.path(), BackupKind::Full, &audit("backup.create"), &|| true).unwrap();
    assert_eq!(later.status, "ok");
    let settled = s.backups(5).unwrap().into_iter().find(|b| b.backup_id == stopped.backup_id).unwrap();
    assert_eq!(settled.status, "failed");
    assert!(settled.error_text.as_deref().unwrap_or("").contains("stopped before it finished"), "{settled:?}");
    assert!(!folder.exists(), "the half-made folder is gone");
    assert!(std::path::Path::new(&next.location).join("manifest.json").exists(), "finished backups stay");
    // Its outcome, and the two backups' own.
    assert_eq!(count(s, "backup.create"), outcomes + 3);
    let report = s.verify_audit_chain(&crate::common::trust(None), &mut |_, _| true).unwrap();
    assert_eq!(report.problem, None);
}

/// SIGTERM during `backup create` (here sent by the command to itself once the main
/// file is copied) stops it before the next file: exit 130, the backup recorded as
/// failed with the reason, its outcome audited, its folder removed; the next backup
/// runs at once.
fn a_signal_stops_a_backup_and_keeps_nothing_of_it(h: &Harness) {
    let s = h.storage.as_ref();
    if h.oracle {
        return; // the platform takes Oracle's backups (see `backups`)
    }
    let root = tempfile::tempdir().unwrap();
    let to = root.path().to_string_lossy().to_string();
    let outcomes = count(s, "backup.create");
    let out = (h.cli)(&["backup", "create", "--to", &to], &[("PF_TEST_SIGNAL_AT", "backup.main_copied".to_string())]);
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("its folder removed"), "{out:?}");
    let stopped = s.backups(1).unwrap().remove(0);
    assert_eq!(stopped.status, "failed");
    assert!(stopped.error_text.as_deref().unwrap_or("").contains("stopped (a signal or a shutdown)"), "{stopped:?}");
    assert!(!std::path::Path::new(&stopped.location).exists(), "nothing of it is kept");
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    let row = s.recent_audit(5).unwrap().into_iter().find(|r| r.action == "backup.create").unwrap();
    assert_eq!((row.response_status, row.entity_id.as_deref()), (Some(409), Some(stopped.backup_id.as_str())));
    assert_eq!(count(s, "backup.create"), outcomes + 1);

    let out = (h.cli)(&["backup", "create", "--to", &to], &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(s.backups(1).unwrap().remove(0).status, "ok");
}
