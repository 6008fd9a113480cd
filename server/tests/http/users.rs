//! Users: create, status, profile and preferences, bulk changes, exports.

use crate::harness::*;

/// Admins create a user (validated, audited; no password that signs in) and a soft
/// delete (status `deleted`) ends the user's sessions at once.
#[tokio::test]
async fn admins_create_users_and_a_soft_delete_ends_their_sessions() {
    let c = Console::new();
    let token = c.token("root").await;
    let form = |name: &str, email: &str| {
        format!("username={name}&email={email}&first_name=Ada&last_name=Lovelace&account_status=pending")
    };
    let r = c.post("/api/create_user", Some(&token), &form("new_ada", "ada%40example.com")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = c.user_id("new_ada");
    assert!(r.body.contains(&id.0), "{}", r.body);
    let profile = c.storage.user_profile(&id).unwrap();
    assert_eq!(
        (profile.summary.account_status.as_str(), profile.summary.first_name.as_deref()),
        ("pending", Some("Ada"))
    );
    assert_eq!(c.actions()[0], "user.create");
    for (name, email) in
        [("Bad Name", "x%40example.com"), ("new_ada", "other%40example.com"), ("new_bob", "not-an-email")]
    {
        let r = c.post("/api/create_user", Some(&token), &form(name, email)).await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::CONFLICT,
            "{name}: {} {}",
            r.status,
            r.body
        );
    }

    // A hard delete takes the user's table set with them (its own audited steps first).
    let r = c.post("/api/provision_user_tables", Some(&token), &format!("user_id={}", id.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = c.post("/api/delete_user", Some(&token), &format!("user_id={}&confirm=new_ada", id.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.actions()[0..2], ["user.delete", "user_tables.drop"]);
    assert!(c.storage.user_table_set(&Username::parse("new_ada").unwrap()).unwrap().is_none());

    let sre = c.token("sre_sam").await;
    let sam = c.user_id("sre_sam");
    let r = c.post("/api/set_user_status", Some(&token), &format!("user_id={}&status=deleted", sam.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ended = c.storage.list_sessions(&sam).unwrap().remove(0);
    assert_eq!((ended.is_active, ended.end_reason.as_deref()), (false, Some("account deleted")));
    assert_eq!(c.post("/api/overview", Some(&sre), "").await.status, StatusCode::UNAUTHORIZED);
}

/// Admins edit a user's profile and preferences; bad values are refused with a
/// sentence and change nothing; the audit rows say before -> after.
#[tokio::test]
async fn admins_edit_profiles_and_preferences_with_before_and_after() {
    let c = Console::new();
    let token = c.token("root").await;
    let id = common::add_user(c.storage.as_ref(), "edit_eve", "active", &[]);
    let body = |email: &str, title: &str| {
        format!(
            "user_id={}&edit[email]={email}&edit[first_name]=Eve&edit[last_name]=&edit[timezone]=Europe%2FParis\
             &edit[language]=fr&edit[current_title]={title}&edit[current_company]=",
            id.0
        )
    };
    let r = c.post("/api/update_profile", Some(&token), &body("eve%40example.org", "Engineer")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = c.storage.user_profile(&id).unwrap();
    assert_eq!(
        (p.summary.email.as_str(), p.timezone.as_deref(), p.current_title.as_deref()),
        ("eve@example.org", Some("Europe/Paris"), Some("Engineer"))
    );
    let said: String = rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .query_row("SELECT error_message FROM pf_audit_log WHERE action = 'user.update'", [], |r| r.get(0))
        .unwrap();
    assert!(
        said.contains("email: edit_eve@Example.com -> eve@example.org") && said.contains("title: none -> Engineer"),
        "{said}"
    );
    let bad = c.post("/api/update_profile", Some(&token), &body("not-an-email", "X")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(c.storage.user_profile(&id).unwrap().current_title.as_deref(), Some("Engineer"), "nothing changed");

    let prefs = |ui: &str| {
        format!(
            "user_id={}&prefs[notification]=&prefs[privacy]=%7B%22public%22%3Afalse%7D&prefs[ui]={ui}\
             &prefs[communication]=&prefs[feature]=",
            id.0
        )
    };
    let r = c.post("/api/set_preferences", Some(&token), &prefs("%7B%22theme%22%3A+%22dark%22%7D")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stored = c.storage.preferences(&id).unwrap();
    assert_eq!(
        (stored.ui.as_deref(), stored.privacy.as_deref()),
        (Some(r#"{"theme":"dark"}"#), Some(r#"{"public":false}"#))
    );
    for bad in ["%5B1%2C2%5D", "%7Bnot+json"] {
        let r = c.post("/api/set_preferences", Some(&token), &prefs(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    assert_eq!(c.storage.preferences(&id).unwrap(), stored, "nothing changed");
    assert_eq!(c.actions()[0], "user.preferences");
}

/// A bulk action on the users filter: a preview count, then each matching user
/// changed in their own transaction with their own audit row; never the caller.
#[tokio::test]
async fn bulk_actions_change_everyone_the_filter_matches() {
    let c = Console::new();
    let token = c.token("root").await;
    for i in 0..7 {
        common::add_user(c.storage.as_ref(), &format!("bulk_b{i}"), "active", &[]);
    }
    common::add_user(c.storage.as_ref(), "other_one", "active", &[]);
    let filter = "q=bulk_b&mode=prefix&status=active";
    assert_eq!(c.post("/api/bulk_preview", Some(&token), filter).await.body, "7");
    let before = c.actions().len();
    let r = c.post("/api/bulk_apply", Some(&token), &format!("{filter}&action=status&value=suspended")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, r#"{"changed":7,"failed":0}"#);
    assert_eq!(c.actions().len(), before + 7, "one audit row per user");
    assert_eq!(c.post("/api/bulk_preview", Some(&token), filter).await.body, "0");
    let other = c.user_id("other_one");
    assert_eq!(c.storage.user_profile(&other).unwrap().summary.account_status, "active", "outside the filter");
    let bad = c.post("/api/bulk_apply", Some(&token), &format!("{filter}&action=status&value=frozen")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Everyone active, the caller too: their sessions end, the caller's stays.
    let others = [c.token("sre_sam").await, c.token("comp_cy").await];
    for t in &others {
        assert_eq!(c.post("/api/overview", Some(t), "").await.status, StatusCode::OK);
    }
    let active = c.storage.users_by_status().unwrap().into_iter().find(|s| s.status == "active").unwrap().count;
    let all = "q=&mode=&status=active&action=revoke_sessions&value=";
    let r = c.post("/api/bulk_apply", Some(&token), all).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, format!(r#"{{"changed":{},"failed":0}}"#, active - 1), "everyone active but the caller");
    for t in &others {
        assert_eq!(c.post("/api/overview", Some(t), "").await.status, StatusCode::UNAUTHORIZED, "their session ended");
    }
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::OK, "the caller's session stays");

    // Groups: everyone the filter matches into one, then one user out again on their
    // page, and a user created in one; an unknown group is a 400 that changes nothing.
    sqlite_exec(
        &c,
        "INSERT INTO pf_user_groups (group_id, group_name, priority) VALUES
         ('01JGROUPBETA00000000000000', 'beta', 1), ('01JGROUPSTAFF0000000000000', 'staff', 2)",
    );
    let groups = c.post("/api/flag_groups", Some(&token), "").await;
    assert_eq!(groups.status, StatusCode::OK);
    assert!(groups.body.find("staff") < groups.body.find("beta"), "by priority: {}", groups.body);
    let filter = "q=bulk_b&mode=prefix&status=suspended";
    let before = c.actions().len();
    let bad = c.post("/api/bulk_apply", Some(&token), &format!("{filter}&action=group&value=01JNOSUCH")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(c.actions().len(), before);
    let r = c
        .post("/api/bulk_apply", Some(&token), &format!("{filter}&action=group&value=01JGROUPBETA00000000000000"))
        .await;
    assert_eq!(r.body, r#"{"changed":7,"failed":0}"#);
    assert_eq!(c.actions()[..7], ["user.group.bulk"; 7]);
    let b0 = c.user_id("bulk_b0");
    assert_eq!(c.storage.user_profile(&b0).unwrap().group.unwrap().group_name, "beta");
    assert_eq!(c.storage.user_profile(&other).unwrap().group, None, "outside the filter");
    let moved = c.post("/api/set_user_group", Some(&token), &format!("user_id={b0}&group_id=")).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(c.storage.user_profile(&b0).unwrap().group, None);
    assert_eq!(c.actions()[0], "user.group");
    let made = c
        .post(
            "/api/create_user",
            Some(&token),
            "username=grouped_gil&email=gil%40example.com&first_name=Gil&last_name=G&account_status=active&group_id=01JGROUPSTAFF0000000000000",
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let gil = c.user_id("grouped_gil");
    assert_eq!(c.storage.user_profile(&gil).unwrap().group.unwrap().group_name, "staff");
    let sre = c.token("sre_sam").await;
    assert_eq!(
        c.post("/api/set_user_group", Some(&sre), &format!("user_id={gil}&group_id=")).await.status,
        StatusCode::FORBIDDEN
    );
}

/// The filtered users list streams as CSV (formulas kept as text) or NDJSON, for
/// admins, audited.
#[tokio::test]
async fn the_users_list_exports_as_csv_and_ndjson() {
    let c = Console::new();
    let token = c.token("root").await;
    for i in 0..450 {
        common::add_user(c.storage.as_ref(), &format!("exp_{i:03}"), "active", &[]);
    }
    sqlite_exec(&c, "UPDATE pf_users SET first_name = '=HYPERLINK(\"x\")' WHERE username = 'exp_007'");
    let csv = c.send(Method::GET, "/export/users?q=exp_&match=prefix&format=csv", Some(&token), None, "").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 451, "a header and every user across three pages");
    assert!(lines[0].starts_with("user_id,username,email"));
    assert!(csv.body.contains("'=HYPERLINK"), "a formula is kept as text");
    let nd = c.send(Method::GET, "/export/users?q=exp_&match=prefix&format=ndjson", Some(&token), None, "").await;
    let rows: Vec<serde_json::Value> = nd.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 450);
    assert_eq!(rows[0]["username"], "exp_000");
    assert_eq!(c.actions()[0], "users.export");
    let sre = c.token("sre_sam").await;
    assert_eq!(
        c.send(Method::GET, "/export/users?format=csv", Some(&sre), None, "").await.status,
        StatusCode::FORBIDDEN
    );
    let bad = c.send(Method::GET, "/export/users?format=xlsx", Some(&token), None, "").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_admin_changes_a_status_with_its_audit_row() {
    let c = Console::new();
    let token = c.token("root").await;
    let root = c.storage.user_id_by_username(&Username::parse("root").unwrap()).unwrap().unwrap();
    let pat = common::add_user(c.storage.as_ref(), "pat", "active", &[]);
    let status_of = |id: &UserId| c.storage.user_profile(id).unwrap().summary.account_status;

    let r = c.post("/api/set_user_status", Some(&token), &format!("user_id={pat}&status=suspended")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(status_of(&pat), "suspended");
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "user.status.suspended");
    assert_eq!((row.user_id.as_deref(), row.entity_id.as_deref()), (Some(root.as_str()), Some(pat.as_str())));
    assert_eq!(row.request_path.as_deref(), Some("/api/set_user_status"));

    // Bad input: a clear error, nothing changed, nothing audited.
    let before = c.actions().len();
    for (body, says) in [
        (format!("user_id={pat}&status=frozen"), "Unknown account status"),
        (format!("user_id={root}&status=suspended"), "your own account"),
        ("user_id=01HZZZZZZZZZZZZZZZZZZZZZZZ&status=active".to_string(), "NotFound"),
    ] {
        let r = c.post("/api/set_user_status", Some(&token), &body).await;
        assert!(r.status.is_client_error(), "{body}: {}", r.status);
        assert!(r.body.to_lowercase().contains(&says.to_lowercase()), "{body}: {}", r.body);
    }
    assert_eq!(status_of(&pat), "suspended");
    assert_eq!(status_of(&root), "active");
    assert_eq!(c.actions().len(), before);
}

/// Reading a person is audited before the data leaves: the user's page and the
/// search each write their read row (who, whom or which filter, how many rows,
/// the request); when the row cannot be written the answer is a 503 with a
/// reference and none of the person's data, the page included.
#[tokio::test]
async fn reads_of_people_are_audited_and_fail_closed() {
    let c = Console::new();
    let token = c.token("root").await;
    let root = c.user_id("root");
    let ada = common::add_user(c.storage.as_ref(), "ada_read", "active", &[]);
    let r = c.post("/api/user_detail", Some(&token), &format!("user_id={}", ada.0)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("ada_read@"), "{}", r.body);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "read.user");
    assert_eq!((row.entity_type.as_deref(), row.entity_id.as_deref()), (Some("user"), Some(ada.0.as_str())));
    assert_eq!(
        (row.user_id.as_deref(), row.request_path.as_deref()),
        (Some(root.0.as_str()), Some("/api/user_detail"))
    );
    assert_eq!(row.detail.as_deref(), Some("1 returned"));

    let r = c.post("/api/users", Some(&token), "q=ada_&mode=prefix&status=&sort=&dir=&after=").await;
    assert_eq!(r.status, StatusCode::OK);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(
        (row.action.as_str(), row.entity_type.as_deref(), row.entity_id.as_deref()),
        ("read.users", Some("users"), None)
    );
    assert_eq!(row.detail.as_deref(), Some("prefix \"ada_\", by username; 1 returned"));

    // The log refuses reads' rows (as a full disk or a lost database would).
    sqlite_exec(
        &c,
        "CREATE TRIGGER refuse_reads BEFORE INSERT ON pf_audit_log WHEN NEW.action LIKE 'read.%'
         BEGIN SELECT RAISE(ABORT, 'the log is full'); END;",
    );
    let before = c.storage.recent_audit(100_000).unwrap().len();
    let r = c.post("/api/user_detail", Some(&token), &format!("user_id={}", ada.0)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.contains("Unavailable") && !r.body.contains("ada_read@"), "a reference, no data: {}", r.body);
    let r = c.post("/api/users", Some(&token), "q=ada_&mode=prefix&status=&sort=&dir=&after=").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(!r.body.contains("ada_read"), "{}", r.body);
    let page = c.send(Method::GET, &format!("/users/{}", ada.0), Some(&token), None, "").await;
    assert!(!page.body.contains("ada_read@"), "the page shows none of it: {}", page.body);
    assert_eq!(c.storage.recent_audit(100_000).unwrap().len(), before, "nothing was written");
    sqlite_exec(&c, "DROP TRIGGER refuse_reads");
}

/// A user's page loads each of its sections once, each listed once in the visit's
/// row of that person, however the render walks its sections (leptos' `Suspense`
/// walks them twice on the server, and made each section's resource twice: 1.96
/// loads a visit at full size).
#[tokio::test]
async fn a_users_page_reads_each_section_once() {
    let c = Console::new();
    let token = c.token("root").await;
    let bo = common::add_user(c.storage.as_ref(), "bo_read_once", "active", &[]);
    let path = format!("/users/{}", bo.0);
    for visit in 1..=5 {
        let page = c.send(Method::GET, &path, Some(&token), None, "").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("bo_read_once"), "{}", page.body);
        let reads: Vec<pathfinder::audit::AuditRow> = c
            .storage
            .recent_audit(1_000)
            .unwrap()
            .into_iter()
            .filter(|r| r.request_path.as_deref() == Some(path.as_str()) && r.request_method.as_deref() == Some("GET"))
            .collect();
        // A visit: one row for the person (what of theirs was read) and the
        // timeline's search of the log.
        let of_bo: Vec<&pathfinder::audit::AuditRow> =
            reads.iter().filter(|r| r.entity_id.as_deref() == Some(bo.0.as_str())).collect();
        assert_eq!(of_bo.len(), visit, "one row for the person a visit: {reads:?}");
        assert_eq!(reads.len(), 2 * visit, "and the timeline's search: {reads:?}");
        let newest = of_bo[0];
        assert_eq!(newest.action, "read.user");
        let said = newest.detail.as_deref().unwrap_or_default();
        let sections: Vec<&str> = said.split(" | ").map(|part| part.split(':').next().unwrap_or_default()).collect();
        let mut once = sections.clone();
        once.sort();
        once.dedup();
        assert!(once.len() >= 5, "the profile and its sections: {said}");
        assert_eq!(sections.len(), once.len(), "each read once a visit: {said}");
    }
}
