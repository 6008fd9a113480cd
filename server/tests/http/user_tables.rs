//! A user's SSO links and per-user table set, from their page.

use crate::harness::*;

/// From a user's page: SSO links listed without tokens, made primary, unlinked;
/// the table set provisioned and dropped (the username typed again), all audited.
#[tokio::test]
async fn admins_manage_sso_links_and_table_sets_from_the_console() {
    let c = Console::new();
    let token = c.token("root").await;
    let id = common::add_user(c.storage.as_ref(), "linked_lee", "active", &[]);
    for (n, provider) in [(1, "google"), (2, "github")] {
        sqlite_exec(
            &c,
            &format!(
                "INSERT INTO pf_sso_accounts (sso_account_id, user_id, provider, provider_user_id, email, is_primary)
                 VALUES ('SSO{n}', '{}', '{provider}', 'p-{n}', 'lee@{provider}.example', '{}')",
                id.0,
                if n == 1 { "Y" } else { "N" }
            ),
        );
    }
    c.storage.set_sso_tokens("SSO1", Some("secret-access-token"), None, &common::audit("sso.tokens")).unwrap();
    let detail = c.post("/api/user_detail", Some(&token), &format!("user_id={}", id.0)).await;
    assert!(
        detail.body.contains("\"provider\":\"github\"") && !detail.body.contains("secret-access-token"),
        "{}",
        detail.body
    );
    let body = |sso: &str| format!("user_id={}&sso_account_id={sso}", id.0);
    assert_eq!(c.post("/api/set_primary_sso", Some(&token), &body("SSO2")).await.status, StatusCode::OK);
    let links = c.storage.sso_links(&id).unwrap();
    assert_eq!((links[0].sso_account_id.as_str(), links[0].is_primary, links[1].is_primary), ("SSO2", true, false));
    assert_eq!(c.post("/api/unlink_sso", Some(&token), &body("SSO1")).await.status, StatusCode::OK);
    assert_eq!(c.storage.sso_links(&id).unwrap().len(), 1);
    assert_eq!(c.post("/api/unlink_sso", Some(&token), &body("SSO1")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.actions()[0..2], ["user.sso.unlink", "user.sso.primary"]);

    let r = c.post("/api/provision_user_tables", Some(&token), &format!("user_id={}", id.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let owner = Username::parse("linked_lee").unwrap();
    assert!(c.storage.user_table_set(&owner).unwrap().is_some());
    let wrong = c.post("/api/drop_user_tables", Some(&token), &format!("user_id={}&confirm=someone", id.0)).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(c.storage.user_table_set(&owner).unwrap().is_some(), "nothing dropped");
    let r = c.post("/api/drop_user_tables", Some(&token), &format!("user_id={}&confirm=linked_lee", id.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(c.storage.user_table_set(&owner).unwrap().is_none());
}
