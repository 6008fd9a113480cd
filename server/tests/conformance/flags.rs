//! Feature flags: validation, the resolution order with every source, expiry at its
//! instant, membership changes, cascades on delete, and history rows.

use crate::common::{add_user, audit, new_user};
use crate::{count, Harness};
use chrono::{TimeDelta, Utc};
use pathfinder::dto::Page;
use pathfinder::flags::{FlagEdit, FlagQuery, GroupEdit, Override, OverrideEdit, OverrideFilter, Source, Target};
use pathfinder::storage::NewUser;
use pathfinder::storage::Storage;
use pathfinder::{AppError, UserId};
use serde_json::json;

checks!(
    flags_groups_overrides_and_evaluation,
    users_join_groups,
    flag_lists_filter_and_sort_in_one_place,
    flag_and_group_pages
);

fn flag_edit(key: &str, t: &str, default: &str, allowed: &str) -> FlagEdit {
    FlagEdit {
        key: key.into(),
        name: format!("Flag {key}"),
        flag_type: t.into(),
        default_value: default.into(),
        allowed_values: allowed.into(),
        ..Default::default()
    }
}

fn over(value: &str) -> OverrideEdit {
    OverrideEdit { value: value.into(), reason: "conformance".into(), expires_at: None }
}

/// The newest audit row of `action`: its entity id and its message as JSON.
fn last(s: &dyn Storage, action: &str) -> (Option<String>, serde_json::Value) {
    let row = s.recent_audit(200).unwrap().into_iter().find(|r| r.action == action).expect("an audit row");
    let message = row.detail.as_deref().map(|m| serde_json::from_str(m).unwrap()).unwrap_or_default();
    (row.entity_id, message)
}

fn invalid<T>(r: Result<T, AppError>) -> bool {
    matches!(r, Err(AppError::Invalid(_)))
}

fn flags_groups_overrides_and_evaluation(h: &Harness) {
    let s = h.s();
    // Flags: the key rule, types, allowed values, a default among them.
    assert!(invalid(s.create_flag(&flag_edit("Bad Key", "boolean", "false", ""), &audit("flag.create"))));
    assert!(invalid(s.create_flag(&flag_edit("conf.x", "colour", "red", ""), &audit("flag.create"))));
    assert!(invalid(s.create_flag(&flag_edit("conf.x", "boolean", "maybe", ""), &audit("flag.create"))));
    let refused = s.create_flag(&flag_edit("conf.x", "string", "blue", "[\"red\", \"green\"]"), &audit("flag.create"));
    assert!(matches!(&refused, Err(AppError::Invalid(m)) if m.contains("allowed values")), "{refused:?}");
    assert!(
        s.flags(&FlagQuery::from_query("conf.", "", "", "").unwrap()).unwrap().is_empty(),
        "nothing refused was written"
    );

    let colour = s
        .create_flag(&flag_edit("conf.colour", "string", "red", "[\"red\", \"green\"]"), &audit("flag.create"))
        .unwrap();
    let (entity, said) = last(s, "flag.create");
    assert_eq!(entity.as_deref(), Some(colour.flag_id.as_str()), "history is found by the flag's id");
    assert_eq!(said["before"], json!(null));
    assert_eq!(said["after"]["default"], json!("red"));
    let dup = s.create_flag(&flag_edit("conf.colour", "string", "red", ""), &audit("flag.create"));
    assert!(matches!(dup, Err(AppError::Conflict(_))), "{dup:?}");
    s.create_flag(&flag_edit("conf.beta", "boolean", "false", ""), &audit("flag.create")).unwrap();
    s.create_flag(&flag_edit("conf.limits", "json", "{\"max\": 5}", ""), &audit("flag.create")).unwrap();

    // Groups: one default at most; priority decides between the user's group and it.
    let group = |name: &str, default: bool, priority: i64| GroupEdit {
        name: name.into(),
        description: String::new(),
        is_default: default,
        priority,
    };
    let everyone = s.save_group(None, &group("conf_everyone", true, 0), &audit("group.create")).unwrap();
    let testers = s.save_group(None, &group("conf_testers", false, 10), &audit("group.create")).unwrap();
    let other = s.save_group(None, &group("conf_other", true, 0), &audit("group.create")).unwrap();
    assert!(!s.group(&everyone.group_id).unwrap().is_default, "the default moved to conf_other");
    let gave_up = s.recent_audit(200).unwrap().into_iter().find(|r| r.entity_id.as_deref() == Some(&everyone.group_id));
    let said: serde_json::Value = serde_json::from_str(gave_up.unwrap().detail.as_deref().unwrap()).unwrap();
    assert_eq!((said["before"]["default"].clone(), said["after"]["default"].clone()), (json!(true), json!(false)));
    s.save_group(Some(&everyone.group_id), &group("conf_everyone", true, 0), &audit("group.update")).unwrap();
    assert!(!s.group(&other.group_id).unwrap().is_default);
    let (_, said) = last(s, "group.update");
    assert_eq!((said["before"]["default"].clone(), said["after"]["default"].clone()), (json!(false), json!(true)));
    let taken = s.save_group(None, &group("conf_testers", false, 0), &audit("group.create"));
    assert!(matches!(taken, Err(AppError::Conflict(_))), "{taken:?}");

    let alice = add_user(s, "flag_alice", "active", &[]);
    s.set_user_group(&alice, Some(&testers.group_id), &audit("user.group")).unwrap();
    let now = Utc::now();
    let eval = |now| s.evaluate("conf.colour", Some("flag_alice"), now).unwrap();

    // Every source in turn, from the default up.
    assert_eq!((eval(now).value, eval(now).source), (json!("red"), Source::Default));
    let d = s.set_override(
        "conf.colour",
        &Target::Group(everyone.group_id.clone()),
        &over("green"),
        &audit("flag.override.set"),
    );
    d.unwrap();
    assert!(matches!(eval(now).source, Source::DefaultGroup { ref group, .. } if group == "conf_everyone"));
    s.set_override("conf.colour", &Target::Group(testers.group_id.clone()), &over("red"), &audit("flag.override.set"))
        .unwrap();
    assert!(matches!(eval(now).source, Source::Group { ref group, .. } if group == "conf_testers"));
    s.save_group(Some(&everyone.group_id), &group("conf_everyone", true, 20), &audit("group.update")).unwrap();
    assert!(matches!(eval(now).source, Source::DefaultGroup { .. }), "a default group of higher priority wins");
    s.save_group(Some(&everyone.group_id), &group("conf_everyone", true, 0), &audit("group.update")).unwrap();
    let expires = now + TimeDelta::hours(1);
    let mine = OverrideEdit { expires_at: Some(expires), ..over("green") };
    let set = s.set_override("conf.colour", &Target::User("flag_alice".into()), &mine, &audit("flag.override.set"));
    let mine = set.unwrap();
    assert!(matches!(eval(now).source, Source::User { .. }));
    assert_eq!(eval(now).value, json!("green"));
    // Set again: replaced, not doubled; the audit row has before and after.
    let again = OverrideEdit { expires_at: Some(expires), ..over("red") };
    s.set_override("conf.colour", &Target::User(alice.0.clone()), &again, &audit("flag.override.set")).unwrap();
    assert_eq!(s.override_count("conf.colour").unwrap(), 3);
    let (entity, said) = last(s, "flag.override.set");
    assert_eq!(entity.as_deref(), Some(colour.flag_id.as_str()));
    assert_eq!((said["before"]["value"].clone(), said["after"]["value"].clone()), (json!("green"), json!("red")));

    // Expiry: it applies up to the instant, not at it; then the job removes it once.
    let just_before = expires - TimeDelta::microseconds(1);
    assert!(matches!(eval(just_before).source, Source::User { .. }));
    assert!(matches!(eval(expires).source, Source::Group { .. }), "ignored from the instant it expires");
    assert_eq!(s.expire_overrides(just_before, 100, &audit("flag.override.expired")).unwrap(), 0);
    assert_eq!(s.expire_overrides(expires, 100, &audit("flag.override.expired")).unwrap(), 1);
    assert_eq!(s.expire_overrides(expires, 100, &audit("flag.override.expired")).unwrap(), 0);
    let (entity, said) = last(s, "flag.override.expired");
    assert_eq!(entity.as_deref(), Some(colour.flag_id.as_str()));
    assert_eq!(said["before"]["override_id"], json!(mine.override_id));
    assert_eq!(said["after"], json!(null));

    // Membership: leaving the group leaves the default group's value.
    s.set_user_group(&alice, None, &audit("user.group")).unwrap();
    assert!(matches!(eval(now).source, Source::DefaultGroup { .. }));
    // A member of the default group itself: its override is her group's (the more specific).
    s.set_user_group(&alice, Some(&everyone.group_id), &audit("user.group")).unwrap();
    assert!(matches!(eval(now).source, Source::Group { ref group, .. } if group == "conf_everyone"));
    let colour_of_all = |who| s.evaluate_all(who, now).unwrap().into_iter().find(|e| e.key == "conf.colour").unwrap();
    assert_eq!(colour_of_all(Some("flag_alice")), eval(now), "the whole set says what the one flag says");
    assert!(matches!(colour_of_all(None).source, Source::DefaultGroup { .. }), "nobody has the default group's value");
    s.set_user_group(&alice, None, &audit("user.group")).unwrap();
    // Unknown users evaluate as nobody; unknown flags are not found.
    assert!(matches!(s.evaluate("conf.colour", Some("nobody_here"), now).unwrap().source, Source::DefaultGroup { .. }));
    assert!(matches!(s.evaluate("conf.nothing", None, now), Err(AppError::NotFound(_))));
    let all = s.evaluate_all(Some("flag_alice"), now).unwrap();
    let keys: Vec<&str> = all.iter().map(|e| e.key.as_str()).filter(|k| k.starts_with("conf.")).collect();
    assert_eq!(keys, ["conf.beta", "conf.colour", "conf.limits"]);
    assert_eq!(all.iter().find(|e| e.key == "conf.limits").unwrap().value, json!({"max": 5}));

    // Values are checked like defaults; a reason is required; an expiry lies ahead.
    let user = Target::User("flag_alice".into());
    assert!(invalid(s.set_override("conf.colour", &user, &over("blue"), &audit("flag.override.set"))));
    assert!(invalid(s.set_override("conf.beta", &user, &over("yes"), &audit("flag.override.set"))));
    let no_reason = OverrideEdit { reason: " ".into(), ..over("true") };
    assert!(invalid(s.set_override("conf.beta", &user, &no_reason, &audit("flag.override.set"))));
    let past = OverrideEdit { expires_at: Some(now - TimeDelta::seconds(1)), ..over("true") };
    assert!(invalid(s.set_override("conf.beta", &user, &past, &audit("flag.override.set"))));
    assert!(invalid(s.set_override("conf.beta", &Target::User("nobody_here".into()), &over("true"), &audit("x"))));

    // A flag's edit may not strand its overrides; its key never changes.
    let narrower = flag_edit("conf.colour", "string", "red", "[\"red\"]");
    let stranded = s.update_flag("conf.colour", &narrower, &audit("flag.update"));
    assert!(matches!(&stranded, Err(AppError::Invalid(m)) if m.contains("override")), "{stranded:?}");
    let renamed = s.update_flag("conf.colour", &flag_edit("conf.color", "string", "red", ""), &audit("flag.update"));
    assert!(invalid(renamed));
    let wider = FlagEdit { description: "Wider".into(), ..flag_edit("conf.colour", "string", "green", "") };
    s.update_flag("conf.colour", &wider, &audit("flag.update")).unwrap();
    let (_, said) = last(s, "flag.update");
    assert_eq!((said["before"]["default"].clone(), said["after"]["default"].clone()), (json!("red"), json!("green")));

    // A flag's overrides page: by holders, state and one holder; keyset pages.
    add_user(s, "flag_bob", "active", &[]);
    let soon = now + TimeDelta::hours(1);
    let alices = s.set_override("conf.colour", &user, &over("green"), &audit("flag.override.set")).unwrap();
    let bobs = OverrideEdit { expires_at: Some(soon), ..over("red") };
    let bobs = s.set_override("conf.colour", &Target::User("flag_bob".into()), &bobs, &audit("x")).unwrap();
    let names = |holders: &str, state: &str, holder: &str, at| {
        let filter = OverrideFilter::from_query(holders, state, holder, "").unwrap();
        let page: Page<Override> = s.overrides_of_flag("conf.colour", &filter, at, 10).unwrap();
        assert_eq!(page.next_cursor, None);
        page.items.into_iter().map(|o| o.target_name).collect::<Vec<_>>()
    };
    assert_eq!(names("", "", "", now), ["conf_everyone", "conf_testers", "flag_alice", "flag_bob"]);
    assert_eq!(names("users", "", "", now), ["flag_alice", "flag_bob"]);
    assert_eq!(names("groups", "", "", now), ["conf_everyone", "conf_testers"]);
    assert_eq!(names("", "expired", "", now), Vec::<String>::new());
    assert_eq!(names("", "expired", "", soon), ["flag_bob"], "expired from the instant, until the job runs");
    assert_eq!(names("users", "active", "", soon), ["flag_alice"]);
    assert_eq!(names("", "", "flag_bob", now), ["flag_bob"]);
    assert_eq!(names("", "", "conf_testers", now), ["conf_testers"]);
    assert_eq!(names("groups", "", "flag_bob", now), Vec::<String>::new());
    assert!(invalid(OverrideFilter::from_query("robots", "", "", "")));
    let unknown = OverrideFilter::from_query("", "", "nobody_here", "").unwrap();
    assert!(invalid(s.overrides_of_flag("conf.colour", &unknown, now, 10)));
    let mut seen = Vec::new();
    let mut filter = OverrideFilter::default();
    loop {
        let page = s.overrides_of_flag("conf.colour", &filter, now, 1).unwrap();
        seen.extend(page.items.into_iter().map(|o| o.target_name));
        match page.next_cursor {
            Some(after) => filter.after = Some(after),
            None => break,
        }
    }
    assert_eq!(seen, names("", "", "", now), "pages of one hold every override once, in order");
    // Who holds what: a user's and a group's own overrides.
    let held = s.overrides_held(&Target::User(alice.0.clone())).unwrap();
    assert_eq!(held.iter().map(|o| o.flag_key.as_str()).collect::<Vec<_>>(), ["conf.colour"]);
    let held = s.overrides_held(&Target::Group(testers.group_id.clone())).unwrap();
    assert_eq!(
        held.iter().map(|o| (o.flag_key.as_str(), o.value.as_str())).collect::<Vec<_>>(),
        [("conf.colour", "red")]
    );
    for o in [alices, bobs] {
        s.delete_override(&o.override_id, &audit("flag.override.delete")).unwrap();
    }

    // Members by username, a page at a time.
    let bob = s.user_id_by_username(&pathfinder::Username::parse("flag_bob").unwrap()).unwrap().unwrap();
    s.set_user_group(&bob, Some(&testers.group_id), &audit("user.group")).unwrap();
    s.set_user_group(&alice, Some(&testers.group_id), &audit("user.group")).unwrap();
    let first = s.group_members(&testers.group_id, None, 1).unwrap();
    let after = first.next_cursor.clone().expect("a second page");
    assert_eq!(after, first.items[0].username, "the next page starts after the last username shown");
    let rest = s.group_members(&testers.group_id, Some(&after), 10).unwrap();
    assert_eq!(rest.next_cursor, None);
    let all: Vec<String> = first.items.into_iter().chain(rest.items).map(|u| u.username).collect();
    assert_eq!(all, ["flag_alice", "flag_bob"]);
    assert_eq!(s.group_size(&testers.group_id).unwrap(), 2);
    s.set_user_group(&bob, None, &audit("user.group")).unwrap();

    // Deleting a group: its members leave it, its overrides go.
    assert_eq!(s.delete_group(&testers.group_id, &audit("group.delete")).unwrap(), (1, 1));
    assert_eq!(s.user_profile(&alice).unwrap().group, None);
    assert!(matches!(s.group(&testers.group_id), Err(AppError::NotFound(_))));
    // Deleting a flag takes its overrides with it.
    assert_eq!(s.delete_flag("conf.colour", &audit("flag.delete")).unwrap(), 1);
    assert!(matches!(s.flag("conf.colour"), Err(AppError::NotFound(_))));
    let (_, said) = last(s, "flag.delete");
    assert_eq!(said["before"]["overrides_deleted"], json!(1));
    for g in [&everyone, &other] {
        s.delete_group(&g.group_id, &audit("group.delete")).unwrap();
    }
}

fn users_join_groups(h: &Harness) {
    let s = h.storage.as_ref();
    for name in ["conf_bulk_c", "conf_bulk_a", "conf_bulk_b"] {
        let edit = GroupEdit { name: name.into(), ..GroupEdit::default() };
        s.save_group(None, &edit, &audit("group.create")).unwrap();
    }
    // One owner of groups: by priority, then by name.
    let groups = s.groups().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["conf_bulk_a", "conf_bulk_b", "conf_bulk_c"]);
    let (a, b) = (groups[0].group_id.clone(), groups[1].group_id.clone());
    assert_eq!(s.group(&a).unwrap(), groups[0]);
    assert!(matches!(s.group("01JNOSUCHGROUP000000000000"), Err(AppError::NotFound(_))));

    // Created in a group; an unknown group is refused and makes nobody.
    let u = NewUser { feature_group_id: Some(a.clone()), ..new_user("conf_grouped", "G", "R", "active", &[]) };
    s.create_user(&u, &audit("user.create")).unwrap();
    let in_a = s.user_profile(&u.user_id).unwrap().group.unwrap();
    assert_eq!((in_a.group_id.as_str(), in_a.group_name.as_str()), (a.as_str(), "conf_bulk_a"));
    let stray = NewUser {
        feature_group_id: Some("01JNOSUCHGROUP000000000000".into()),
        ..new_user("conf_stray", "G", "R", "active", &[])
    };
    assert!(matches!(s.create_user(&stray, &audit("user.create")), Err(AppError::Invalid(_))));
    assert_eq!(s.user_id_by_username(&stray.username).unwrap(), None);

    // Moved, audited with names; an unknown group changes nothing and writes no row.
    // error_message is a CLOB on Oracle: compared through DBMS_LOB there.
    let said = |text: &str| {
        let sql = format!(
            "SELECT COUNT(*) FROM pf_audit_log WHERE action = 'conf.group' AND {}",
            match s.backend_name() {
                "oracle" => format!("DBMS_LOB.COMPARE(error_message, TO_CLOB('{text}')) = 0"),
                _ => format!("error_message = '{text}'"),
            }
        );
        (h.raw_text)(&sql).as_deref() == Some("1")
    };
    s.set_user_group(&u.user_id, Some(&b), &audit("conf.group")).unwrap();
    assert!(said("group: conf_bulk_a -> conf_bulk_b"));
    let rows = count(s, "conf.group");
    let refused = s.set_user_group(&u.user_id, Some("01JNOSUCHGROUP000000000000"), &audit("conf.group"));
    assert!(matches!(refused, Err(AppError::Invalid(_))), "{refused:?}");
    assert_eq!(count(s, "conf.group"), rows);
    assert_eq!(s.user_profile(&u.user_id).unwrap().group.map(|g| g.group_name).as_deref(), Some("conf_bulk_b"));
    s.set_user_group(&u.user_id, None, &audit("conf.group")).unwrap();
    assert!(said("group: conf_bulk_b -> none"));
    assert_eq!(s.user_profile(&u.user_id).unwrap().group, None);
    assert!(matches!(s.set_user_group(&UserId::new(), Some(&a), &audit("conf.group")), Err(AppError::NotFound(_))));
}

/// The flags list, filtered and sorted by the database, against the same filter and
/// order applied here to every flag.
fn flag_lists_filter_and_sort_in_one_place(h: &Harness) {
    let s = h.s();
    let specs = [
        ("list.gamma", "Zeta switch", "boolean", "true", true),
        ("list.alpha", "beta Limits", "json", "{}", false),
        ("list.delta", "Alpha colour", "string", "red", false),
        ("list.beta", "alpha count", "number", "3", true),
        ("list.epsilon", "Zeta switch", "boolean", "false", false),
        ("other.omega", "Omega list", "number", "1.5", false),
    ];
    for (key, name, t, default, system) in specs {
        let edit = FlagEdit { name: name.into(), system_wide: system, ..flag_edit(key, t, default, "") };
        s.create_flag(&edit, &audit("flag.create")).unwrap();
    }
    // A later change moves a flag to the top of "updated".
    let beta = s.flag("list.beta").unwrap();
    let edit = FlagEdit {
        name: beta.name.clone(),
        system_wide: true,
        description: "changed".into(),
        ..flag_edit("list.beta", "number", "4", "")
    };
    s.update_flag("list.beta", &edit, &audit("flag.update")).unwrap();

    let every = s.flags(&FlagQuery::default()).unwrap();
    assert_eq!(every.len(), specs.len());
    for text in ["", "list", "ALPHA", "zeta", "nothing"] {
        for t in ["", "boolean", "json"] {
            for system in ["", "yes", "no"] {
                for sort in ["", "key", "name", "type", "updated"] {
                    let query = FlagQuery::from_query(text, t, system, sort).unwrap();
                    let got: Vec<String> = s.flags(&query).unwrap().into_iter().map(|f| f.key).collect();
                    let needle = text.to_lowercase();
                    let mut want: Vec<_> = every
                        .iter()
                        .filter(|f| f.key.contains(&needle) || f.name.to_lowercase().contains(&needle))
                        .filter(|f| t.is_empty() || f.flag_type.as_str() == t)
                        .filter(|f| system.is_empty() || f.system_wide == (system == "yes"))
                        .collect();
                    want.sort_by(|a, b| match sort {
                        "name" => (a.name.to_lowercase(), &a.key).cmp(&(b.name.to_lowercase(), &b.key)),
                        "type" => (a.flag_type.as_str(), &a.key).cmp(&(b.flag_type.as_str(), &b.key)),
                        "updated" => (b.updated_at, &a.key).cmp(&(a.updated_at, &b.key)),
                        _ => a.key.cmp(&b.key),
                    });
                    let want: Vec<String> = want.into_iter().map(|f| f.key.clone()).collect();
                    assert_eq!(got, want, "text {text:?}, type {t:?}, system-wide {system:?}, sort {sort:?}");
                }
            }
        }
    }
    let newest = s.flags(&FlagQuery::from_query("", "", "", "updated").unwrap()).unwrap();
    assert_eq!(newest[0].key, "list.beta", "the flag changed last comes first");
    assert!(invalid(FlagQuery::from_query("", "", "", "colour")));
    assert!(invalid(FlagQuery::from_query("", "", "maybe", "")));
}

/// A flag's page and a group's page, each one read of what the page shows; a
/// member added and a flag evaluated by username, refused for nobody.
fn flag_and_group_pages(h: &Harness) {
    let s = h.s();
    let flag = s.create_flag(&flag_edit("pages.banner", "string", "off", ""), &audit("flag.create")).unwrap();
    let edit = GroupEdit { name: "pages_group".into(), description: "d".into(), is_default: false, priority: 5 };
    let group = s.save_group(None, &edit, &audit("group.create")).unwrap();
    let names = ["pages_ann", "pages_bob", "pages_cy"];
    for name in names {
        add_user(s, name, "active", &[]);
    }
    // Members by username, refused for nobody (and nothing written).
    let before = s.recent_audit(1000).unwrap().len();
    for nobody in ["pages_nobody", "Not A Name", ""] {
        assert!(invalid(s.add_group_member(&group.group_id, nobody, &audit("user.group"))), "{nobody:?}");
    }
    assert_eq!(s.recent_audit(1000).unwrap().len(), before);
    for name in names {
        s.add_group_member(&group.group_id, &format!(" {name} "), &audit("user.group")).unwrap();
    }
    assert_eq!(count(s, "user.group"), 3);
    let nowhere = s.add_group_member("no-such-group", "pages_ann", &audit("user.group"));
    assert!(nowhere.is_err(), "a group that does not exist: {nowhere:?}");

    s.set_override("pages.banner", &Target::Group(group.group_id.clone()), &over("group"), &audit("flag.override.set"))
        .unwrap();
    s.set_override("pages.banner", &Target::User("pages_cy".into()), &over("mine"), &audit("flag.override.set"))
        .unwrap();

    let page = s.group_page(&group.group_id, None, 2).unwrap();
    assert_eq!((page.group.clone(), page.size), (s.group(&group.group_id).unwrap(), 3));
    let first: Vec<&str> = page.members.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(first, ["pages_ann", "pages_bob"]);
    let after = page.members.next_cursor.clone().expect("a next page");
    let rest = s.group_page(&group.group_id, Some(&after), 2).unwrap();
    let rest: Vec<&str> = rest.members.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(rest, ["pages_cy"]);
    assert_eq!(page.overrides.iter().map(|o| o.value.as_str()).collect::<Vec<_>>(), ["group"]);
    assert!(matches!(s.group_page("no-such-group", None, 2), Err(AppError::NotFound(_))));

    let now = Utc::now();
    let fp = s.flag_page("pages.banner", &OverrideFilter::default(), now, 1).unwrap();
    assert_eq!(fp.flag, flag);
    assert_eq!((fp.override_count, fp.overrides.items.len()), (2, 1));
    assert!(fp.overrides.next_cursor.is_some(), "one override per page, two in all");
    let history: Vec<&str> = fp.history.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(history, ["flag.override.set", "flag.override.set", "flag.create"], "newest first");
    assert!(fp.history.iter().all(|r| r.entity_id.as_deref() == Some(flag.flag_id.as_str())));
    assert!(matches!(s.flag_page("pages.none", &OverrideFilter::default(), now, 1), Err(AppError::NotFound(_))));

    let value = |name: &str| s.evaluate_for("pages.banner", name, now).map(|e| (e.value, e.source));
    assert!(matches!(value("pages_cy").unwrap(), (v, Source::User { .. }) if v == json!("mine")));
    assert!(matches!(value(" PAGES_ANN ").unwrap(), (v, Source::Group { .. }) if v == json!("group")));
    assert!(invalid(value("pages_nobody")), "nobody is named so");
    assert!(matches!(s.evaluate_for("pages.none", "pages_ann", now), Err(AppError::NotFound(_))));
}
