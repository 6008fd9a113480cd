//! The Backups page.

use crate::harness::*;

#[tokio::test]
async fn the_backups_page_lists_each_backup_with_its_age_size_and_verification() {
    let c = Console::new();
    let sre = c.token("sre_sam").await;
    let page = c.send(Method::GET, "/backups", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No backup yet"), "{}", page.body);
    let root = tempfile::tempdir().unwrap();
    let s = c.storage.as_ref();
    let b = pathfinder::storage::BackupStore::create_backup(
        s,
        root.path(),
        pathfinder::backup::BackupKind::Full,
        &common::audit("backup.create"),
        &|| true,
    )
    .unwrap();
    let page = c.send(Method::GET, "/backups", Some(&sre), None, "").await;
    for text in ["data-test-id=\"backup-row\"", "not verified yet", "0 min", "KiB", b.location.as_str()] {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    pathfinder::storage::BackupStore::record_backup_verification(
        s,
        &b.backup_id,
        true,
        "checked",
        &common::audit("backup.verify"),
    )
    .unwrap();
    let page = c.send(Method::GET, "/backups", Some(&sre), None, "").await;
    assert!(page.body.contains("ok ("), "{}", page.body);
    let comp = c.token("comp_cy").await;
    assert_eq!(c.send(Method::GET, "/backups", Some(&comp), None, "").await.status, StatusCode::FORBIDDEN);
}
