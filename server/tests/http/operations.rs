//! Operations: the pool, storage and diagnostics pages, the queries, metrics and the upkeep round, alert rules and dashboard.

use crate::harness::*;

#[tokio::test]
async fn the_pool_page_shows_this_instances_samples_and_draws_them() {
    let c = Console::new();
    let sre = c.token("sre_sam").await;
    // Before the sampler's first run the page says so and the chart says why it is empty.
    let page = c.send(Method::GET, "/pool", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No sample yet"), "{}", page.body);
    let db = Db::new(c.storage.clone());
    let mut before = Default::default();
    let root = c.token("root").await;
    for _ in 0..3 {
        c.send(Method::GET, "/users", Some(&root), None, "").await;
        pathfinder_server::jobs::pool::sample(&db, &c.pool_history, &mut before).await;
    }
    let samples = c.pool_history.samples(false);
    assert_eq!(samples.len(), 3);
    assert!(samples.iter().all(|s| s.open >= s.active && s.open == s.active + s.idle), "{samples:?}");
    let (_, _, acquired) = c.pool_history.since_start();
    assert!(acquired > 0, "the pool's acquisitions are counted");
    let page = c.send(Method::GET, "/pool", Some(&sre), None, "").await;
    assert!(page.body.contains("data-test-id=\"pool-open\""), "{}", page.body);
    // SQLite's own view: its files and cache.
    for row in ["Database file", "Write-ahead log", "Page cache", "wal"] {
        assert!(page.body.contains(row), "{row} in {}", page.body);
    }
    let chart = c.send(Method::GET, "/charts/pool.svg?range=hour&series=connections", Some(&sre), None, "").await;
    assert_eq!(chart.status, StatusCode::OK);
    assert_eq!(chart.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(chart.body.starts_with("<svg") && chart.body.contains("Connections over the last hour"));
    // Both axes are labelled (plotters writes each text on its own line).
    assert!(chart.body.contains("\nUTC\n") && chart.body.contains("\nConnections\n"), "{}", chart.body);
    // Compliance reviewers read the audit log, not the machine.
    let comp = c.token("comp_cy").await;
    assert_eq!(c.send(Method::GET, "/pool", Some(&comp), None, "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.send(Method::GET, "/charts/pool.svg", Some(&comp), None, "").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_upkeep_round_samples_gathers_verifies_and_publishes_once_for_all_instances() {
    let _turn = UPKEEP_GAUGES.lock().await;
    let c = Console::new();
    let db = Db::new(c.storage.clone());
    pathfinder_server::jobs::upkeep::round(&db, &upkeep()).await;
    let actions = |c: &Console| c.storage.recent_audit(1000).unwrap().into_iter().map(|r| r.action).collect::<Vec<_>>();
    let first = actions(&c);
    for action in ["storage.sample", "database.statistics", "audit.verify", "retention.run"] {
        assert_eq!(first.iter().filter(|a| *a == action).count(), 1, "{action} in {first:?}");
        assert_eq!(first.iter().filter(|a| **a == format!("{action}.begin")).count(), 1, "{action}.begin");
    }
    // Another round (or another instance's) finds nothing due.
    pathfinder_server::jobs::upkeep::round(&db, &upkeep()).await;
    assert_eq!(actions(&c).len(), first.len());
    let scrape = c.scrape().await;
    assert!(metric(&scrape, "pathfinder_storage_used_bytes") > 0.0);
    assert!(metric(&scrape, "pathfinder_storage_limit_bytes") >= metric(&scrape, "pathfinder_storage_used_bytes"));
    assert_eq!(metric(&scrape, "pathfinder_storage_warning_ratio"), 0.8);
    assert_eq!(metric(&scrape, "pathfinder_storage_sample_interval_seconds"), 900.0);
    assert_eq!(metric(&scrape, "pathfinder_audit_verify_ok"), 1.0);
    assert!(metric(&scrape, "pathfinder_audit_verify_timestamp_seconds") > 1.7e9);
    assert!(metric(&scrape, "pathfinder_db_statistics_timestamp_seconds") > 1.7e9);
    assert_eq!(metric(&scrape, "pathfinder_storage_full_in_seconds"), -1.0, "one sample is no trend");
    // Backups: the console takes them here (SQLite); none yet, then one.
    assert_eq!(metric(&scrape, "pathfinder_backup_managed"), 1.0);
    assert_eq!(metric(&scrape, "pathfinder_backup_last_success_timestamp_seconds"), 0.0);
    let root = tempfile::tempdir().unwrap();
    pathfinder::storage::BackupStore::create_backup(
        c.storage.as_ref(),
        root.path(),
        pathfinder::backup::BackupKind::Full,
        &common::audit("backup.create"),
        &|| true,
    )
    .unwrap();
    pathfinder_server::jobs::upkeep::publish(&db, &upkeep()).await;
    let scrape = c.scrape().await;
    assert!(metric(&scrape, "pathfinder_backup_last_success_timestamp_seconds") > 1.7e9);
    assert_eq!(metric(&scrape, "pathfinder_backup_last_verify_ok"), -1.0, "not verified yet");
    assert!(scrape.contains("pathfinder_storage_table_bytes{table=\"pf_users\"}"), "{scrape}");
}

#[tokio::test]
async fn the_storage_and_diagnostics_pages_show_the_sample_the_chart_and_the_settings() {
    let c = Console::new();
    let sre = c.token("sre_sam").await;
    let page = c.send(Method::GET, "/storage", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("none yet"), "{}", page.body);
    let chart = c.send(Method::GET, "/charts/storage.svg", Some(&sre), None, "").await;
    assert!(chart.body.contains("no samples yet"), "{}", chart.body);
    // A user with a set of their own, whose page shows its sampled size.
    let owner = common::add_user(c.storage.as_ref(), "space_owner", "active", &[]);
    let name = pathfinder::Username::parse("space_owner").unwrap();
    c.storage.provision_user_tables(&name, &common::audit("user_tables.provision")).unwrap();
    // An SRE asks for a sample: audited under their name.
    assert_eq!(c.post("/api/storage_sample", Some(&sre), "").await.status, StatusCode::OK);
    let user_page = c.send(Method::GET, &format!("/users/{}", owner.0), Some(&c.token("root").await), None, "").await;
    assert!(user_page.body.contains("KiB at the storage sample of"), "{}", user_page.body);
    let row = c.storage.recent_audit(50).unwrap().into_iter().find(|r| r.action == "storage.sample").unwrap();
    let row = c.storage.audit_event(&row.id).unwrap().unwrap();
    assert_eq!(row.username.as_deref(), Some("sre_sam"));
    let page = c.send(Method::GET, "/storage", Some(&sre), None, "").await;
    for text in
        ["data-test-id=\"storage-used\"", "pf_audit_log", "pf_users", "warning at ", "Sample now", "space_owner"]
    {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    let chart = c.send(Method::GET, "/charts/storage.svg", Some(&sre), None, "").await;
    assert_eq!(chart.headers[header::CONTENT_TYPE], "image/svg+xml");
    // Both axes labelled; the whole and its largest tables; the file system's free
    // space, far above a test database, named in the caption.
    for text in ["\nUTC\n", "Storage over the samples kept (limit ", "off the scale", "all", "pf_audit_log"] {
        assert!(chart.body.contains(text), "{text} in {}", chart.body);
    }
    assert!(chart.body.contains("\nMiB\n") || chart.body.contains("\nKiB\n"), "{}", chart.body);

    let page = c.send(Method::GET, "/diagnostics", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "SQLite 3.",
        "0019_retention",
        "PF_STORAGE_SAMPLE_MINUTES",
        "Storage sample",
        "ms</td>",
        "none yet: pathfinder-admin backup create",
    ] {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    let drift = c.post("/api/schema_check", Some(&sre), "").await;
    assert_eq!((drift.status, drift.body.as_str()), (StatusCode::OK, "[]"));
    let comp = c.token("comp_cy").await;
    for path in ["/storage", "/diagnostics", "/charts/storage.svg"] {
        assert_eq!(c.send(Method::GET, path, Some(&comp), None, "").await.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn storage_operations_are_timed_by_name_on_the_queries_page_and_in_metrics() {
    let c = Console::new();
    let root = c.token("root").await;
    c.send(Method::GET, "/users?q=ro", Some(&root), None, "").await;
    let scrape = c.scrape().await;
    let line = scrape
        .lines()
        .find(|l| l.starts_with("pathfinder_db_operation_seconds_count{module=\"users\",operation=\"search_users\"}"))
        .unwrap_or_else(|| panic!("no search_users timing in\n{scrape}"));
    assert!(!line.ends_with(" 0"), "{line}");
    // Names only: no argument (the search text) in any label.
    assert!(!scrape.lines().any(|l| l.starts_with("pathfinder_db_operation") && l.contains("\"ro\"")));
    let sre = c.token("sre_sam").await;
    let page = c.send(Method::GET, "/queries", Some(&sre), None, "").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in ["users::search_users", "data-test-id=\"slowest\"", "PF_SLOW_QUERY_MS"] {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    let comp = c.token("comp_cy").await;
    assert_eq!(c.send(Method::GET, "/queries", Some(&comp), None, "").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn metrics_need_the_bearer_token_and_carry_no_user_names() {
    let c = Console::new();
    let token = c.token("root").await;
    c.login("root", "wrong password").await;
    c.send(Method::GET, "/users", Some(&token), None, "").await;
    c.send(Method::from_bytes(b"BREW").unwrap(), "/healthz", None, Some(&format!("http://{HOST}")), "").await;
    assert_eq!(c.send(Method::GET, "/metrics", None, None, "").await.status, StatusCode::UNAUTHORIZED);
    let req = Request::builder()
        .uri("/metrics")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {METRICS_TOKEN}"));
    let resp = c.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    for metric in [
        "pathfinder_http_request_duration_seconds_bucket{method=\"GET\",route=\"/users\",status=\"200\"",
        "pathfinder_http_requests_in_flight",
        "pathfinder_db_connections{state=\"active\"}",
        "pathfinder_db_connections{state=\"idle\"}",
        "pathfinder_db_connections_max 4",
        "pathfinder_db_connections_min 0",
        "pathfinder_db_connections_pending 0",
        "pathfinder_db_connections_acquire_seconds_count",
        "pathfinder_db_connections_usage_seconds_count",
        "pathfinder_db_connections_timeout_total",
        "pathfinder_logins_total{outcome=\"success\"}",
        "pathfinder_logins_total{outcome=\"failure\"}",
        "pathfinder_http_request_duration_seconds_count{method=\"other\",route=\"/healthz\"",
    ] {
        assert!(body.contains(metric), "{metric} missing from\n{body}");
    }
    assert!(!body.contains("root") && !body.contains("example.com") && !body.contains("BREW"));
    assert_eq!(c.send(Method::GET, "/healthz", None, None, "").await.body, "ok");
    assert_eq!(c.send(Method::GET, "/readyz", None, None, "").await.body, "ready");
}

/// Without a token, metrics answer only scrapes from this machine.
#[tokio::test]
async fn metrics_without_a_token_answer_only_on_loopback() {
    let c = Console::configured(|c| c.metrics_token = None);
    let scrape = |peer: &str| {
        let mut req = Request::builder().uri("/metrics").header(header::HOST, HOST).body(Body::empty()).unwrap();
        let addr: std::net::SocketAddr = peer.parse().unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
        c.exchange(req)
    };
    let (status, body) = scrape("192.0.2.7:40000").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("PF_METRICS_TOKEN"), "{body}");
    let (status, body) = scrape("127.0.0.1:40000").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("pathfinder_http_requests_in_flight"), "{body}");
    assert_eq!(scrape("[::1]:40000").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_grafana_dashboard_and_the_alert_rules_name_only_metrics_the_console_exports() {
    let _turn = UPKEEP_GAUGES.lock().await;
    let c = Console::new();
    let policy = pathfinder::storage::KeyPolicy { rotation_days: 90 };
    pathfinder_server::jobs::overview::refresh(&Db::new(c.storage.clone()), &c.overview, policy).await.unwrap();
    // The upkeep job's round fills the database-wide gauges (each table's size, too).
    pathfinder_server::jobs::upkeep::round(&Db::new(c.storage.clone()), &upkeep()).await;
    c.send(Method::GET, "/users", Some(&c.token("root").await), None, "").await;
    let scrape = c.scrape().await;
    let exported: std::collections::HashSet<&str> =
        scrape.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(['{', ' ']).next()).collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for file in ["deploy/grafana/pathfinder.json", "deploy/prometheus/alerts.yml"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let named: std::collections::BTreeSet<&str> = text
            .match_indices("pathfinder_")
            .map(|(at, _)| {
                let rest = &text[at..];
                &rest[..rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')).unwrap_or(rest.len())]
            })
            .collect();
        assert!(named.len() >= 5, "{file}: {named:?}");
        for name in named {
            assert!(exported.contains(name), "{file} names {name}, which /metrics does not export:\n{scrape}");
        }
    }
}

/// An audited write that fails in the database (here a change refused as a full
/// disk refuses it) counts in `pathfinder_audit_write_failures_total`, which
/// `PathfinderAuditWritesFailing` watches. Before, only a failed insert of the audit
/// row itself counted: on a full disk 1,292 writes failed and the counter stayed 0.
#[tokio::test]
async fn audited_writes_that_fail_in_the_database_are_counted() {
    let c = Console::new();
    let token = c.token("root").await;
    let failures = |scrape: &str| -> f64 {
        scrape
            .lines()
            .find_map(|l| l.strip_prefix("pathfinder_audit_write_failures_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let before = failures(&c.scrape().await);
    sqlite_exec(
        &c,
        "CREATE TRIGGER disk_full BEFORE UPDATE ON pf_users BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    );
    let sam = c.user_id("sre_sam");
    let r = c.post("/api/set_user_status", Some(&token), &format!("user_id={}&status=suspended", sam.0)).await;
    assert!(r.status.is_server_error(), "{} {}", r.status, r.body);
    assert!(failures(&c.scrape().await) > before, "the failed write was not counted");
    assert_eq!(c.storage.user_profile(&sam).unwrap().summary.account_status, "active", "nothing changed");
}
