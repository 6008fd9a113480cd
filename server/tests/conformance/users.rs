//! Users: create, conflicts, search and keyset pages, empty text, bulk changes, the user's page and deletion.

use crate::common::{add_user, audit, new_user};
use crate::sessions::success;
use crate::{count, Harness};
use pathfinder::dto::{BulkOutcome, Preferences};
use pathfinder::filter::{UserFilter, UserSort};
use pathfinder::flags::GroupEdit;
use pathfinder::storage::{
    AuditEntry, BulkChange, NewSession, NewUser, Storage, TableRows, Value, BULK_MAX, TABLES_DROP, USER_DELETE,
    USER_GROUP_BULK, USER_STATUS_BULK,
};
use pathfinder::{AppError, Role, SessionId, UserId, Username};
use std::collections::BTreeSet;

checks!(
    users_create_and_conflict,
    users_search_and_keyset_pages,
    null_creation_times_page,
    empty_text_is_stored_as_absent,
    bulk_changes_leave_the_caller_out,
    bulk_changes_past_the_limit_are_refused,
    user_page_and_deletion_with_tables
);

fn users_create_and_conflict(h: &Harness) {
    let s = h.s();
    let before = s.recent_audit(1000).unwrap().len();
    let u = new_user("conf_dup", "Dup", "Licate", "active", &[Role::Sre]);
    s.create_user(&u, &audit("user.create")).unwrap();
    assert_eq!(s.recent_audit(1000).unwrap().len(), before + 1, "one audit row per change");
    let profile = s.user_profile(&u.user_id).unwrap();
    assert_eq!(profile.summary.username, "conf_dup");
    assert_eq!(profile.roles, vec![Role::Sre]);

    let mut same_name = new_user("conf_dup", "Other", "Person", "active", &[]);
    same_name.email = "other@example.com".into();
    assert!(matches!(s.create_user(&same_name, &audit("user.create")), Err(AppError::Conflict(_))));
    let same_email = NewUser { username: Username::parse("conf_other").unwrap(), ..u.clone() };
    let same_email = NewUser { user_id: UserId::new(), ..same_email };
    assert!(matches!(s.create_user(&same_email, &audit("user.create")), Err(AppError::Conflict(_))));
    assert_eq!(s.recent_audit(1000).unwrap().len(), before + 1, "refused changes write no audit row");
    assert!(matches!(s.user_profile(&UserId::new()), Err(AppError::NotFound(_))));

    // Bad fields are refused alike by both backends, before the database sees them.
    for bad in [
        NewUser { email: "not an email".into(), ..new_user("conf_bad1", "B", "A", "active", &[]) },
        NewUser { first_name: Some("x".repeat(101)), ..new_user("conf_bad2", "B", "A", "active", &[]) },
        NewUser { account_status: "zombie".into(), ..new_user("conf_bad3", "B", "A", "active", &[]) },
    ] {
        assert!(matches!(s.create_user(&bad, &audit("user.create")), Err(AppError::Invalid(_))));
    }
    // Empty text is stored as absent, as Oracle does with ''.
    let blank = NewUser { first_name: Some("  ".into()), ..new_user("conf_blank", "B", "A", "active", &[]) };
    s.create_user(&blank, &audit("user.create")).unwrap();
    assert_eq!(s.user_profile(&blank.user_id).unwrap().summary.first_name, None);
    assert_eq!(s.recent_audit(1000).unwrap().len(), before + 2, "refused changes write no audit row");
}

fn all_pages(s: &dyn Storage, mut f: UserFilter) -> Vec<pathfinder::dto::UserSummary> {
    let mut got = Vec::new();
    loop {
        let page = s.search_users(&f).unwrap();
        assert!(page.items.len() <= f.page_size() as usize);
        got.extend(page.items);
        match page.next_cursor {
            Some(c) => f.after = Some(c),
            None => return got,
        }
    }
}

fn users_search_and_keyset_pages(h: &Harness) {
    let s = h.s();
    for i in 0..23 {
        let status = if i % 3 == 0 { "suspended" } else { "active" };
        add_user(s, &format!("page_{i:02}"), status, &[]);
    }
    // Non-ASCII emails and names: both backends fold case beyond ASCII alike.
    for (name, email, first) in [("page_u1", "ÉLODIE@Example.com", "Élodie"), ("page_u2", "zoë@example.com", "Zoë")]
    {
        let mut u = new_user(name, first, "Ünal", "active", &[]);
        u.email = email.into();
        s.create_user(&u, &audit("user.create")).unwrap();
    }
    let mut f = UserFilter::from_query("PAGE_", "", "", "username", "", "").unwrap();
    f.limit = 5;
    let seen: Vec<String> = all_pages(s, f).into_iter().map(|u| u.username).collect();
    let mut expected: Vec<String> = (0..23).map(|i| format!("page_{i:02}")).collect();
    expected.extend(["page_u1".to_string(), "page_u2".to_string()]);
    assert_eq!(seen, expected, "keyset pages cover every match once, in order");

    // Descending by email, and by creation time, both complete and ordered.
    for (sort, dir) in [("email", "desc"), ("email", "asc"), ("created_at", "asc"), ("created_at", "desc")] {
        let mut f = UserFilter::from_query("page_", "", "", sort, dir, "").unwrap();
        f.limit = 4;
        let got = all_pages(s, f);
        assert_eq!(got.len(), 25, "{sort} {dir}");
        let names: BTreeSet<_> = got.iter().map(|u| u.username.clone()).collect();
        assert_eq!(names.len(), 25, "no row twice ({sort} {dir})");
        if sort == "email" {
            let keys: Vec<String> = got.iter().map(|u| u.email.to_lowercase()).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if dir == "desc" {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "emails in Unicode lower-case order, {dir}");
        }
    }

    // Case-insensitive on every searched column; status filter; wildcards are literal.
    let count = |q: &str, status: &str| {
        s.search_users(&UserFilter::from_query(q, "", status, "", "", "").unwrap()).unwrap().items.len()
    };
    assert_eq!(count("LASTPAGE_07", ""), 1, "last name");
    assert_eq!(count("firstpage_07", ""), 1, "first name");
    assert_eq!(count("PAGE_07@EXAMPLE", ""), 1, "email");
    assert_eq!(count("page_", "suspended"), 8);
    assert_eq!(count("élodie@", ""), 1, "email, folded beyond ASCII");
    assert_eq!(count("ZOË", ""), 1, "first name, folded beyond ASCII");
    assert_eq!(count("ünal", ""), 2, "last name, folded beyond ASCII");
    assert_eq!(count("%", ""), 0, "a % in the search is a literal");
    assert_eq!(count("page\\_0", ""), 0, "a backslash is a literal too");
    let f = UserFilter { sort: UserSort::Username, ..UserFilter::from_query("page_1", "", "", "", "", "").unwrap() };
    assert_eq!(s.search_users(&f).unwrap().items.len(), 10);
}

/// The seed allows a NULL `pf_users.created_at`: such a user is listed in every
/// order, first by creation time, and pages step over it.
fn null_creation_times_page(h: &Harness) {
    let s = h.s();
    let t = |x: &str| Value::Text(x.to_string());
    let ghost = TableRows {
        table: "pf_users".into(),
        columns: &["user_id", "username", "email", "password_hash", "created_at"],
        rows: vec![vec![
            t("01JNULLCREATED000000000001"),
            t("nullcreated_ghost"),
            t("ghost@nullcreated.example"),
            t(crate::common::NO_LOGIN_HASH),
            Value::Null,
        ]],
    };
    s.insert_batch(&[ghost], &AuditEntry { entity_id: Some("ghost".into()), ..audit("data.import") }).unwrap();
    for n in 0..3 {
        add_user(s, &format!("nullcreated_{n}"), "active", &[]);
    }
    for (sort, dir) in [("created_at", "asc"), ("created_at", "desc"), ("username", "asc"), ("email", "desc")] {
        let mut f = UserFilter::from_query("nullcreated", "", "", sort, dir, "").unwrap();
        f.limit = 1;
        let got = all_pages(s, f);
        assert_eq!(got.len(), 4, "{sort} {dir}");
        if sort == "created_at" {
            let ghost_at = if dir == "asc" { 0 } else { 3 };
            assert_eq!(got[ghost_at].username, "nullcreated_ghost", "{sort} {dir}");
            assert_eq!(got[ghost_at].created_at, None);
        }
    }
    let status = UserFilter::from_query("nullcreated", "", "active", "created_at", "", "").unwrap();
    assert_eq!(s.search_users(&status).unwrap().items.len(), 4, "a NULL status counts as active");
}

/// `''` is NULL on Oracle; both backends store empty text as absent (an empty
/// User-Agent, an empty bulk field, an empty JSON document).
fn empty_text_is_stored_as_absent(h: &Harness) {
    let s = h.s();
    let entry = AuditEntry { user_agent: Some(String::new()), ip_address: Some(String::new()), ..audit("user.create") };
    s.create_user(&new_user("empty_ua", "E", "U", "active", &[]), &entry).unwrap();
    let row = s.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.user_agent, row.ip_address), (None, None));

    let id = add_user(s, "empty_session", "active", &[]);
    let now = chrono::Utc::now();
    let session = NewSession {
        session_id: SessionId::new(),
        user_id: id.clone(),
        token_hash: "e".repeat(64),
        created_at: now,
        expires_at: now + chrono::Duration::hours(1),
        ip_address: Some(String::new()),
        user_agent: Some(String::new()),
    };
    s.record_login_success(&session, &success("e"), &audit("login.success")).unwrap();
    let listed = s.list_sessions(&id).unwrap().remove(0);
    assert_eq!((listed.ip_address, listed.user_agent), (None, None));

    // An empty JSON document is no document: accepted (as NULL) by both.
    let prefs = TableRows {
        table: "pf_user_preferences".into(),
        columns: &["preference_id", "user_id", "ui_preferences", "privacy_settings"],
        rows: vec![vec![
            Value::Text("01JEMPTYPREFS0000000000001".into()),
            Value::Text(id.0.clone()),
            Value::Text(String::new()),
            Value::Text("{\"public\": false}".into()),
        ]],
    };
    s.insert_batch(&[prefs], &AuditEntry { entity_id: Some("prefs".into()), ..audit("data.import") }).unwrap();
    // Read back: the empty document is absent, the other kept as written.
    let stored = s.preferences(&id).unwrap();
    assert_eq!(stored.ui, None, "the empty document is no document");
    assert_eq!(stored.privacy.as_deref(), Some("{\"public\": false}"));
    let null = "SELECT COUNT(*) FROM pf_user_preferences WHERE preference_id = '01JEMPTYPREFS0000000000001' AND ui_preferences IS NULL";
    assert_eq!((h.raw_text)(null).as_deref(), Some("1"), "stored as NULL");
}

fn session_of(s: &dyn Storage, id: &UserId, token: &str) {
    let now = chrono::Utc::now();
    let session = NewSession {
        session_id: SessionId::new(),
        user_id: id.clone(),
        token_hash: token.repeat(64),
        created_at: now,
        expires_at: now + chrono::Duration::hours(1),
        ip_address: None,
        user_agent: None,
    };
    s.record_login_success(&session, &success(token), &audit("login.success")).unwrap();
}

/// A bulk change: previewed and applied to every user the filter matches but the
/// caller, each with an audit row of their own; a group that does not exist is
/// refused before anyone changes.
fn bulk_changes_leave_the_caller_out(h: &Harness) {
    let s = h.s();
    let admin = add_user(s, "bulkc_admin", "active", &[Role::Admin]);
    let members: BTreeSet<UserId> = (0..5).map(|i| add_user(s, &format!("bulkc_{i}"), "active", &[])).collect();
    add_user(s, "bystander", "active", &[]);
    let filter = UserFilter::from_query("bulkc_", "", "", "", "", "").unwrap();
    assert_eq!(s.bulk_preview(&filter, Some(&admin)).unwrap(), 5, "the caller is left out");
    assert_eq!(s.bulk_preview(&filter, None).unwrap(), 6);
    let by_admin = |action: &str| AuditEntry { actor: Some(admin.clone()), ..audit(action) };
    let status = |id: &UserId| s.user_profile(id).unwrap().summary.account_status;

    let suspend = BulkChange::Status("suspended".into());
    let done = s.bulk_apply(&filter, &suspend, true, &by_admin(USER_STATUS_BULK.name)).unwrap();
    assert_eq!(done, BulkOutcome { changed: 5, failed: 0 });
    assert!(members.iter().all(|id| status(id) == "suspended"));
    assert_eq!(status(&admin), "active", "the caller keeps their status");
    let rows: BTreeSet<UserId> = s
        .recent_audit(100)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == USER_STATUS_BULK.name)
        .map(|r| UserId(r.entity_id.expect("the user is the entity")))
        .collect();
    assert_eq!(rows, members, "one audit row per user changed");

    // A group that does not exist: refused before anyone changes.
    let before = s.recent_audit(1000).unwrap().len();
    let nowhere = BulkChange::Group(Some("no-such-group".into()));
    let refused = s.bulk_apply(&filter, &nowhere, true, &by_admin(USER_GROUP_BULK.name));
    assert!(matches!(refused, Err(AppError::Invalid(_))), "{refused:?}");
    assert_eq!(s.recent_audit(1000).unwrap().len(), before, "nothing written");

    let edit = GroupEdit { name: "bulkc_group".into(), description: String::new(), is_default: false, priority: 1 };
    let group = s.save_group(None, &edit, &audit("group.create")).unwrap();
    let join = BulkChange::Group(Some(group.group_id.clone()));
    assert_eq!(s.bulk_apply(&filter, &join, true, &by_admin(USER_GROUP_BULK.name)).unwrap().changed, 5);
    assert_eq!(s.group_size(&group.group_id).unwrap(), 5);
    assert_eq!(count(s, USER_GROUP_BULK.name), 5);

    // Ending sessions: every member's, and the caller's stays.
    for (i, id) in members.iter().chain([&admin]).enumerate() {
        session_of(s, id, &format!("{}", i + 1));
    }
    let revoke = s.bulk_apply(&filter, &BulkChange::RevokeSessions, true, &by_admin("session.revoke_many")).unwrap();
    assert_eq!(revoke, BulkOutcome { changed: 5, failed: 0 });
    let active = |id: &UserId| s.list_sessions(id).unwrap().iter().filter(|x| x.is_active).count();
    assert!(members.iter().all(|id| active(id) == 0), "their sessions ended");
    assert_eq!(active(&admin), 1, "the caller's session stays");
}

/// Past [`BULK_MAX`] matches, a bulk change is refused (narrow the filter), and
/// nothing changes.
fn bulk_changes_past_the_limit_are_refused(h: &Harness) {
    let s = h.s();
    let t = |x: String| Value::Text(x);
    let rows = (0..=BULK_MAX)
        .map(|i| {
            vec![
                t(format!("01JBULKMAX{i:016}")),
                t(format!("bulkmax_{i:05}")),
                t(format!("bulkmax_{i:05}@example.com")),
                t(crate::common::NO_LOGIN_HASH.into()),
                t("active".into()),
            ]
        })
        .collect();
    let users = TableRows {
        table: "pf_users".into(),
        columns: &["user_id", "username", "email", "password_hash", "account_status"],
        rows,
    };
    s.insert_batch(&[users], &audit("data.import")).unwrap();
    let all = UserFilter::from_query("bulkmax_", "", "", "", "", "").unwrap();
    let refused = s.bulk_preview(&all, None);
    assert!(matches!(&refused, Err(AppError::Invalid(m)) if m.contains("narrow")), "{refused:?}");
    let before = s.recent_audit(10).unwrap();
    let refused = s.bulk_apply(&all, &BulkChange::Status("suspended".into()), true, &audit(USER_STATUS_BULK.name));
    assert!(matches!(refused, Err(AppError::Invalid(_))), "{refused:?}");
    assert_eq!(s.recent_audit(10).unwrap(), before, "nothing written");
    let suspended = UserFilter::from_query("bulkmax_", "", "suspended", "", "", "").unwrap();
    assert!(s.search_users(&suspended).unwrap().items.is_empty(), "nobody changed");
    // One fewer is within the limit.
    let fewer = UserFilter::from_query("bulkmax_0", "", "", "", "", "").unwrap();
    assert_eq!(s.bulk_preview(&fewer, None).unwrap(), BULK_MAX);
}

/// A user's page gathers their profile, preferences and links; deleting them from
/// it needs their username typed, and takes their table set first.
fn user_page_and_deletion_with_tables(h: &Harness) {
    let s = h.s();
    let id = add_user(s, "page_owner", "active", &[]);
    let prefs = Preferences { ui: Some("{\"theme\":\"dark\"}".into()), ..Default::default() };
    s.set_preferences(&id, &prefs, &audit("user.preferences")).unwrap();
    let page = s.user_page(&id).unwrap();
    assert_eq!(page.profile, s.user_profile(&id).unwrap());
    assert_eq!(page.preferences.ui.as_deref(), Some("{\"theme\":\"dark\"}"));
    assert!(page.sso_links.is_empty());
    assert!(matches!(s.user_page(&UserId::new()), Err(AppError::NotFound(_))));

    let owner = Username::parse("page_owner").unwrap();
    s.provision_user_tables(&owner, &audit("user_tables.provision")).unwrap();
    let before = s.recent_audit(1000).unwrap().len();
    for typed in ["", "page_owne", "someone_else"] {
        let refused = s.delete_user_and_tables(&id, typed, &audit(USER_DELETE.name));
        assert!(matches!(&refused, Err(AppError::Invalid(m)) if m.contains("page_owner")), "{refused:?}");
    }
    assert_eq!(s.recent_audit(1000).unwrap().len(), before, "a refused deletion writes nothing");
    assert!(s.user_table_set(&owner).unwrap().is_some(), "the tables stay");

    s.delete_user_and_tables(&id, " page_owner ", &audit(USER_DELETE.name)).unwrap();
    assert!(matches!(s.user_profile(&id), Err(AppError::NotFound(_))));
    assert!(s.user_table_set(&owner).unwrap().is_none(), "the tables went first");
    assert_eq!(count(s, TABLES_DROP.name), 1);
    assert_eq!(count(s, USER_DELETE.name), 1);
}
