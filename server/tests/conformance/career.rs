//! A person's career data: pages of each per-user table, self-written text hidden
//! until revealed, and each reveal audited in the read's own transaction.

use crate::common::{add_user, audit};
use crate::Harness;
use pathfinder::career::{CareerCell, CareerCursor, CareerQuery, CareerSection, CAREER_PAGE};
use pathfinder::storage::{AuditEntry, Storage, TableRows, Value};
use pathfinder::{AppError, UserId, Username};

checks! {
    career_data_comes_in_keyset_pages_with_what_people_wrote_hidden,
    a_reveal_writes_its_audit_row_with_the_read_or_shows_nothing,
}

/// A user with a ready table set holding 30 experiences (their descriptions
/// written by them), two conversations and 40 messages in the first.
fn person_with_career(s: &dyn Storage, name: &str) -> UserId {
    let id = add_user(s, name, "active", &[]);
    let owner = Username::parse(name).unwrap();
    s.provision_user_tables(&owner, &audit("user_tables.provision")).unwrap();
    let t = |x: String| Value::Text(x);
    let day = |n: u32| Value::Date(chrono::NaiveDate::from_ymd_opt(2000 + n as i32 / 12, 1 + n % 12, 1).unwrap());
    let at = |n: i64| Value::Time(chrono::DateTime::from_timestamp(1_700_000_000 + n * 60, 0).unwrap());
    let mut experiences = TableRows::new(
        format!("pf_user_{name}_experiences"),
        &["id", "title", "company", "start_date", "description", "key_achievements"],
    );
    for i in 0..30u32 {
        // Two experiences start on each day: the id breaks the tie.
        let description = format!("I led audit {i} and wrote this myself");
        experiences.push(vec![
            t(format!("e{i:02}")),
            t(format!("Role {i}")),
            t("KPMG".into()),
            day(i / 2),
            t(description),
            Value::Null,
        ]);
    }
    let mut conversations =
        TableRows::new(format!("pf_user_{name}_chat_conversations"), &["id", "title", "updated_at"]);
    conversations.push(vec![t("c1".into()), t("My career plans".into()), at(1)]);
    conversations.push(vec![t("c2".into()), t("Second thoughts".into()), at(2)]);
    let mut messages = TableRows::new(
        format!("pf_user_{name}_chat_messages"),
        &["id", "conversation_id", "role", "content", "created_at"],
    );
    for i in 0..40i64 {
        messages.push(vec![
            t(format!("m{i:02}")),
            t("c1".into()),
            t("user".into()),
            t(format!("message {i}")),
            at(100 + i / 4),
        ]);
    }
    s.fill_user_tables(&owner, &[experiences, conversations, messages], &audit("user_tables.fill")).unwrap();
    id
}

fn career_data_comes_in_keyset_pages_with_what_people_wrote_hidden(h: &Harness) {
    let s = h.s();
    let ann = person_with_career(s, "conf_career_ann");
    let query =
        |section: &str, conversation: &str, after: &str| CareerQuery::from_query(section, conversation, after).unwrap();

    // Experiences, newest start first (then id), 25 a page, each row once.
    let first = s.career_page(&ann, &query("experiences", "", "")).unwrap().unwrap();
    assert_eq!((first.total, first.rows.len()), (30, CAREER_PAGE as usize));
    let after = first.next.clone().expect("a second page");
    let second = s.career_page(&ann, &query("experiences", "", &after)).unwrap().unwrap();
    assert_eq!(second.rows.len(), 5);
    assert!(second.next.is_none());
    let ids: Vec<String> = first.rows.iter().chain(&second.rows).map(|r| r.id.clone()).collect();
    let mut expected: Vec<String> = (0..30).map(|i| format!("e{i:02}")).collect();
    expected.reverse();
    assert_eq!(ids, expected, "newest start first, the id breaking ties, no row twice");
    // The description is hidden (its length shown); nothing written is empty.
    let columns = CareerSection::Experiences.columns();
    let at = |name: &str| columns.iter().position(|c| c.name == name).unwrap();
    let row = &first.rows[0];
    assert_eq!(row.cells[at("title")], CareerCell::Shown("Role 29".into()));
    assert_eq!(row.cells[at("start_date")], CareerCell::Shown("2001-03-01".into()));
    assert_eq!(
        row.cells[at("description")],
        CareerCell::Hidden { chars: "I led audit 29 and wrote this myself".len() }
    );
    assert_eq!(row.cells[at("key_achievements")], CareerCell::Empty);
    assert!(!format!("{first:?}").contains("wrote this myself"), "no hidden text leaves storage");

    // Messages: one conversation at a time, from its first, the others' never.
    assert!(CareerQuery::from_query("chat_messages", "", "").is_err(), "a conversation is needed");
    let m = s.career_page(&ann, &query("chat_messages", "c1", "")).unwrap().unwrap();
    assert_eq!((m.total, m.rows[0].id.as_str()), (40, "m00"));
    let rest = s.career_page(&ann, &query("chat_messages", "c1", &m.next.clone().unwrap())).unwrap().unwrap();
    assert_eq!(rest.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().len(), 15);
    assert_eq!(rest.rows.last().unwrap().id, "m39");
    assert_eq!(s.career_page(&ann, &query("chat_messages", "c2", "")).unwrap().unwrap().total, 0);
    let conversations = s.career_page(&ann, &query("chat_conversations", "", "")).unwrap().unwrap();
    assert_eq!(conversations.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["c2", "c1"], "newest first");

    // Every section reads, empty ones too.
    for section in CareerSection::ALL {
        let conversation = if section == CareerSection::Messages { "c1" } else { "" };
        assert!(s.career_page(&ann, &query(section.table(), conversation, "")).unwrap().is_some(), "{section:?}");
    }
    // No set, no page; a cursor of another shape is refused.
    let bob = add_user(s, "conf_career_bob", "active", &[]);
    assert_eq!(s.career_page(&bob, &query("experiences", "", "")).unwrap(), None);
    assert!(CareerQuery::from_query("experiences", "", "zz").is_err());
    assert!(CareerQuery::from_query("pf_users", "", "").is_err(), "only the sections' tables");
    let broken_key = CareerCursor { key: "not a date".into(), id: "e01".into() }.encode();
    let refused = s.career_page(&ann, &query("experiences", "", &broken_key));
    assert!(matches!(refused, Err(AppError::Invalid(_))), "{refused:?}");
}

fn a_reveal_writes_its_audit_row_with_the_read_or_shows_nothing(h: &Harness) {
    let s = h.s();
    let ann = person_with_career(s, "conf_reveal_ann");
    let reader = add_user(s, "conf_reveal_admin", "active", &[]);
    let row = AuditEntry {
        actor: Some(reader.clone()),
        entity_id: Some(ann.0.clone()),
        detail: Some("chat_messages row m07: the person asked for a copy".into()),
        ..audit("read.user.career.reveal")
    };
    let before = s.recent_audit(100_000).unwrap().len();
    let shown = s.reveal_career_text(&ann, CareerSection::Messages, "m07", &row).unwrap();
    assert_eq!(shown.fields, vec![("Content".to_string(), Some("message 7".to_string()))]);
    let written = s.recent_audit(1).unwrap().remove(0);
    assert_eq!(written.action, "read.user.career.reveal");
    assert_eq!(
        (written.user_id.as_deref(), written.entity_id.as_deref()),
        (Some(reader.0.as_str()), Some(ann.0.as_str()))
    );
    assert_eq!(written.detail, row.detail);
    let experience = s.reveal_career_text(&ann, CareerSection::Experiences, "e03", &row).unwrap();
    assert_eq!(
        experience.fields[0],
        ("Description".to_string(), Some("I led audit 3 and wrote this myself".to_string()))
    );
    assert_eq!(experience.fields[1], ("Achievements".to_string(), None));
    assert_eq!(s.recent_audit(100_000).unwrap().len(), before + 2);

    // No such row, a section with nothing hidden, no set: refused, nothing written.
    assert!(matches!(s.reveal_career_text(&ann, CareerSection::Messages, "nope", &row), Err(AppError::NotFound(_))));
    assert!(matches!(s.reveal_career_text(&ann, CareerSection::Skills, "s1", &row), Err(AppError::Invalid(_))));
    let bob = add_user(s, "conf_reveal_bob", "active", &[]);
    assert!(s.reveal_career_text(&bob, CareerSection::Messages, "m07", &row).is_err());
    // An audit row that cannot be written: the text is not shown.
    let broken = AuditEntry { action: String::new(), ..row.clone() };
    assert!(s.reveal_career_text(&ann, CareerSection::Messages, "m07", &broken).is_err(), "no row, no text");
    assert_eq!(s.recent_audit(100_000).unwrap().len(), before + 3, "only the user bob's creation was written since");
}
