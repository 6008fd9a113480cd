//! Retention: policies refused when they would do harm or nothing; a dry run that
//! counts what the real run then does; a run stopped midway and resumed from its
//! position under the same lease rules; the per-user archive filled; the audit
//! chain still verifying from its signed cut after its oldest events went.

use crate::common::{audit, trust};
use crate::{count, Harness};
use pathfinder::audit::{AuditFilter, AuditJobKind};
use pathfinder::retention::{PolicyEdit, RetentionSummary};
use pathfinder::storage::{AuditEntry, RefreshWhen, RetentionRequest, Storage, TableRows, Value};
use pathfinder::{AppError, Username};

checks!(retention_runs, a_signal_stops_a_retention_run_between_batches);

const KEY: &[u8] = b"a test audit key of 32 characters!!";

fn edit(pattern: &str, days: i64, archive: bool, delete: bool) -> PolicyEdit {
    PolicyEdit { table_pattern: pattern.into(), retention_days: days, archive_enabled: archive, delete_enabled: delete }
}

/// What each table's run did, comparable between a dry run and a real one.
fn per_table(s: &RetentionSummary) -> Vec<(String, u64, u64, u64)> {
    s.tables.iter().map(|t| (t.table.clone(), t.archived, t.deleted, t.units)).collect()
}

/// A run now, told to stop (as a killed one stops) once `stop` says so.
fn run(
    s: &dyn Storage,
    dry: bool,
    now: chrono::DateTime<chrono::Utc>,
    stop: impl Fn(&RetentionSummary) -> bool,
) -> Result<Option<RetentionSummary>, AppError> {
    let req = RetentionRequest { dry_run: dry, when: RefreshWhen::Now, now, audit_key: Some(KEY) };
    s.run_retention(&req, &audit("retention.run"), &mut |summary| !stop(summary))
}

fn table(s: &RetentionSummary, table: &str) -> pathfinder::retention::TableOutcome {
    s.tables.iter().find(|t| t.table == table).cloned().unwrap()
}

fn never(_: &RetentionSummary) -> bool {
    false
}

fn fill(s: &dyn Storage, owner: &Username) {
    s.provision_user_tables(owner, &audit("user_tables.provision")).unwrap();
    let t = |x: &str| Value::Text(x.to_string());
    let day = |y: i32| Value::Date(chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap());
    let name = |table: &str| format!("pf_user_{owner}_{table}");
    let experiences = TableRows {
        table: name("experiences"),
        columns: &["id", "title", "company", "start_date", "end_date"],
        rows: vec![
            vec![t("r1"), t("Junior auditor"), t("KPMG"), day(2010), day(2012)],
            vec![t("r2"), t("Senior auditor"), t("KPMG"), day(2012), day(2016)],
            vec![t("r3"), t("Controller"), t("Shopify"), day(2016), Value::Null],
        ],
    };
    let conversations = TableRows {
        table: name("chat_conversations"),
        columns: &["id", "title"],
        rows: vec![vec![t("c1"), t("Plans")]],
    };
    let messages = TableRows {
        table: name("chat_messages"),
        columns: &["id", "conversation_id", "role", "content"],
        rows: (0..4).map(|i| vec![t(&format!("m{i}")), t("c1"), t("user"), t("hello")]).collect(),
    };
    s.fill_user_tables(owner, &[experiences, conversations, messages], &audit("user_tables.fill")).unwrap();
}

fn rows_of(s: &dyn Storage, owner: &Username, table: &str) -> i64 {
    let set = s.user_table_set(owner).unwrap().unwrap();
    set.tables.iter().find(|t| t.name == format!("pf_user_{owner}_{table}")).map_or(-1, |t| t.rows)
}

/// The retention job's record: its last finished run's status, whether a run was
/// stopped since, and whether anyone holds its lease.
fn job_state(h: &Harness) -> String {
    let field = |sql: &str| (h.raw_text)(&format!("SELECT {sql} FROM pf_console_jobs WHERE job_name = 'retention'"));
    let stopped = field("COUNT(stopped_at)").as_deref() == Some("1");
    let held = field("COUNT(lease_owner)").as_deref() == Some("1");
    format!(
        "{}{}, lease {}",
        field("last_status").unwrap_or_else(|| "never".into()),
        if stopped { ", stopped since" } else { "" },
        if held { "held" } else { "free" }
    )
}

/// SIGTERM (here sent by the run to itself after its first batch) stops
/// `retention run` between batches: what it deleted stays deleted, the run is
/// recorded as stopped with its outcome audited, the lease is free, and running the
/// command again at once finishes the work. `serve` does the same with its
/// scheduled run when it is told to shut down, and then exits.
fn a_signal_stops_a_retention_run_between_batches(h: &Harness) {
    let s = h.storage.as_ref();
    let user = crate::common::add_user(s, "conf_ret_signal", "active", &[]);
    let old = |n: i64| Value::Time(chrono::Utc::now() - chrono::Duration::days(400) + chrono::Duration::seconds(n));
    let events = |from: i64, to: i64| TableRows {
        table: "pf_user_analytics".into(),
        columns: &["analytics_id", "user_id", "event_type", "event_timestamp"],
        rows: (from..to)
            .map(|n| {
                vec![
                    Value::Text(format!("01JSIGNAL{n:017}")),
                    Value::Text(user.0.clone()),
                    Value::Text("view".into()),
                    old(n),
                ]
            })
            .collect(),
    };
    s.insert_batch(&[events(0, 2_500)], &AuditEntry { entity_id: Some("retention".into()), ..audit("data.import") })
        .unwrap();
    let policy = s
        .save_retention_policy(None, &edit("pf_user_analytics", 30, false, true), &audit("retention.policy.create"))
        .unwrap();
    let left = || (h.raw_text)(&format!("SELECT COUNT(*) FROM pf_user_analytics WHERE user_id = '{user}'")).unwrap();
    let signal_at = |point: &str| [("PF_TEST_SIGNAL_AT", point.to_string())];
    let runs = || (count(s, "retention.run.begin"), count(s, "retention.run"));
    let before = runs();

    let out = (h.cli)(&["retention", "run"], &signal_at("retention.step_committed"));
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(said.contains("Stopped midway: the next run resumes it."), "{said}");
    assert_eq!(left(), "1500", "the first batch went, the rest waits");
    assert!(job_state(h).ends_with("stopped since, lease free"), "{}", job_state(h));
    let outcome = s.recent_audit(5).unwrap().into_iter().find(|r| r.action == "retention.run").expect("its outcome");
    assert_eq!(
        outcome.detail.as_deref(),
        Some("Stopped midway: 0 rows archived and 1000 deleted so far; the next run goes on from there.")
    );

    let out = (h.cli)(&["retention", "run"], &[]);
    assert!(out.status.success(), "resumed at once: {out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("resumed"), "{out:?}");
    assert_eq!(left(), "0");
    assert_eq!(job_state(h), "ok, lease free", "finished: no longer stopped");
    assert_eq!(runs(), (before.0 + 2, before.1 + 2), "each start with its outcome");

    // A signal that comes after the run's last step: the run went through.
    s.insert_batch(
        &[events(5_000, 5_500)],
        &AuditEntry { entity_id: Some("retention".into()), ..audit("data.import") },
    )
    .unwrap();
    let out = (h.cli)(&["retention", "run"], &signal_at("retention.step_committed"));
    assert!(out.status.success(), "finished, not stopped: {out:?}");
    assert_eq!(left(), "0");
    assert_eq!(job_state(h), "ok, lease free");
    let outcome = s.recent_audit(5).unwrap().into_iter().find(|r| r.action == "retention.run").expect("its outcome");
    assert!(!outcome.detail.as_deref().unwrap_or_default().contains("Stopped"), "{outcome:?}");

    if h.oracle {
        // `serve` on Oracle needs the platform's secrets; the job's code is the same.
        s.delete_retention_policy(&policy.id, &audit("retention.policy.delete")).unwrap();
        return;
    }
    // `serve`: its first round's retention run is told to stop by the shutdown.
    s.insert_batch(
        &[events(2_500, 5_000)],
        &AuditEntry { entity_id: Some("retention".into()), ..audit("data.import") },
    )
    .unwrap();
    (h.raw)("UPDATE pf_console_jobs SET last_finished_at = NULL WHERE job_name = 'retention'");
    let out = (h.cli)(&["serve", "--listen", "127.0.0.1:0"], &signal_at("retention.step_committed"));
    assert!(out.status.success(), "a graceful stop: {out:?}");
    assert_eq!(left(), "1500", "stopped after its first batch, not at the end of the run");
    assert!(job_state(h).ends_with("stopped since, lease free"), "{}", job_state(h));
}

fn retention_runs(h: &Harness) {
    let s = h.storage.as_ref();
    let owner = Username::parse("conf_keeper").unwrap();
    fill(s, &owner);
    let user = crate::common::add_user(s, "conf_ret_events", "active", &[]);
    let at = |n: i64| Value::Time(chrono::Utc::now() - chrono::Duration::days(2) + chrono::Duration::seconds(n));
    let events = TableRows {
        table: "pf_user_analytics".into(),
        columns: &["analytics_id", "user_id", "event_type", "event_timestamp"],
        rows: (0..1_200)
            .map(|n| {
                vec![
                    Value::Text(format!("01JRETENTION{n:014}")),
                    Value::Text(user.0.clone()),
                    Value::Text("view".into()),
                    at(n),
                ]
            })
            .collect(),
    };
    s.insert_batch(&[events], &AuditEntry { entity_id: Some("retention".into()), ..audit("data.import") }).unwrap();

    // Refused, each with a sentence, and nothing written.
    let before = s.recent_audit(1).unwrap();
    for (bad, why) in [
        (edit("pf_user_*_skills", 30, false, true), "matches no table"),
        (edit("pf_user_nobody_experiences", 30, false, true), "no user's tables"),
        (edit("pf_user_analytics", 0, false, true), "1 to"),
        (edit("pf_user_analytics", 30, false, false), "turn one of them on"),
        (edit("pf_user_*_chat_messages", 30, true, true), "has no archive table"),
        (edit("pf_user_*", 30, true, true), "has no archive table"),
        (edit("pf_user_analytics; drop table x", 30, false, true), "table name"),
    ] {
        match s.save_retention_policy(None, &bad, &audit("retention.policy.create")) {
            Err(AppError::Invalid(said)) => assert!(said.contains(why), "{said}"),
            other => panic!("{bad:?} was not refused: {other:?}"),
        }
    }
    assert_eq!(s.recent_audit(1).unwrap(), before, "refusals write nothing");
    assert!(s.retention_page().unwrap().policies.is_empty());

    let save = |e: PolicyEdit| s.save_retention_policy(None, &e, &audit("retention.policy.create")).unwrap();
    let analytics = save(edit("PF_USER_ANALYTICS", 365, false, true));
    assert_eq!(analytics.table_pattern, "pf_user_analytics", "kept in lower case");
    save(edit("pf_user_sessions", 365, false, true));
    save(edit("pf_user_*_experiences", 365, true, true));
    save(edit("pf_user_conf_keeper_chat_messages", 365, false, true));
    assert!(matches!(
        s.save_retention_policy(None, &edit("pf_user_sessions", 30, false, true), &audit("retention.policy.create")),
        Err(AppError::Conflict(_))
    ));
    let changed = s
        .save_retention_policy(
            Some(&analytics.id),
            &edit("pf_user_analytics", 400, false, true),
            &audit("retention.policy.update"),
        )
        .unwrap();
    assert_eq!(changed.retention_days, 400);
    let said = s.recent_audit(1).unwrap().remove(0);
    assert_eq!(said.action, "retention.policy.update");
    assert_eq!(
        said.detail.as_deref(),
        Some("pf_user_analytics: delete after 365 days -> pf_user_analytics: delete after 400 days")
    );
    s.save_retention_policy(
        Some(&analytics.id),
        &edit("pf_user_analytics", 365, false, true),
        &audit("retention.policy.update"),
    )
    .unwrap();
    assert_eq!(count(s, "retention.policy.create"), 4);

    // The console's newer events, then an import of older history: chained out of
    // time order, and the older event not yet verified.
    let raw_event = |id: &str, action: &str, at: &str| {
        (h.raw)(&format!("INSERT INTO pf_audit_log (id, action, created_at) VALUES ('{id}', '{action}', {at})"))
    };
    raw_event("01JRETENTIONNEWER000000001", "retention.probe.newer", h.far_future);
    s.chain_pending(None, 100).unwrap();
    raw_event("01JRETENTIONOLDER000000001", "retention.probe.older", h.long_ago);
    s.chain_pending(None, 100).unwrap();
    match s.save_retention_policy(None, &edit("pf_audit_log", 365, false, true), &audit("retention.policy.create")) {
        Err(AppError::Invalid(said)) => assert!(said.contains("verify the chain"), "{said}"),
        other => panic!("the unverified tail was not protected: {other:?}"),
    }
    // The chain verified whole now: events up to here may go, none after.
    let job = s.start_audit_job(AuditJobKind::Verify, "the whole chain", &audit("audit.verify.begin")).unwrap();
    s.run_audit_job(&job, AuditJobKind::Verify, &AuditFilter::default(), &trust(Some(KEY)), &audit("audit.verify"))
        .unwrap();
    s.append_audit(&audit("retention.after.verify")).unwrap();
    save(edit("pf_audit_log", 365, false, true));

    // A year and more ahead, everything written today is due.
    let ahead = chrono::Utc::now() + chrono::Duration::days(400);
    let dry = run(s, true, ahead, never).unwrap().expect("a dry run");
    assert!(dry.finished && dry.dry_run);
    let planned = per_table(&dry);
    assert_eq!(table(&dry, "pf_user_*_experiences").archived, 2, "the two that ended; the current one stays");
    assert_eq!(table(&dry, "pf_user_*_experiences").deleted, 2);
    assert_eq!(table(&dry, "pf_user_*_chat_messages").deleted, 4);
    assert!(table(&dry, "pf_user_analytics").deleted >= 1_200);
    let audit_plan = table(&dry, "pf_audit_log");
    // Every event the verification covered goes, but the newer one chained before
    // the imported older event.
    let verified: u64 = (h.raw_text)("SELECT MAX(verified_seq) FROM pf_audit_jobs").unwrap().parse().unwrap();
    assert_eq!(audit_plan.deleted, verified - 1, "{audit_plan:?}");
    let note = audit_plan.note.clone().unwrap_or_default();
    assert!(note.contains("where the last whole verification"), "{audit_plan:?}");
    // The newer event chained before the imported older one stays below the cut.
    assert_eq!(audit_plan.units, 1, "{audit_plan:?}");
    assert!(note.contains("1 newer events written out of time order"), "{audit_plan:?}");
    assert_eq!(rows_of(s, &owner, "experiences"), 3, "a dry run changes nothing");
    assert_eq!(rows_of(s, &owner, "experiences_archive"), 0);

    // A run told to stop midway (Ctrl-C, SIGTERM, a shutdown) keeps what it did,
    // records itself as stopped and gives its lease back; the next resumes it with
    // its own clock and ends with the dry run's numbers.
    let midway = |s: &RetentionSummary| table(s, "pf_user_analytics").deleted > 0;
    let stopped = run(s, false, ahead, midway).unwrap().expect("a run");
    assert!(!stopped.finished);
    let analytics = table(&stopped, "pf_user_analytics");
    assert!(!analytics.done && analytics.deleted == 1_000, "stopped after a batch: {analytics:?}");
    assert!(table(&stopped, "pf_user_*_experiences").done);
    assert!(job_state(h).ends_with("stopped since, lease free"), "{}", job_state(h));
    // One run at a time: while another instance holds the lease, none starts.
    (h.raw)(&format!(
        "UPDATE pf_console_jobs SET lease_owner = 'another', lease_until = {} WHERE job_name = 'retention'",
        h.far_future
    ));
    assert!(matches!(run(s, false, ahead, never), Err(AppError::Conflict(_))), "one run at a time");
    (h.raw)(&format!("UPDATE pf_console_jobs SET lease_until = {} WHERE job_name = 'retention'", h.long_ago));
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    let done = run(s, false, later, never).unwrap().expect("the resumed run");
    assert!(done.finished && done.resumed && !done.dry_run);
    assert_eq!(done.as_of, dry.as_of, "the resumed run keeps the stopped run's clock");
    assert_eq!(per_table(&done), planned, "the real run did what the dry run said");
    assert_eq!(rows_of(s, &owner, "experiences"), 1);
    assert_eq!(rows_of(s, &owner, "experiences_archive"), 2, "archived once, though resumed");
    assert_eq!(rows_of(s, &owner, "chat_messages"), 0);
    assert_eq!((count(s, "retention.run.begin"), count(s, "retention.run")), (2, 2));
    let outcomes: Vec<String> = s
        .recent_audit(50)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "retention.run")
        .map(|r| r.detail.unwrap_or_default())
        .collect();
    assert!(outcomes[0].starts_with("Retention, resumed: archived 2 rows"), "{outcomes:?}");
    let stopped_note =
        format!("Stopped midway: {} rows archived and {} deleted so far", stopped.archived(), stopped.deleted());
    assert!(outcomes[1].starts_with(&stopped_note), "{outcomes:?}");
    let page = s.retention_page().unwrap();
    assert!(page.policies.iter().all(|p| p.last_run.is_some()));
    let last = page.last_run.unwrap();
    assert_eq!((last.outcome.as_deref(), last.summary.finished), (Some("ok"), true));

    // The chain verifies from its signed cut, with the key and without.
    let report = s.verify_audit_chain(&trust(Some(KEY)), &mut |_, _| true).unwrap();
    assert_eq!(report.problem, None, "{}", report.summary());
    assert!(report.starts_after > 0 && report.summary().contains("retention cut"), "{}", report.summary());
    // Events kept below the cut (written out of time order) are counted as standing
    // outside verification, never passed over in silence.
    let below: i64 =
        (h.raw_text)(&format!("SELECT COUNT(*) FROM pf_audit_log WHERE chain_seq <= {}", report.starts_after))
            .unwrap()
            .parse()
            .unwrap();
    assert_eq!(report.below_cut, below as u64);
    assert_eq!(report.summary().contains("below the retention cut"), below > 0, "{}", report.summary());
    assert_eq!(
        s.verify_audit_chain(&pathfinder::witness::ChainTrust::default(), &mut |_, _| true).unwrap().problem,
        None
    );
    assert!(
        s.recent_audit(100_000).unwrap().iter().any(|r| r.action == "retention.after.verify"),
        "unverified events stay"
    );
    // A forged cut shows.
    let mac = (h.raw_text)("SELECT mac FROM pf_audit_chain_cuts").unwrap();
    (h.raw)(&format!("UPDATE pf_audit_chain_cuts SET mac = '{}'", "0".repeat(64)));
    let forged = s.verify_audit_chain(&trust(Some(KEY)), &mut |_, _| true).unwrap();
    assert_eq!(forged.problem.map(|p| p.kind), Some(pathfinder::audit::BreakKind::Checkpoint));
    (h.raw)(&format!("UPDATE pf_audit_chain_cuts SET mac = '{mac}'"));

    // Nothing is left to do: a second run changes nothing.
    let again = run(s, false, ahead, never).unwrap().expect("a run");
    assert!(again.finished && !again.resumed);
    assert_eq!((again.archived(), again.deleted()), (0, 0), "{}", again.text());

    // Policies are removed, audited.
    for p in s.retention_page().unwrap().policies {
        s.delete_retention_policy(&p.id, &audit("retention.policy.delete")).unwrap();
    }
    assert_eq!(count(s, "retention.policy.delete"), 5);
    assert!(matches!(s.delete_retention_policy("nope", &audit("retention.policy.delete")), Err(AppError::NotFound(_))));
}
