//! Field encryption's keys: sensitive fields revealed (audited) and rotation runs.

use crate::harness::*;

/// Sensitive fields in the clear go to administrators only, and each read is an
/// audit row naming who read whose fields; the key inventory to admins and compliance.
#[tokio::test]
async fn sensitive_fields_are_revealed_to_admins_only_and_every_read_is_audited() {
    let c = Console::new();
    let admin = c.token("root").await;
    let root = c.storage.user_id_by_username(&Username::parse("root").unwrap()).unwrap().unwrap();
    let pat = common::add_user(c.storage.as_ref(), "pat", "active", &[]);
    let reads = || c.actions().iter().filter(|a| *a == "read.user.sensitive").count();

    let set = format!("user_id={pat}&phone_number=%2B1+555+0177&date_of_birth=1991-04-05&gender=&nationality=Dutch");
    let r = c.post("/api/set_sensitive", Some(&admin), &set).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.storage.recent_audit(1).unwrap()[0].action, "user.sensitive.update");

    // The user page says which fields are stored, never their values.
    let page = c.send(Method::GET, &format!("/users/{pat}"), Some(&admin), None, "").await;
    assert!(page.body.contains("phone number, date of birth, nationality"), "{}", page.body);
    assert!(!page.body.contains("0177") && !page.body.contains("Dutch"));

    for who in ["sre_sam", "comp_cy"] {
        let token = c.token(who).await;
        let r = c.post("/api/reveal_sensitive", Some(&token), &format!("user_id={pat}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
        assert!(!r.body.contains("0177") && !r.body.contains("Dutch"), "{who}: {}", r.body);
    }
    let anon = c.post("/api/reveal_sensitive", None, &format!("user_id={pat}")).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reads(), 0, "refused reads read nothing");

    let r = c.post("/api/reveal_sensitive", Some(&admin), &format!("user_id={pat}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let got: SensitiveFields = serde_json::from_str(&r.body).unwrap();
    assert_eq!(got.phone_number.as_deref(), Some("+1 555 0177"));
    assert_eq!((got.date_of_birth.as_deref(), got.nationality.as_deref()), (Some("1991-04-05"), Some("Dutch")));
    assert_eq!(reads(), 1);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "read.user.sensitive");
    assert_eq!((row.user_id.as_deref(), row.entity_id.as_deref()), (Some(root.as_str()), Some(pat.as_str())));
    c.post("/api/reveal_sensitive", Some(&admin), &format!("user_id={pat}")).await;
    assert_eq!(reads(), 2, "every read, not only the first");

    // Bad input: a clear error, nothing changed.
    let r = c
        .post(
            "/api/set_sensitive",
            Some(&admin),
            &format!("user_id={pat}&phone_number=call+me&date_of_birth=&gender=&nationality="),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("phone number"), "{}", r.body);

    // Rotation from the console; the inventory for admins and compliance reviewers.
    let r = c.post("/api/rotate_user_key", Some(&admin), &format!("user_id={pat}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.storage.key_of(&pat, 90).unwrap().unwrap().rotation_count, 1);
    let comp = c.token("comp_cy").await;
    let inv = c.post("/api/key_inventory", Some(&comp), "after=").await;
    assert_eq!(inv.status, StatusCode::OK);
    assert!(inv.body.contains("\"username\":\"pat\"") && !inv.body.contains("key_encrypted"), "{}", inv.body);
    assert_eq!(
        c.post("/api/rotate_user_key", Some(&comp), &format!("user_id={pat}")).await.status,
        StatusCode::FORBIDDEN
    );

    // Deleting: the username typed again, never oneself; the key is destroyed with the user.
    let r = c.post("/api/delete_user", Some(&admin), &format!("user_id={pat}&confirm=pa")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.post("/api/delete_user", Some(&admin), &format!("user_id={root}&confirm=root")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.post("/api/delete_user", Some(&admin), &format!("user_id={pat}&confirm=pat")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(c.storage.key_of(&pat, 90).unwrap().is_none());
    assert_eq!(c.storage.recent_audit(1).unwrap()[0].action, "user.delete");
}

/// An administrator starts a rotation of every overdue key from the Keys page; it
/// runs in the background, one key per transaction, and the page shows how it ended.
#[tokio::test]
async fn an_admin_rotates_the_overdue_keys_in_the_background() {
    let c = Console::new();
    let admin = c.token("root").await;
    let fields = SensitiveFields { phone_number: Some("+1 555 0100".into()), ..Default::default() };
    let ids: Vec<UserId> = (0..5)
        .map(|i| {
            let id = common::add_user(c.storage.as_ref(), &format!("old_{i}"), "active", &[]);
            c.storage.set_sensitive_fields(&id, &fields, &common::audit("user.sensitive.update")).unwrap();
            id
        })
        .collect();
    let r = c.post("/api/start_key_rotation", Some(&admin), "scope=overdue").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("nothing to rotate"), "{}", r.body);
    let r = c.post("/api/start_key_rotation", Some(&admin), "scope=some").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let page = c.send(Method::GET, "/keys", Some(&admin), None, "").await;
    assert!(page.body.contains("Rotate all 5 keys") && !page.body.contains("overdue keys"), "{}", page.body);
    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    db.execute("UPDATE pf_encryption_keys SET created_at = '2000-01-01 00:00:00.000000'", []).unwrap();
    // The page's counts are the overview job's: stale until it counts again.
    let page = c.send(Method::GET, "/keys", Some(&admin), None, "").await;
    assert!(page.body.contains("keys-counted") && !page.body.contains("Rotate the 5 overdue keys"), "{}", page.body);
    let policy = pathfinder::storage::KeyPolicy { rotation_days: 90 };
    let db_handle = pathfinder::db::Db::new(c.storage.clone());
    pathfinder_server::jobs::overview::refresh(&db_handle, &c.overview, policy).await.unwrap();
    let page = c.send(Method::GET, "/keys", Some(&admin), None, "").await;
    assert!(page.body.contains("Rotate the 5 overdue keys"), "{}", page.body);

    let sre = c.token("sre_sam").await;
    assert_eq!(c.post("/api/start_key_rotation", Some(&sre), "scope=all").await.status, StatusCode::FORBIDDEN);
    let r = c.post("/api/start_key_rotation", Some(&admin), "scope=overdue").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Rotating 5 overdue keys"), "{}", r.body);
    let mut waited = 0;
    while c.storage.key_inventory(90, None, 1).unwrap().rotation_job.finished_at.is_none() {
        waited += 1;
        assert!(waited < 200, "the run finishes within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let inv = c.storage.key_inventory(90, None, 10).unwrap();
    assert_eq!((c.storage.key_counts(90).unwrap().overdue, inv.rotation_job.status.as_deref()), (0, Some("ok")));
    assert!(ids.iter().all(|id| c.storage.key_of(id, 90).unwrap().unwrap().rotation_count == 1));
    let actions = c.actions();
    assert_eq!(actions.iter().filter(|a| *a == "key.rotate").count(), 5);
    assert!(
        actions.contains(&"key.rotation_run.begin".to_string()) && actions.contains(&"key.rotation_run".to_string())
    );
    let root = c.storage.user_id_by_username(&Username::parse("root").unwrap()).unwrap().unwrap();
    let row = c.storage.recent_audit(100).unwrap().into_iter().find(|a| a.action == "key.rotate").unwrap();
    assert_eq!(row.user_id.as_deref(), Some(root.as_str()), "each rotation names who started the run");
    let page = c.send(Method::GET, "/keys", Some(&admin), None, "").await;
    assert!(page.body.contains("last run") && page.body.contains("(ok,"), "{}", page.body);

    // Every key, none of them due.
    let finished = inv.rotation_job.finished_at;
    let r = c.post("/api/start_key_rotation", Some(&admin), "scope=all").await;
    assert!(r.body.contains("Rotating 5 keys"), "{}", r.body);
    let mut waited = 0;
    while c.storage.key_inventory(90, None, 1).unwrap().rotation_job.finished_at == finished {
        waited += 1;
        assert!(waited < 200, "the run finishes within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ids.iter().all(|id| c.storage.key_of(id, 90).unwrap().unwrap().rotation_count == 2));
}
