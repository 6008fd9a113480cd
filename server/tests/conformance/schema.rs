//! Migrations and the schema check.

use crate::common::audit;
use crate::{count, Harness, VERSION};
use std::sync::Arc;

checks!(migrate_is_idempotent, concurrent_migrations_apply_each_step_once, schema_check_reports_changed_definitions);

fn migrate_is_idempotent(h: &Harness) {
    let s = h.s();
    let again = s.migrate(&audit("schema.migrate")).expect("second migrate");
    assert!(again.applied.is_empty(), "nothing left to apply: {:?}", again.applied);
    assert_eq!(s.schema_version().unwrap(), VERSION);
    assert_eq!(s.schema_check().unwrap(), vec![], "a fresh database has no drift");
}

/// Two instances migrating at once (`serve --migrate` on two machines): each step is
/// applied once, by one of them, with one version row and one audit row.
fn concurrent_migrations_apply_each_step_once(h: &Harness) {
    // Make the last five steps pending again, with real work left in them.
    for table in [
        "pf_ref_cpa_competencies",
        "pf_cpa_report_checks",
        "pf_cpa_reports_dirty",
        "pf_cpa_counts",
        "pf_cpa_due_counts",
        "pf_analytics_daily",
        "pf_analytics_top_daily",
        "pf_analytics_sessions_daily",
        "pf_analytics_sessions_seen",
        "pf_analytics_user_days",
        "pf_analytics_active_changes",
        "pf_analytics_progress",
        "pf_security_findings",
        "pf_console_instances",
        "pf_user_stats_activity",
        "pf_dormant_jobs",
    ] {
        (h.raw)(&format!("DROP TABLE {table}"));
    }
    (h.raw)("DELETE FROM pf_console_jobs WHERE job_name = 'security_review'");
    (h.raw)("DROP INDEX idx_analytics_time_id");
    for index in [
        "reports_status",
        "reports_user",
        "reports_deadline",
        "reports_employer",
        "reports_period",
        "reports_length",
        "reports_status_deadline",
        "reports_status_period",
        "experiences_report",
        "breakdown_experience",
        "time_user",
        "milestones_user",
        "submissions_report",
        "submissions_user",
        "history_submission",
        "history_user",
        "submissions_due",
    ] {
        (h.raw)(&format!("DROP INDEX idx_cpa_{index}"));
    }
    for table in ["reports", "experiences", "time", "submissions"] {
        if h.oracle {
            (h.raw)(&format!("DROP TRIGGER pf_cpa_dirty_{table}"));
        } else {
            for event in ["insert", "update", "delete"] {
                (h.raw)(&format!("DROP TRIGGER pf_cpa_dirty_{table}_{event}"));
            }
        }
    }
    (h.raw)("ALTER TABLE pf_console_jobs DROP COLUMN stopped_at");
    (h.raw)("DROP INDEX idx_invitation_created");
    (h.raw)("DROP TABLE pf_audit_counts_total");
    if !h.oracle {
        for trigger in ["insert", "chain", "delete"] {
            (h.raw)(&format!("DROP TRIGGER pf_audit_messages_search_{trigger}"));
        }
        (h.raw)("DROP TABLE pf_audit_messages_search");
    }
    (h.raw)("DELETE FROM pf_schema_version WHERE version >= 20");
    let steps = count(h.storage.as_ref(), "schema.migrate");
    let instances: Vec<_> = (0..2).map(|_| (h.another_instance)()).collect();
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let runs: Vec<_> = instances
        .into_iter()
        .map(|s| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                s.migrate(&audit("schema.migrate"))
            })
        })
        .collect();
    let reports: Vec<_> = runs.into_iter().map(|r| r.join().unwrap().expect("both migrations succeed")).collect();
    // Each step once, whichever instance took it (they may take turns step by step).
    let mut applied: Vec<&String> = reports.iter().flat_map(|r| &r.applied).collect();
    applied.sort();
    assert_eq!(
        applied,
        [
            "0020_cpa_pert_oversight",
            "0021_cpa_pert_periods",
            "0022_analytics",
            "0023_security_review",
            "0024_dormant_users",
            "0025_access_reviews",
            "0026_stopped_jobs",
            "0027_pages_at_scale",
            "0028_audit_message_search",
            "0029_audit_time_walk_actor"
        ],
        "{reports:?}"
    );
    let s = h.storage.as_ref();
    assert_eq!(count(s, "schema.migrate"), steps + 10, "one audit row a step");
    assert_eq!(s.schema_version().unwrap(), VERSION);
    assert_eq!(s.schema_check().unwrap(), vec![]);
}

/// Drift beyond missing objects: indexes (columns, uniqueness, expressions), CHECK
/// and foreign-key constraints, defaults and NOT NULL, on both backends.
fn schema_check_reports_changed_definitions(h: &Harness) {
    let s = h.storage.as_ref();
    let drift = || -> Vec<String> { s.schema_check().unwrap().into_iter().map(|d| d.0).collect() };
    (h.raw)("DROP INDEX idx_sso_provider");
    (h.raw)("CREATE INDEX idx_sso_provider ON pf_sso_accounts(provider, user_id)");
    (h.raw)("DROP INDEX idx_invitation_expires");
    (h.raw)("CREATE UNIQUE INDEX idx_invitation_expires ON pf_user_invitations(expires_at)");
    (h.raw)("DROP INDEX idx_users_status_name");
    (h.raw)("CREATE INDEX idx_users_status_name ON pf_users(account_status, username)");
    (h.raw)("DROP TABLE pf_console_login_state");
    (h.raw)(
        "CREATE TABLE pf_console_login_state (
            user_id VARCHAR2(26) PRIMARY KEY,
            failed_attempts NUMBER(5) DEFAULT 1,
            last_failed_at TIMESTAMP,
            locked_until TIMESTAMP CHECK (locked_until IS NOT NULL OR failed_attempts < 5),
            FOREIGN KEY (user_id) REFERENCES pf_users(user_id)
        )",
    );
    let got = drift();
    for want in [
        "index idx_sso_provider is ON pf_sso_accounts(provider, user_id), expected ON pf_sso_accounts(provider)",
        "index idx_invitation_expires is UNIQUE ON pf_user_invitations(expires_at), expected ON pf_user_invitations(expires_at)",
        "table pf_console_login_state: column failed_attempts is NUMBER(5) DEFAULT 1, expected NUMBER(5) NOT NULL DEFAULT 0",
        "table pf_console_login_state: unexpected CHECK (locked_until is not null or failed_attempts < 5)",
        "table pf_console_login_state: missing FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE",
        "table pf_console_login_state: unexpected FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE NO ACTION",
    ] {
        assert!(got.iter().any(|d| d == want), "expected drift {want:?} in {got:#?}");
    }
    assert!(
        got.iter()
            .any(|d| d.starts_with("index idx_users_status_name is ON pf_users(account_status, username), expected")),
        "{got:#?}"
    );
}
