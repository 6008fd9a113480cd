//! Access reviews over HTTP: compliance reviewers start campaigns (mailing the
//! reviewers), administrators and compliance reviewers decide lines, SREs reach
//! none of it; a revocation ends the account's sessions at once; the closed
//! campaign's report and its signature download (audited) and check with the
//! public key alone, with our code and with OpenSSL.

use crate::harness::*;
use pathfinder::access_reviews::{Campaign, CampaignView, Decided};

fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", v.replace(' ', "+"))).collect::<Vec<_>>().join("&")
}

async fn view(c: &Console, token: &str, id: &str) -> CampaignView {
    let r = c.post("/api/access_review", Some(token), &form(&[("review_id", id)])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    serde_json::from_str::<Option<CampaignView>>(&r.body).unwrap().expect("the campaign")
}

async fn decide(c: &Console, token: &str, line: &str, decision: &str, comment: &str) -> Reply {
    c.post(
        "/api/decide_access_line",
        Some(token),
        &form(&[("line_id", line), ("decision", decision), ("comment", comment)]),
    )
    .await
}

#[tokio::test]
async fn a_campaign_is_started_decided_and_its_signed_report_checks() {
    let c = Console::new();
    let (comp, root, sre) = (c.token("comp_cy").await, c.token("root").await, c.token("sre_sam").await);
    let start = form(&[("name", "Q4 console access"), ("scope", "all"), ("days", "14")]);
    for (who, token) in [("root", &root), ("sre_sam", &sre)] {
        let r = c.post("/api/start_access_review", Some(token), &start).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} starts no campaign");
    }
    let bad = c
        .post("/api/start_access_review", Some(&comp), &form(&[("name", "x"), ("scope", "all"), ("days", "400")]))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let r = c.post("/api/start_access_review", Some(&comp), &start).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let campaign: Campaign = serde_json::from_str(&r.body).unwrap();
    assert_eq!(campaign.lines, 3, "root, sre_sam and comp_cy, one role each");
    let mail = std::fs::read_to_string(c.dir.path().join("outbox.txt")).unwrap_or_default();
    assert_eq!(
        mail.matches("Access review started: Q4 console access").count(),
        2,
        "root and comp_cy are told: {mail}"
    );
    assert!(mail.contains(&format!("/access-reviews/{}", campaign.review_id)), "{mail}");

    for token in [&comp, &root] {
        let page = c.send(Method::GET, &format!("/access-reviews/{}", campaign.review_id), Some(token), None, "").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("data-test-id=\"access-line\""), "{}", page.body);
        let list = c.send(Method::GET, "/access-reviews", Some(token), None, "").await;
        assert!(list.body.contains("Q4 console access"));
    }
    assert_eq!(c.send(Method::GET, "/access-reviews", Some(&sre), None, "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.post("/api/access_reviews", Some(&sre), "").await.status, StatusCode::FORBIDDEN);

    let v = view(&c, &comp, &campaign.review_id).await;
    let line = |name: &str| v.lines.iter().find(|l| l.username == name).unwrap().line_id.clone();
    let own = decide(&c, &comp, &line("comp_cy"), "keep", "fine").await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST, "{}", own.body);
    let early = c
        .send(Method::GET, &format!("/export/access-review/{}/report.csv", campaign.review_id), Some(&comp), None, "")
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "no report before the close");

    // Revoking SRE from sre_sam ends their session at once.
    let r = decide(&c, &comp, &line("sre_sam"), "revoke", "left the team").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let done: Decided = serde_json::from_str(&r.body).unwrap();
    assert!(done.role_removed && done.sessions_ended >= 1, "{done:?}");
    assert_ne!(c.send(Method::GET, "/pool", Some(&sre), None, "").await.status, StatusCode::OK, "the session ended");
    let twice = decide(&c, &root, &line("sre_sam"), "keep", "no").await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(decide(&c, &root, &line("comp_cy"), "keep", "runs the reviews").await.status, StatusCode::OK);
    let last = decide(&c, &comp, &line("root"), "keep", "the only administrator").await;
    assert!(serde_json::from_str::<Decided>(&last.body).unwrap().closed, "{}", last.body);

    // The report, its signature and the public key; checked with the key alone.
    let base = format!("/export/access-review/{}/report.csv", campaign.review_id);
    let report = c.send(Method::GET, &base, Some(&comp), None, "").await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.body.starts_with("review_id,campaign,scope,"), "{}", report.body);
    assert!(report.body.contains("sre_sam") && report.body.contains("revoke,left the team,comp_cy"), "{}", report.body);
    let sig = c.send(Method::GET, &format!("{base}.sig"), Some(&root), None, "").await;
    assert_eq!((sig.status, sig.bytes.len()), (StatusCode::OK, 64));
    let key = c.send(Method::GET, "/export/access-review-key.pem", Some(&comp), None, "").await;
    assert!(key.body.starts_with("-----BEGIN PUBLIC KEY-----"), "{}", key.body);
    use pathfinder_server::export::access_reviews::verify;
    verify(&key.body, &report.bytes, &sig.bytes).expect("the signature holds");
    let mut changed = report.bytes.clone();
    changed.extend_from_slice(b"x");
    assert!(verify(&key.body, &changed, &sig.bytes).is_err());
    let page = c.send(Method::GET, &format!("/access-reviews/{}", campaign.review_id), Some(&comp), None, "").await;
    assert!(page.body.contains("data-test-id=\"access-summary\"") && page.body.contains("BEGIN PUBLIC KEY"));
    openssl_checks(&c, &key.body, &report.bytes, &sig.bytes, &changed);
    add_console_user(&c.storage, "sre_sue", pathfinder::Role::Sre);
    let other_sre = c.token("sre_sue").await;
    assert_eq!(c.send(Method::GET, &base, Some(&other_sre), None, "").await.status, StatusCode::FORBIDDEN);

    let actions = c.actions();
    for action in [
        "access_review.start",
        "access_review.keep",
        "access_review.revoke",
        "access_review.close",
        "read.access_review",
        "read.access_review.report",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

/// What an auditor runs: OpenSSL 3 checks the signature with the public key and
/// refuses a changed report. Reported as skipped where no `openssl` is installed.
fn openssl_checks(c: &Console, pem: &str, report: &[u8], sig: &[u8], changed: &[u8]) {
    let dir = c.dir.path();
    let (key, good, bad, sig_file) =
        (dir.join("key.pem"), dir.join("r.csv"), dir.join("bad.csv"), dir.join("r.csv.sig"));
    std::fs::write(&key, pem).unwrap();
    std::fs::write(&good, report).unwrap();
    std::fs::write(&bad, changed).unwrap();
    std::fs::write(&sig_file, sig).unwrap();
    let run = |file: &std::path::Path| {
        std::process::Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&key)
            .arg("-rawin")
            .arg("-in")
            .arg(file)
            .arg("-sigfile")
            .arg(&sig_file)
            .output()
    };
    // Our CLI, as an auditor without the database runs it: the key file only.
    let ours = |file: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pathfinder-admin"))
            .args(["access-review", "verify", "--report"])
            .arg(file)
            .arg("--signature")
            .arg(&sig_file)
            .arg("--public-key")
            .arg(&key)
            .env("PF_DATABASE_URL", "sqlite:///nonexistent/folder/pf.db")
            .output()
            .unwrap();
        out.status.code()
    };
    assert_eq!((ours(&good), ours(&bad)), (Some(0), Some(1)), "the CLI checks with the key alone");
    match run(&good) {
        Err(_) => eprintln!("SKIPPED: openssl is not installed; the signature was checked with ed25519-dalek only"),
        Ok(out) => {
            assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
            assert!(!run(&bad).unwrap().status.success(), "a changed report fails");
        }
    }
}

/// The upkeep round reminds the reviewers of a campaign due within two days (once,
/// however many rounds or instances) and closes one past its deadline, its open
/// lines reported.
#[tokio::test]
async fn the_upkeep_reminds_reviewers_and_closes_at_the_deadline() {
    let _gauges = UPKEEP_GAUGES.lock().await;
    let c = Console::new();
    let comp = c.token("comp_cy").await;
    let start = form(&[("name", "Due soon"), ("scope", "sre"), ("days", "14")]);
    let r = c.post("/api/start_access_review", Some(&comp), &start).await;
    let campaign: Campaign = serde_json::from_str(&r.body).unwrap();
    // A day left: within the two days of the reminder.
    sqlite_exec(
        &c,
        &format!(
            "UPDATE pf_access_reviews SET deadline = strftime('%Y-%m-%d %H:%M:%f000', 'now', '+1 day')
             WHERE review_id = '{}'",
            campaign.review_id
        ),
    );
    let outbox = c.dir.path().join("outbox.txt");
    let upkeep = pathfinder_server::jobs::upkeep::Upkeep {
        outbox: Some(pathfinder::mail::Outbox {
            mailer: std::sync::Arc::new(pathfinder::mail::OutboxMailer { path: outbox.clone() }),
            public_url: "http://console.test".into(),
        }),
        ..upkeep()
    };
    let db = Db::new(c.storage.clone());
    for _ in 0..2 {
        pathfinder_server::jobs::upkeep::round(&db, &upkeep).await;
    }
    let mail = std::fs::read_to_string(&outbox).unwrap();
    assert_eq!(mail.matches("Access review due").count(), 2, "root and comp_cy, once: {mail}");
    assert!(mail.contains(&format!("http://console.test/access-reviews/{}", campaign.review_id)), "{mail}");

    // Past its deadline: the next round closes it, the SRE's line left open.
    sqlite_exec(
        &c,
        &format!(
            "UPDATE pf_access_reviews SET deadline = '2020-01-01 00:00:00.000000' WHERE review_id = '{}'",
            campaign.review_id
        ),
    );
    let refused = decide(&c, &comp, &view(&c, &comp, &campaign.review_id).await.lines[0].line_id, "keep", "late").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    pathfinder_server::jobs::upkeep::round(&db, &upkeep).await;
    let closed = view(&c, &comp, &campaign.review_id).await;
    assert_eq!(closed.campaign.close_reason, Some(pathfinder::access_reviews::CloseReason::Deadline));
    assert_eq!(closed.campaign.undecided(), 1);
    let rows = c.storage.recent_audit(200).unwrap();
    let close = rows.iter().find(|r| r.action == "access_review.close").expect("the close row");
    assert!(close.detail.as_deref().is_some_and(|d| d.contains("1 lines left open: sre_sam (sre)")), "{close:?}");
    let report = c
        .send(Method::GET, &format!("/export/access-review/{}/report.csv", campaign.review_id), Some(&comp), None, "")
        .await;
    assert!(report.body.contains(",undecided,"), "{}", report.body);
}
