//! A person's career data on its page: sections in pages, what they wrote hidden,
//! revealed by an administrator with a reason (audited with the read).

use crate::harness::*;
use pathfinder::storage::{TableRows, Value};

/// An administrator reads a person's experiences (the description hidden, in the
/// page and in the answer), reveals one with a reason (refused without one), and
/// the reveal's row holds the reason; SREs and compliance reviewers get neither.
#[tokio::test]
async fn admins_read_career_data_and_reveal_what_people_wrote_with_a_reason() {
    let c = Console::new();
    let admin = c.token("root").await;
    let s = c.storage.as_ref();
    let ada = common::add_user(s, "ada_career", "active", &[]);
    let owner = pathfinder::Username::parse("ada_career").unwrap();
    s.provision_user_tables(&owner, &common::audit("user_tables.provision")).unwrap();
    let t = |x: &str| Value::Text(x.into());
    let day = Value::Date(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
    let mut experiences =
        TableRows::new("pf_user_ada_career_experiences", &["id", "title", "company", "start_date", "description"]);
    experiences.push(vec![t("e1"), t("Controller"), t("Shopify"), day, t("Closed the books in three days")]);
    s.fill_user_tables(&owner, &[experiences], &common::audit("user_tables.fill")).unwrap();

    let page = c.send(Method::GET, &format!("/users/{}/career", ada.0), Some(&admin), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Controller") && page.body.contains("hidden (30 characters)"), "{}", page.body);
    assert!(!page.body.contains("Closed the books"), "hidden text stays hidden");
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.entity_id.as_deref()), ("read.user.career", Some(ada.0.as_str())));
    assert_eq!(row.detail.as_deref(), Some("experiences; 1 returned"));

    let reveal = |reason: &str| format!("user_id={}&section=experiences&row_id=e1&reason={reason}", ada.0);
    let refused = c.post("/api/reveal_career", Some(&admin), &reveal("")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(!refused.body.contains("Closed the books"));
    let shown = c.post("/api/reveal_career", Some(&admin), &reveal("subject+access+request+42")).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.body.contains("Closed the books in three days"), "{}", shown.body);
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "read.user.career.reveal");
    assert_eq!(row.detail.as_deref(), Some("experiences row e1: subject access request 42"));
    assert_eq!(row.user_id, Some(c.user_id("root").0));

    for who in ["sre_sam", "comp_cy"] {
        let token = c.token(who).await;
        let r = c.post("/api/reveal_career", Some(&token), &reveal("curious")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
        let r = c.send(Method::GET, &format!("/users/{}/career", ada.0), Some(&token), None, "").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
    }
}
