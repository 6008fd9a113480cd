//! The audit log for compliance reviewers: search, export, verification; and a change whose audit row cannot be written.

use crate::harness::*;

/// Compliance reviewers search the audit log (each search audited), open an event,
/// export exactly the filter (formulas neutralised, the count recorded at the end),
/// see the chart, and verify the chain in the background; hostile filter values get
/// a sentence and run nothing.
#[tokio::test]
async fn compliance_reviewers_search_export_and_verify_the_audit_log() {
    let c = Console::new();
    let token = c.token("comp_cy").await;
    let suspect = common::add_user(c.storage.as_ref(), "audit_suspect", "active", &[]);
    for i in 0..120 {
        let mut e = common::audit(if i % 2 == 0 { "probe.read" } else { "probe.write" });
        e.actor = Some(suspect.clone());
        e.response_status = if i % 10 == 0 { 403 } else { 200 };
        e.detail = (i == 7).then(|| "=HYPERLINK(\"http://x\")".to_string());
        c.storage.append_audit(&e).unwrap();
    }
    // The page, filtered by actor and action prefix: the events and the facets.
    let page = c.send(Method::GET, "/audit?actor=audit_suspect&action=probe.&size=50", Some(&token), None, "").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body.matches("data-test-id=\"event-link\"").count(), 50, "a page of 50");
    assert!(page.body.contains("data-test-id=\"next-page\""));
    assert!(page.body.contains("120 events"), "the exact count: {}", page.body);
    // The search and its facets are reads, each audited with its filter.
    let rows = c.storage.recent_audit(2).unwrap();
    let mut read: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    read.sort();
    assert_eq!(read, ["audit.facets", "audit.search"], "the search itself is audited");
    for row in rows {
        assert!(row.detail.unwrap().contains("actor=audit_suspect"), "with its filter");
    }
    // Hostile values: a sentence and a 400; wildcard characters are plain text.
    for (q, status) in [
        ("size=-1", StatusCode::BAD_REQUEST),
        ("range=custom&from=0000-01-01", StatusCode::BAD_REQUEST),
        ("range=custom&from=2026-01-01T10:00&to=99999-01-01", StatusCode::BAD_REQUEST),
        ("status=%27%20OR%201%3D1--", StatusCode::BAD_REQUEST),
        ("actor=nobody_here", StatusCode::BAD_REQUEST),
        ("text=%25", StatusCode::OK),
        ("text=_&action=%27%20OR%201%3D1--", StatusCode::OK),
        ("path=%25%25", StatusCode::OK),
    ] {
        let r = c.send(Method::GET, &format!("/audit?{q}"), Some(&token), None, "").await;
        assert_eq!(r.status, status, "{q}: {}", r.body);
        if status == StatusCode::BAD_REQUEST {
            assert!(r.body.contains("data-test-id=\"error\""), "{q} says why");
        }
    }
    // 100 KB does not fit in a URL (the HTTP layer refuses one over 64 KB): the
    // server function takes it in a body, and refuses it with a sentence.
    let long = format!("params[text]={}", "x".repeat(100_000));
    let r = c.post("/api/audit_search", Some(&token), &long).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("at most 200 characters"), "{}", r.body);
    // One event's page: every column, with a link to its actor.
    let first = c
        .storage
        .search_audit(&pathfinder::audit::AuditFilter {
            actor: Some("audit_suspect".into()),
            page_size: 1,
            ..Default::default()
        })
        .unwrap()
        .events
        .remove(0);
    let event = c.send(Method::GET, &format!("/audit/{}", first.id), Some(&token), None, "").await;
    assert_eq!(event.status, StatusCode::OK);
    assert!(event.body.contains(&format!("/users/{}", suspect.0)) && event.body.contains(&first.chain_hash.unwrap()));
    assert_eq!(c.actions()[0], "audit.event.view");
    // The export: exactly the filter, formulas neutralised, audited at both ends.
    let csv = c.send(Method::GET, "/export/audit?actor=audit_suspect&format=csv", Some(&token), None, "").await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 121, "a header and 120 events");
    assert!(lines[0].starts_with("id,created_at,user_id,action"));
    assert!(csv.body.contains("'=HYPERLINK"), "a formula is kept as text");
    let rows = c.storage.recent_audit(5).unwrap();
    let done = rows.iter().find(|r| r.action == "audit.export.done").expect("the export's end is audited");
    assert_eq!(done.detail.as_deref(), Some("120 events"));
    assert!(rows.iter().any(|r| r.action == "audit.export"
        && r.detail.as_deref().is_some_and(|m| m.contains("actor=audit_suspect") && m.contains("csv"))));
    let nd = c.send(Method::GET, "/export/audit?actor=audit_suspect&format=ndjson", Some(&token), None, "").await;
    let first: serde_json::Value = serde_json::from_str(nd.body.lines().next().unwrap()).unwrap();
    assert_eq!(first["user_id"], suspect.0.as_str());
    assert!(first["chain_seq"].is_i64());
    let bad = c.send(Method::GET, "/export/audit?actor=nobody_here&format=csv", Some(&token), None, "").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The chart is an SVG image drawn by the server.
    let chart = c.send(Method::GET, "/charts/audit.svg?range=24h&action=probe.", Some(&token), None, "").await;
    assert_eq!(chart.status, StatusCode::OK);
    assert_eq!(chart.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(chart.body.starts_with("<svg") && chart.body.contains("Events per hour"), "{}", chart.body);
    // Verify runs in the background; its state is in the database.
    let started = c.post("/api/start_audit_job", Some(&token), "kind=verify&params[range]=").await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let id: String = serde_json::from_str(&started.body).unwrap();
    let mut job = None;
    // Up to a minute (the whole suite may share the cores with it).
    for _ in 0..1_200 {
        let r = c.post("/api/audit_job", Some(&token), &format!("id={id}")).await;
        let j: pathfinder::audit::AuditJob = serde_json::from_str(&r.body).unwrap();
        if j.finished_at.is_some() {
            job = Some(j);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let job = job.expect("the verification ends");
    assert_eq!(job.outcome.as_deref(), Some("ok"), "{:?}", job.result);
    assert!(job.result.unwrap().contains("intact"));
    // SREs have no business in anyone's trail.
    let sre = c.token("sre_sam").await;
    assert_eq!(c.send(Method::GET, "/audit", Some(&sre), None, "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        c.send(Method::GET, "/export/audit?format=csv", Some(&sre), None, "").await.status,
        StatusCode::FORBIDDEN
    );
}

/// A download the client abandons stops the export's query; its end is audited as
/// cut short, with how many events went out.
#[tokio::test]
async fn a_cancelled_audit_export_stops_its_query() {
    let c = Console::new();
    let token = c.token("comp_cy").await;
    let mut batch = pathfinder::storage::TableRows::new("pf_audit_log", pathfinder_server::generate::AUDIT_COLUMNS);
    let at = chrono::Utc::now();
    for i in 0..30_000i64 {
        batch.push(vec![
            pathfinder::storage::Value::Text(pathfinder::new_id()),
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Text("probe.bulk".into()),
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Text("192.0.2.1".into()),
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Text("GET".into()),
            pathfinder::storage::Value::Text("/probe".into()),
            pathfinder::storage::Value::Int(200),
            pathfinder::storage::Value::Int(i),
            pathfinder::storage::Value::Null,
            pathfinder::storage::Value::Time(at - chrono::Duration::milliseconds(i)),
        ]);
    }
    pathfinder::storage::BulkStore::insert_batch(c.storage.as_ref(), &[batch], &common::audit("probe.load")).unwrap();
    let req = Request::builder()
        .uri("/export/audit?action=probe.bulk&format=csv")
        .header(header::HOST, HOST)
        .header(header::COOKIE, format!("pf_session={token}"))
        .body(Body::empty())
        .unwrap();
    let resp = c.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.data_ref().is_some_and(|d| d.starts_with(b"id,created_at")), "the first bytes come at once");
    drop(body);
    let done = crate::harness::eventually(|| {
        c.storage.recent_audit(20).unwrap().into_iter().find(|r| r.action == "audit.export.done")
    })
    .await
    .expect("the export's end is audited");
    assert_eq!(done.response_status, Some(499), "{:?}", done.detail);
    let sent: u64 = done.detail.unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(sent < 30_000, "the query stopped early: {sent} events");
}

#[tokio::test]
async fn when_the_audit_log_cannot_be_written_nothing_changes() {
    let c = Console::new();
    let token = c.token("root").await;
    let db = rusqlite::Connection::open(c.dir.path().join("pf.db")).unwrap();
    db.execute_batch("CREATE TRIGGER audit_down BEFORE INSERT ON pf_audit_log BEGIN SELECT RAISE(ABORT, 'down'); END;")
        .unwrap();
    let sessions = || c.storage.overview(chrono::Utc::now(), 90).unwrap().active_sessions;
    let before = sessions();

    // Sign-in: no session is opened, and the browser is told to try again.
    let r = c.login("root", PASSWORD).await;
    assert_eq!(r.headers[header::LOCATION], "/login?error=unavailable");
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(sessions(), before);

    // Sign-out: the session stays open rather than end unaudited.
    let out = c.post("/auth/logout", Some(&token), "").await;
    assert_eq!(out.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(out.body.contains("reference"), "{}", out.body);
    assert_eq!(c.post("/api/overview", Some(&token), "").await.status, StatusCode::OK, "still signed in");

    // A failed sign-in counts nothing either.
    c.login("root", "wrong password").await;
    assert_eq!(c.storage.sign_in_state(&c.user_id("root")).unwrap().guard.failed_attempts, 0);

    // The attempts whose outcome could not be written let go of the account's lease:
    // once the log is back, the next sign-in goes through at once.
    // (A lease still held would make it wait 10 s and answer "unavailable".)
    db.execute_batch("DROP TRIGGER audit_down").unwrap();
    assert_eq!(c.login("root", PASSWORD).await.headers[header::LOCATION], "/");
}

/// Who looked at a person: an administrator reads someone's page; a compliance
/// reviewer, from that person's timeline, follows one link to every read of their
/// data (the reads' rows, and none of the changes).
#[tokio::test]
async fn compliance_reviewers_see_who_looked_at_a_person_from_their_timeline() {
    let c = Console::new();
    let admin = c.token("root").await;
    let reviewer = c.token("comp_cy").await;
    let ida = common::add_user(c.storage.as_ref(), "ida_looked_at", "active", &[]);
    c.post("/api/set_user_status", Some(&admin), &format!("user_id={}&status=suspended", ida.0)).await;
    let page = c.send(Method::GET, &format!("/users/{}", ida.0), Some(&admin), None, "").await;
    assert_eq!(page.status, StatusCode::OK);

    let timeline = c.send(Method::GET, &format!("/audit?involving={}", ida.0), Some(&reviewer), None, "").await;
    let link = format!("/audit?entity_type=user&amp;entity_id={}&amp;action=read.", ida.0);
    assert!(timeline.body.contains(&link), "{}", timeline.body);
    let looked = c.send(Method::GET, &link.replace("&amp;", "&"), Some(&reviewer), None, "").await;
    assert_eq!(looked.status, StatusCode::OK);
    // The visit is one row for the person, which says what of theirs was read.
    assert!(looked.body.contains(">read.user<"), "{}", looked.body);
    for read in ["read.user.sessions: ", "read.user.flags: "] {
        assert!(looked.body.contains(read), "{read}: {}", looked.body);
    }
    assert!(!looked.body.contains("user.status.suspended"), "changes are not reads");
}
