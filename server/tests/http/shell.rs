//! The console as a whole: the policy for every route and server function, the navigation, error hygiene, host names and public paths.

use crate::harness::*;
use pathfinder_app::policy::{rules, Access, Kind};

/// Every policy entry, walked without a session and with each role.
#[tokio::test]
async fn every_route_and_server_function_follows_the_policy() {
    let c = Console::new();
    // Every registered server function has a policy entry, and no entry names a missing one.
    let registered: std::collections::BTreeSet<String> =
        leptos::server_fn::axum::server_fn_paths().map(|(p, _)| p.to_string()).collect();
    let listed: std::collections::BTreeSet<String> =
        rules().map(|r| r.path.to_string()).filter(|p| p.starts_with("/api/")).collect();
    assert!(!registered.is_empty());
    assert_eq!(registered, listed);

    let tokens = [
        (Role::Admin, c.token("root").await),
        (Role::Sre, c.token("sre_sam").await),
        (Role::Compliance, c.token("comp_cy").await),
    ];
    // A user every allowed request can act on, so that "allowed" means answered.
    let target = common::add_user(c.storage.as_ref(), "walk_target", "active", &[]);
    let fields = SensitiveFields { phone_number: Some("+1 555 0100".into()), ..Default::default() };
    c.storage.set_sensitive_fields(&target, &fields, &common::audit("user.sensitive.update")).unwrap();
    let victim = common::add_user(c.storage.as_ref(), "walk_victim", "active", &[]);
    sqlite_exec(
        &c,
        &format!(
            "INSERT INTO pf_sso_accounts (sso_account_id, user_id, provider, provider_user_id) VALUES ('WALK', '{0}', 'x', 'y'), ('WALK2', '{0}', 'x', 'z')",
            target.0
        ),
    );
    let walk_invitation = {
        let r =
            c.post("/api/create_invitation", Some(&tokens[0].1), "email=walk_pending%40example.com&role=user").await;
        serde_json::from_str::<pathfinder::dto::InvitationLink>(&r.body).unwrap().invitation_id
    };
    // A session nobody else uses, for the admin to end.
    let spare = claims(&c.token("comp_cy").await).sid;
    // An audit event to open, and an audit job to follow.
    let event = c.storage.recent_audit(1).unwrap()[0].id.clone();
    let job = c
        .storage
        .start_audit_job(pathfinder::audit::AuditJobKind::Count, "walk", &common::audit("audit.count.begin"))
        .unwrap();
    // Flags, groups, an override and a key for the flag functions.
    let (walk_group, doomed_group, walk_override, walk_key) = {
        use pathfinder::flags::{FlagEdit, GroupEdit, OverrideEdit, Target};
        use pathfinder::storage::FlagStore;
        let s = c.storage.as_ref();
        let a = |x: &str| common::audit(x);
        let flag = |key: &str| FlagEdit {
            key: key.into(),
            name: key.into(),
            flag_type: "boolean".into(),
            default_value: "false".into(),
            ..Default::default()
        };
        s.create_flag(&flag("walk.flag"), &a("flag.create")).unwrap();
        s.create_flag(&flag("walk.doomed"), &a("flag.create")).unwrap();
        let g = s.save_group(None, &GroupEdit { name: "walk_group".into(), ..Default::default() }, &a("g")).unwrap();
        let doomed = GroupEdit { name: "walk_doomed".into(), ..Default::default() };
        let doomed = s.save_group(None, &doomed, &a("g")).unwrap();
        let edit = OverrideEdit { value: "true".into(), reason: "walk".into(), expires_at: None };
        // Its holder is touched by no other call of the walk (walk_victim is deleted).
        common::add_user(s, "walk_holder", "active", &[]);
        let o = s.set_override("walk.flag", &Target::User("walk_holder".into()), &edit, &a("o")).unwrap();
        let (_, hash, prefix) = pathfinder::secret::new_api_key();
        let k = s.create_api_key("walk", &hash, &prefix, &a("k")).unwrap();
        (g.group_id, doomed.group_id, o.override_id, k.key_id)
    };
    // A person with career data: a conversation with one message to reveal.
    let writer = {
        use pathfinder::storage::{TableRows, Value};
        let s = c.storage.as_ref();
        let id = common::add_user(s, "walk_writer", "active", &[]);
        let owner = pathfinder::Username::parse("walk_writer").unwrap();
        s.provision_user_tables(&owner, &common::audit("user_tables.provision")).unwrap();
        let t = |x: &str| Value::Text(x.into());
        let mut conversations = TableRows::new("pf_user_walk_writer_chat_conversations", &["id", "title"]);
        conversations.push(vec![t("c1"), t("Plans")]);
        let mut messages =
            TableRows::new("pf_user_walk_writer_chat_messages", &["id", "conversation_id", "role", "content"]);
        messages.push(vec![t("m1"), t("c1"), t("user"), t("what walk_writer wrote")]);
        s.fill_user_tables(&owner, &[conversations, messages], &common::audit("user_tables.fill")).unwrap();
        id
    };
    // A CPA PERT report of walk_writer's, with an experience and submissions enough
    // for every allowed caller to record a review of its own.
    let reviews = std::cell::Cell::new(0);
    {
        use pathfinder::storage::{BulkStore, TableRows, Value};
        let t = |x: &str| Value::Text(x.into());
        let day = Value::Date(chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap());
        let mut reports =
            TableRows::new("pf_cpa_pert_reports", &["id", "user_id", "report_period_start", "report_period_end"]);
        reports.push(vec![t("WALKPERT"), Value::from(&writer), day.clone(), day.clone()]);
        let mut experiences = TableRows::new(
            "pf_cpa_pert_experiences",
            &[
                "id",
                "report_id",
                "sub_competency_id",
                "experience_title",
                "experience_start_date",
                "experience_end_date",
                "challenge",
                "actions",
                "results",
                "lessons_learned",
            ],
        );
        experiences.push(vec![
            t("WALKEXP"),
            t("WALKPERT"),
            t("FR1"),
            t("Walk"),
            day.clone(),
            day,
            t("c"),
            t("a"),
            t("r"),
            t("l"),
        ]);
        let mut submissions =
            TableRows::new("pf_cpa_pert_submissions", &["id", "report_id", "user_id", "submission_status"]);
        for i in 0..8 {
            submissions.push(vec![t(&format!("WALKSUB{i}")), t("WALKPERT"), Value::from(&writer), t("pending")]);
        }
        c.storage.insert_batch(&[reports, experiences, submissions], &common::audit("data.load")).unwrap();
    }
    // A skill and a career path to retire or restore.
    let (walk_skill, walk_path) = {
        use pathfinder::reference::{PathEdit, SkillEdit};
        use pathfinder::storage::ReferenceStore;
        let skill = SkillEdit { name: "Walk base skill".into(), ..Default::default() };
        let skill = c.storage.save_skill(None, &skill, &common::audit("reference.skill.create")).unwrap();
        let path = PathEdit { name: "Walk base path".into(), to_role: "Walker".into(), ..Default::default() };
        let path = c.storage.save_career_path(None, &path, &common::audit("reference.path.create")).unwrap();
        (skill.id, path.id)
    };
    // A deactivation of dormant users being stopped, for the walk's stop (and
    // leaving room for the walk's own deactivation).
    sqlite_exec(
        &c,
        "INSERT INTO pf_dormant_jobs (job_id, dormancy, started_at, expected, stop_requested)
         VALUES ('WALKDORMANT', 'never', '2020-01-01 00:00:00.000000', 0, 'Y')",
    );
    // Access reviews: a closed campaign (its page, report and signature), and open
    // ones with a line about walk_target for each call the walk makes to decide.
    sqlite_exec(
        &c,
        &format!(
            "INSERT INTO pf_access_reviews (review_id, name, started_at, deadline, closed_at, close_reason)
             VALUES ('WALKREVIEW', 'Walk review', '2026-01-01 00:00:00.000000', '2026-01-08 00:00:00.000000',
                     '2026-01-02 00:00:00.000000', 'decided');
             INSERT INTO pf_access_review_lines (line_id, review_id, user_id, username, role, second_factor, decision,
                     comment_text)
             VALUES ('WALKRLINE0', 'WALKREVIEW', '{t}', 'walk_target', 'sre', 'N', 'keep', 'walk');",
            t = target.0
        ),
    );
    for n in 1..=6 {
        sqlite_exec(
            &c,
            &format!(
                "INSERT INTO pf_access_reviews (review_id, name, started_at, deadline)
                 VALUES ('WALKOPEN{n}', 'Walk open review', '2026-01-01 00:00:00.000000', '2999-01-01 00:00:00.000000');
                 INSERT INTO pf_access_review_lines (line_id, review_id, user_id, username, role, second_factor)
                 VALUES ('WALKRLINE{n}', 'WALKOPEN{n}', '{t}', 'walk_target', 'sre', 'N');",
                t = target.0
            ),
        );
    }
    let decisions = std::cell::Cell::new(0);
    let walk_policy = {
        let edit = pathfinder::retention::PolicyEdit {
            table_pattern: "pf_user_analytics".into(),
            retention_days: 90,
            archive_enabled: false,
            delete_enabled: true,
        };
        c.storage.save_retention_policy(None, &edit, &common::audit("retention.policy.create")).unwrap().id
    };
    let body_for = |path: &str| {
        match path {
        "/api/save_retention" => "table_pattern=pf_user_sessions&retention_days=30&delete=on".to_string(),
        "/api/delete_retention" => format!("id={walk_policy}"),
        "/api/run_retention" => "dry_run=on".to_string(),
        "/api/flags" | "/api/flag_groups" | "/api/api_keys" => "q=".to_string(),
        "/api/flag" => "key=walk.flag".to_string(),
        "/api/flag_group" => format!("group_id={walk_group}"),
        "/api/add_group_member" => format!("group_id={walk_group}&username=walk_target"),
        "/api/user_overrides" => format!("user_id={}", target.0),
        "/api/save_flag" => "key=walk.new&name=Walk&flag_type=boolean&default_value=false".to_string(),
        "/api/delete_flag" => "key=walk.doomed".to_string(),
        "/api/set_override" => "key=walk.flag&user=walk_target&value=true&reason=walk".to_string(),
        "/api/delete_override" => format!("override_id={walk_override}"),
        "/api/evaluate_flag" => "key=walk.flag&user=walk_target".to_string(),
        "/api/user_flags" => format!("user_id={}", target.0),
        "/api/save_group" => "name=walk_group_2".to_string(),
        "/api/delete_group" => format!("group_id={doomed_group}"),
        "/api/create_api_key" => "name=walk_service".to_string(),
        "/api/revoke_api_key" => format!("key_id={walk_key}"),
        "/api/user_detail"
        | "/api/user_sessions"
        | "/api/user_key"
        | "/api/user_tables"
        | "/api/reveal_sensitive"
        | "/api/rotate_user_key"
        | "/api/unlock_sign_in"
        | "/api/reset_mfa" => {
            format!("user_id={}", target.0)
        }
        "/api/set_user_status" => format!("user_id={}&status=active", target.0),
        "/api/set_console_roles" => format!("user_id={}&sre=on", target.0),
        "/api/bulk_preview" => "q=walk_target&mode=prefix&status=".to_string(),
        "/api/bulk_apply" => "q=walk_target&mode=prefix&status=&action=status&value=active".to_string(),
        "/api/create_invitation" => "email=walk_invitee%40example.com&role=user".to_string(),
        "/api/resend_invitation" | "/api/withdraw_invitation" => format!("invitation_id={walk_invitation}"),
        "/api/update_profile" => format!(
            "user_id={}&edit[email]=walk_target%40example.com&edit[first_name]=&edit[last_name]=&edit[timezone]=\
             &edit[language]=&edit[current_title]=&edit[current_company]=",
            target.0
        ),
        "/api/set_preferences" => format!(
            "user_id={}&prefs[notification]=&prefs[privacy]=&prefs[ui]=&prefs[communication]=&prefs[feature]=",
            target.0
        ),
        "/api/create_user" => {
            "username=walk_created&email=walk%40example.com&first_name=&last_name=&account_status=pending".to_string()
        }
        "/api/count_sessions" | "/api/revoke_sessions" => "user_id=&started_before=&ip_address=192.0.2.250".to_string(),
        "/api/revoke_session" => format!("session_id={spare}"),
        "/api/set_primary_sso" => format!("user_id={}&sso_account_id=WALK", target.0),
        "/api/unlink_sso" => format!("user_id={}&sso_account_id=WALK2", target.0),
        "/api/provision_user_tables" => format!("user_id={}", target.0),
        "/api/drop_user_tables" => format!("user_id={}&confirm=walk_target", target.0),
        "/api/set_sensitive" => {
            format!("user_id={}&phone_number=%2B1+555+0100&date_of_birth=&gender=&nationality=", target.0)
        }
        "/api/delete_user" => format!("user_id={}&confirm=walk_victim", victim.0),
        "/api/key_inventory" => "after=".to_string(),
        "/api/career_page" => format!("user_id={}&section=chat_messages&conversation=c1", writer.0),
        "/api/reveal_career" => format!("user_id={}&section=chat_messages&row_id=m1&reason=walk", writer.0),
        "/api/set_user_group" => format!("user_id={}&group_id=", target.0),
        "/api/start_key_rotation" => "scope=overdue".to_string(),
        "/api/audit_search" | "/api/audit_facets" => "params[range]=30d&params[actor]=walk_target".to_string(),
        "/api/audit_event" => format!("id={event}"),
        "/api/start_audit_job" => "kind=count&params[actor]=walk_target".to_string(),
        "/api/audit_job" => format!("id={job}"),
        "/api/pert_report" => "report_id=WALKPERT".to_string(),
        "/api/skills" | "/api/career_paths" => "text=".to_string(),
        "/api/save_skill" => "edit[name]=Walk+skill&edit[category]=&edit[description]=&edit[aliases]=&edit[market_demand]=".to_string(),
        "/api/set_skill_active" => format!("skill_id={walk_skill}&active=true"),
        "/api/set_career_path_active" => format!("path_id={walk_path}&active=true"),
        "/api/save_career_path" => "edit[name]=Walk+path&edit[industry]=&edit[from_role]=&edit[to_role]=Walker&edit[typical_years]=&edit[steps]=&edit[description]=".to_string(),
        "/api/import_skills" => "csv=skill_id%2Cskill_name%2Cskill_category%2Cdescription%2Caliases%2Cmarket_demand_score%2Cis_active%0A&dry_run=true".to_string(),
        "/api/import_career_paths" => format!("csv={}&dry_run=true", pathfinder::filter::encode_component(&pathfinder::reference::PATH_CSV_COLUMNS.join(","))),
        "/api/stop_deactivation" => "job_id=WALKDORMANT".to_string(),
        "/api/access_review" => "review_id=WALKREVIEW".to_string(),
        "/api/start_access_review" => "name=Walk&scope=all&days=7".to_string(),
        "/api/decide_access_line" => {
            decisions.set(decisions.get() + 1);
            format!("line_id=WALKRLINE{}&decision=keep&comment=walk", decisions.get())
        }
        "/api/reveal_pert_narrative" => "experience_id=WALKEXP&reason=walk".to_string(),
        "/api/record_pert_review" => {
            reviews.set(reviews.get() + 1);
            format!("submission_id=WALKSUB{}&action=reviewed&comment=walk", reviews.get())
        }
        _ => "q=&mode=&status=&sort=&dir=&after=".to_string(),
    }
    };
    let (mut walked, mut named_people) = (0, 0);
    for rule in rules() {
        let (pattern, Access::Roles(allowed)) = (rule.path, rule.access) else { continue };
        let id = match pattern {
            p if p.starts_with("/audit/") => event.as_str(),
            p if p.starts_with("/flags/") => "walk.flag",
            p if p.starts_with("/groups/") => walk_group.as_str(),
            p if p.starts_with("/pert/") => "WALKPERT",
            p if p.starts_with("/access-reviews/") || p.starts_with("/export/access-review/") => "WALKREVIEW",
            _ => target.0.as_str(),
        };
        let path = pattern.replace(":id", id);
        // Server functions, and the download a form posts.
        let api = path.starts_with("/api/") || path.starts_with("/export/person/");
        let call = |token: Option<String>| {
            let (path, body) = (path.clone(), body_for(&path));
            let c = &c;
            async move {
                if api {
                    c.post(&path, token.as_deref(), &body).await
                } else {
                    c.send(Method::GET, &path, token.as_deref(), None, "").await
                }
            }
        };
        let anon = call(None).await;
        if path.starts_with("/api/") {
            assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{pattern} without a session");
        } else {
            assert_eq!(anon.status, StatusCode::SEE_OTHER, "{pattern} without a session");
        }
        for (role, token) in &tokens {
            let before = newest_seq(&c);
            let r = call(Some(token.clone())).await;
            if allowed.contains(role) {
                assert_eq!(r.status, StatusCode::OK, "{role} on {pattern}: {}", r.body);
                assert!(!r.body.contains("data-test-id=\"error\""), "{role} on {pattern} shows an error: {}", r.body);
                // Data about people leaves with its read row, written by this request,
                // in the chain: a function declared to read people always writes it,
                // and any answer that names one of the walk's people must have.
                let caller = c.user_id(caller_name(*role));
                let rows = rows_of_request(&c, before, &path, &caller.0);
                if rule.reads_people {
                    assert!(rows > 0, "{role} on {pattern}: a read of people without its read row");
                }
                // (A page names its reader in its top bar: that is not a read of people.)
                let others = PEOPLE.iter().filter(|p| **p != caller_name(*role));
                if let Some(person) = others.into_iter().find(|p| r.body.contains(**p)) {
                    named_people += 1;
                    assert!(
                        rows > 0,
                        "{role} on {pattern} answered with {person} and wrote no audit row: declare it with \
                         policy::reads and read through Caller::read"
                    );
                }
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} on {pattern}");
            }
        }
        walked += 1;
    }
    assert!(walked >= 6);
    eprintln!("{named_people} answers named the walk's people");
    assert!(named_people >= 10, "the walk's people appear in few answers ({named_people}): is the check blind?");
    // SREs read flags and groups without the forms that edit them.
    let read_group = {
        use pathfinder::storage::FlagStore;
        let edit = pathfinder::flags::GroupEdit { name: "walk_read".into(), ..Default::default() };
        c.storage.save_group(None, &edit, &common::audit("g")).unwrap().group_id
    };
    let group_page = format!("/groups/{read_group}");
    for (role, token) in &tokens {
        for (page, form) in [
            ("/groups", "New group"),
            ("/flags/walk.flag", "data-test-id=\"override-form\""),
            (group_page.as_str(), "data-test-id=\"member-add\""),
        ] {
            let body = c.send(Method::GET, page, Some(token), None, "").await.body;
            assert_eq!(body.contains(form), *role == Role::Admin, "{role} on {page}");
        }
    }
    // Paths nobody listed are refused, whoever asks.
    for path in ["/api/drop_everything", "/admin", "/users/1/2"] {
        assert_eq!(
            c.send(Method::GET, path, Some(&tokens[0].1), None, "").await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

/// People whose names (in their usernames and emails) mark an answer as data about
/// people: the walk's, and two of the console's accounts (the admin who walks is
/// named by every answer that says who did what).
const PEOPLE: [&str; 6] = ["walk_target", "walk_holder", "walk_victim", "walk_writer", "sre_sam", "comp_cy"];

fn caller_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "root",
        Role::Sre => "sre_sam",
        Role::Compliance => "comp_cy",
    }
}

/// The chain's newest sequence number.
fn newest_seq(c: &Console) -> i64 {
    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    db.query_row("SELECT COALESCE(MAX(chain_seq), 0) FROM pf_audit_log", [], |r| r.get(0)).unwrap()
}

/// The audit rows written after `after` for a request to `path` by `actor`.
fn rows_of_request(c: &Console, after: i64, path: &str, actor: &str) -> i64 {
    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    db.query_row(
        "SELECT COUNT(*) FROM pf_audit_log WHERE chain_seq > ?1 AND request_path = ?2 AND user_id = ?3",
        rusqlite::params![after, path, actor],
        |r| r.get(0),
    )
    .unwrap()
}

/// Every route of the app has a row in the policy table and either a place in the
/// navigation or a stated reason it has none; every page row has its route.
#[tokio::test]
async fn every_route_has_a_policy_row_and_a_place_in_the_navigation_or_a_reason() {
    // The router's own list: listing the routes again would stall pages that other
    // tests render meanwhile (see `pathfinder_server::http::routes`).
    let routes: std::collections::BTreeSet<String> =
        pathfinder_server::http::routes().into_iter().map(|r| r.path().replace('{', ":").replace('}', "")).collect();
    assert!(routes.len() >= 20, "{routes:?}");
    let pages: std::collections::BTreeMap<&str, Kind> =
        rules().filter(|r| r.kind != Kind::Endpoint).map(|r| (r.path, r.kind)).collect();
    for route in &routes {
        match pages.get(route.as_str()) {
            Some(Kind::Listed { label, .. }) => assert!(!label.is_empty(), "{route}"),
            Some(Kind::Unlisted(why)) => assert!(why.len() > 10, "{route}: say why the navigation leaves it out"),
            _ => panic!("{route} has no page row in the policy table (a capability's mod.rs)"),
        }
    }
    for page in pages.keys() {
        assert!(routes.contains(*page), "{page} has a page row but no route");
    }
}

/// A refused plain-form post comes back to its page with the error's code only, and
/// a page shows no text from its URL: a link cannot make the console say anything.
#[tokio::test]
async fn errors_travel_by_code_never_by_text_in_the_url() {
    let c = Console::new();
    let token = c.token("root").await;
    let root = c.user_id("root");
    let page = format!("http://{HOST}/users/{}", root.0);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/set_user_status")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("http://{HOST}"))
        .header(header::REFERER, &page)
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, format!("pf_session={token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("user_id={}&status=suspended", root.0)))
        .unwrap();
    let resp = c.app.clone().oneshot(req).await.unwrap();
    let location = resp.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(location.starts_with(&page) && location.contains("__err=invalid"), "{location}");
    let shown = c.send(Method::GET, &location.replace(&format!("http://{HOST}"), ""), Some(&token), None, "").await;
    assert!(shown.body.contains("a value was not accepted"), "the page says it in our words: {}", shown.body);

    use base64::Engine;
    let forged =
        base64::engine::general_purpose::URL_SAFE.encode(r#"{"Invalid":"Call +1 555 0100 to keep your account"}"#);
    for err in [forged.as_str(), "Call+%2B1+555+0100+now"] {
        let r = c.send(Method::GET, &format!("/users/{}?__err={err}", root.0), Some(&token), None, "").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.body.contains("555 0100") && !r.body.contains("555+0100"), "{}", r.body);
    }
}

/// A caller's mistakes answer 4xx with a sentence, never 500.
#[tokio::test]
async fn client_mistakes_are_not_server_errors() {
    let c = Console::new();
    let token = c.token("root").await;
    let send = |content_type: &'static str, body: Vec<u8>| {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/users")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::COOKIE, format!("pf_session={token}"))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, body.len());
        c.exchange(req.body(Body::from(body)).unwrap())
    };
    let form = "application/x-www-form-urlencoded";
    for (what, content_type, body, status) in [
        ("JSON", "application/json", br#"{"q":""}"#.to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("multipart", "multipart/form-data; boundary=x", b"--x--".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("a missing field", form, b"q=".to_vec(), StatusCode::BAD_REQUEST),
        ("bad UTF-8", form, b"q=\xff\xfe&mode=&status=&sort=&dir=&after=".to_vec(), StatusCode::BAD_REQUEST),
        ("a body over the limit", form, vec![b'a'; 3 << 20], StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let (got, body) = send(content_type, body).await;
        assert_eq!(got, status, "{what}: {body}");
        assert!(!body.contains("Something went wrong"), "{what}: {body}");
    }
}

/// DNS rebinding: a page on another host name that resolves to the console cannot
/// read metrics or sign in; health checks answer whatever name they use.
#[tokio::test]
async fn other_host_names_are_refused() {
    let c = Console::new();
    let as_host = |host: &'static str, method: Method, path: &'static str, body: &'static str| {
        let mut req = Request::builder().method(method).uri(path).header(header::HOST, host);
        if !body.is_empty() {
            req = req.header(header::ORIGIN, format!("http://{host}"));
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let exchange = c.exchange(req.body(Body::from(body)).unwrap());
        async move { exchange.await.0 }
    };
    let form = "username=root&password=a+long+test+password";
    assert_eq!(as_host("evil.example:3000", Method::POST, "/auth/login", form).await, StatusCode::BAD_REQUEST);
    assert_eq!(as_host("evil.example", Method::GET, "/metrics", "").await, StatusCode::BAD_REQUEST);
    assert_eq!(as_host("evil.example", Method::GET, "/login", "").await, StatusCode::BAD_REQUEST);
    assert_eq!(as_host("evil.example", Method::GET, "/healthz", "").await, StatusCode::OK);
    assert_eq!(as_host("console.test:8443", Method::GET, "/login", "").await, StatusCode::OK);
    assert!(!c.actions().contains(&"login.success".to_string()), "no sign-in went through");
}

/// Public paths do not read the session from the database, so they stay up when it
/// fails; dot segments never reach the policy; a revoked session's cookie is cleared.
#[tokio::test]
async fn public_paths_stay_up_without_the_database_and_dot_segments_are_refused() {
    let c = Console::new();
    let token = c.token("root").await;
    for path in ["/pkg/../users", "/pkg/%2e%2e/users", "/pkg/%2E%2e/api/users", "/users/./x", "/pkg/..%2fusers"] {
        let r = c.send(Method::GET, path, Some(&token), None, "").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
    }
    // A revoked session: back to sign-in with the cookie cleared (no redirect loop).
    let other = c.token("root").await;
    c.post("/auth/logout", Some(&other), "").await;
    let r = c.send(Method::GET, "/users", Some(&other), None, "").await;
    assert_eq!(r.headers[header::LOCATION], "/login");
    assert!(r.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));

    rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .execute_batch("ALTER TABLE pf_user_sessions RENAME TO pf_user_sessions_gone")
        .unwrap();
    assert_eq!(c.send(Method::GET, "/users", Some(&token), None, "").await.status, StatusCode::INTERNAL_SERVER_ERROR);
    let health = c.send(Method::GET, "/healthz", Some(&token), None, "").await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, "ok"));
    let asset = c.send(Method::GET, "/pkg/pathfinder.css", Some(&token), None, "").await;
    assert_ne!(asset.status, StatusCode::INTERNAL_SERVER_ERROR);
    let login = c.send(Method::GET, "/login", Some(&token), None, "").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "a valid token is checked without the database");
    let login = c.send(Method::GET, "/login", None, None, "").await;
    assert_eq!(login.status, StatusCode::OK);
}

#[tokio::test]
async fn database_errors_reach_the_browser_only_as_a_reference() {
    let c = Console::new();
    let token = c.token("root").await;
    rusqlite::Connection::open(c.dir.path().join("pf.db"))
        .unwrap()
        .execute_batch("ALTER TABLE pf_users RENAME COLUMN email TO email_gone")
        .unwrap();
    let api = c.post("/api/users", Some(&token), "q=&mode=&status=&sort=&dir=&after=").await;
    assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", api.body);
    assert!(api.body.contains("Internal"), "{}", api.body);
    let page = c.send(Method::GET, "/users", Some(&token), None, "").await;
    assert!(page.body.contains("Something went wrong on our side (reference "), "{}", page.body);
    for leak in ["no such column", "SELECT ", "pf_users", "sqlite", "rusqlite"] {
        assert!(!api.body.contains(leak) && !page.body.contains(leak), "{leak} leaked");
    }
    let bad = c.post("/api/users", Some(&token), "q=&mode=&status=bogus&sort=&dir=&after=").await;
    assert!(bad.body.contains("Unknown status"), "{}", bad.body);
}

/// Pages render to their end while other routers are built in the same process.
/// Listing the routes renders the app with leptos' process-wide "suppress resource
/// loads" flag set, and a resource another render creates meanwhile never loads (its
/// page's stream never ends): the routes are listed once per process, so building a
/// router never sets the flag again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_whole_while_other_routers_are_built() {
    let c = Console::new();
    let token = c.token("root").await;
    let user = c.user_id("sre_sam");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let builder = std::thread::spawn({
        let stop = stop.clone();
        move || {
            let mut built = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                drop(Console::new());
                built += 1;
            }
            built
        }
    });
    for i in 0..60 {
        let (path, status) = match i % 2 {
            0 => (format!("/users/{}", user.0), StatusCode::OK),
            _ => ("/groups/no-such-group".to_string(), StatusCode::NOT_FOUND),
        };
        // `send` fails the test when a response does not complete.
        let page = c.send(Method::GET, &path, Some(&token), None, "").await;
        assert_eq!(page.status, status, "{path}");
        assert!(page.body.contains("</html>") && page.body.contains("__RESOLVED_RESOURCES"), "{path}: {}", page.body);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(builder.join().unwrap() > 0, "routers were built meanwhile");
}

/// The browser's bundle: under its build's name, compressed as the browser accepts
/// (the copies the release build writes), kept for a year; another build's name is
/// not found, and is not cached.
#[tokio::test]
async fn the_bundle_is_served_compressed_under_its_build_and_kept_for_a_year() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    let wasm: Vec<u8> = (0..40_000u32).flat_map(|i| (i % 97).to_le_bytes()).collect();
    std::fs::write(pkg.join("pathfinder.wasm"), &wasm).unwrap();
    std::fs::write(pkg.join("pathfinder.css"), "body { margin: 0 }\n".repeat(50)).unwrap();
    pathfinder_server::http::assets::compress_bundle(&pkg).unwrap();
    let build = pathfinder_server::http::assets::build_id(&pkg).unwrap();
    let root = site.path().to_str().unwrap().to_string();
    let c = Console::configured(|config| config.site_root = root);

    let login = c.send(Method::GET, "/login", None, None, "").await;
    assert!(login.body.contains(&format!("/pkg/{build}/pkg/pathfinder.css")), "{}", login.body);
    assert!(login.body.contains(&format!("/pkg/{build}/pkg/pathfinder.js")), "the scripts under the build's name");
    let get = |path: String, accept: &'static str| {
        let c = &c;
        async move {
            let mut req = Request::builder().uri(path).header(header::HOST, HOST);
            if !accept.is_empty() {
                req = req.header(header::ACCEPT_ENCODING, accept);
            }
            let resp = c.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let (status, headers) = (resp.status(), resp.headers().clone());
            (status, headers, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
        }
    };
    let wasm_path = format!("/pkg/{build}/pkg/pathfinder.wasm");
    for (accept, encoding, file) in [
        ("gzip, deflate, br", Some("br"), "pathfinder.wasm.br"),
        ("gzip", Some("gzip"), "pathfinder.wasm.gz"),
        ("", None, "pathfinder.wasm"),
    ] {
        let (status, headers, body) = get(wasm_path.clone(), accept).await;
        assert_eq!(status, StatusCode::OK, "{accept}");
        assert_eq!(headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap()), encoding, "{accept}");
        assert_eq!(body, std::fs::read(pkg.join(file)).unwrap(), "{accept}: the file as written");
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(headers[header::VARY], "accept-encoding", "shared caches key on the encoding");
    }
    assert!(std::fs::metadata(pkg.join("pathfinder.wasm.br")).unwrap().len() < wasm.len() as u64 / 4);
    let (status, headers, _) = get(format!("/pkg/{build}/pkg/nothing.wasm"), "br").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.get(header::CACHE_CONTROL).is_none_or(|v| v != "public, max-age=31536000, immutable"));
    let (status, headers, _) = get("/pkg/0123456789abcdef/pkg/pathfinder.wasm".into(), "br").await;
    assert_ne!(status, StatusCode::OK, "another build's name");
    assert!(headers.get(header::CACHE_CONTROL).is_none_or(|v| v != "public, max-age=31536000, immutable"));
}
