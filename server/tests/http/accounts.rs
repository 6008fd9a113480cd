//! Console accounts: roles granted and taken away, never one's own.

use crate::harness::*;

/// Admins grant and take away console roles (audited before and after), never
/// their own; granting admin needs a fresh sign-in; taking every role away ends the
/// sessions; the console accounts page lists the holders.
#[tokio::test]
async fn admins_grant_and_revoke_console_roles_never_their_own() {
    let c = Console::new();
    let token = c.token("root").await;
    let root = c.user_id("root");
    let product = common::add_user(c.storage.as_ref(), "product_pat", "active", &[]);
    sqlite_exec(&c, &format!("UPDATE pf_users SET password_hash = '{}' WHERE user_id = '{}'", *HASH, product.0));
    assert_eq!(c.login("product_pat", PASSWORD).await.headers[header::LOCATION], "/login?error=credentials");

    let set = |who: &UserId, roles: &str| format!("user_id={}{roles}", who.0);
    let r = c.post("/api/set_console_roles", Some(&token), &set(&product, "&sre=on&compliance=on")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "user.roles");
    assert_eq!(c.storage.user_profile(&product).unwrap().roles, vec![Role::Compliance, Role::Sre]);
    let pat = c.token("product_pat").await;
    assert_eq!(c.post("/api/overview", Some(&pat), "").await.status, StatusCode::OK, "a console account now");

    let own = c.post("/api/set_console_roles", Some(&token), &set(&root, "")).await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST, "{}", own.body);
    sqlite_exec(&c, "UPDATE pf_user_sessions SET confirmed_at = '2000-01-01 00:00:00.000000'");
    let stale = c.post("/api/set_console_roles", Some(&token), &set(&product, "&admin=on")).await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST, "granting admin needs a fresh sign-in: {}", stale.body);
    let r = c.post("/api/set_console_roles", Some(&token), &set(&product, "&sre=on")).await;
    assert_eq!(r.status, StatusCode::OK, "other changes do not: {}", r.body);

    let accounts: Vec<pathfinder::dto::ConsoleAccount> =
        serde_json::from_str(&c.post("/api/console_accounts", Some(&token), "").await.body).unwrap();
    let names: Vec<(&str, Vec<Role>)> = accounts.iter().map(|a| (a.username.as_str(), a.roles.clone())).collect();
    assert!(
        names.contains(&("product_pat", vec![Role::Sre])) && names.contains(&("root", vec![Role::Admin])),
        "{names:?}"
    );

    let r = c.post("/api/set_console_roles", Some(&token), &set(&product, "")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.post("/api/overview", Some(&pat), "").await.status, StatusCode::UNAUTHORIZED, "their sessions ended");
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert!(row.action == "user.roles");
}
