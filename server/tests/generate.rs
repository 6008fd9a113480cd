//! What `generate` writes, where its shape matters to a page: CPA PERT data that
//! follows the review state machine, names sub-competencies from the competency
//! map, and signs each payload with its checksum.

#[path = "common/mod.rs"]
mod common;

use pathfinder::pert::{PertAction, PertStatus};
use pathfinder_server::storage::pert::payload_checksum;
use rusqlite::Connection;

#[test]
fn generated_cpa_pert_data_follows_the_state_machine_and_the_competency_map() {
    let (_s, dir) = common::generated(5, 2_000, 200, 0);
    let c = Connection::open(dir.path().join("pf.db")).unwrap();
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    let candidates = count("SELECT COUNT(DISTINCT user_id) FROM pf_cpa_pert_reports");
    assert!((50..=150).contains(&candidates), "about 5% of 2,000 people: {candidates}");
    let reports = count("SELECT COUNT(*) FROM pf_cpa_pert_reports");
    // Two to six each, fewer for those who joined lately (no report of a period to come).
    assert!(reports >= candidates && reports <= 6 * candidates, "{reports} reports of {candidates}");
    assert_eq!(count("SELECT COUNT(*) FROM pf_cpa_pert_reports WHERE report_period_start > '2026-06-01'"), 0);
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM pf_cpa_pert_experiences WHERE sub_competency_id NOT IN
             (SELECT competency_id FROM pf_ref_cpa_competencies WHERE kind = 'sub_area')"
        ),
        0,
        "every experience names a sub-area of the map"
    );
    // Each submission's history walks the state machine from nothing to its status,
    // each step by someone, the reviews never by the candidate.
    let mut q = c
        .prepare(
            "SELECT s.id, s.submission_status, r.status, s.user_id, s.submitted_payload, s.submission_checksum
             FROM pf_cpa_pert_submissions s JOIN pf_cpa_pert_reports r ON r.id = s.report_id",
        )
        .unwrap();
    let rows: Vec<(String, String, String, String, String, String)> = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len() as i64, reports, "a submission a report");
    let mut signed = 0;
    let mut statuses = std::collections::BTreeSet::new();
    for (id, status, report_status, candidate, payload, checksum) in &rows {
        assert_eq!(status, report_status, "a report's status is its submission's");
        let mut h = c
            .prepare("SELECT action, previous_status, new_status, action_by FROM pf_cpa_submission_history WHERE submission_id = ?1 ORDER BY action_date, id")
            .unwrap();
        let steps: Vec<(String, Option<String>, String, String)> = h
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut at: Option<PertStatus> = None;
        for (action, previous, new, by) in &steps {
            let action = PertAction::parse(action).unwrap();
            assert_eq!(previous.as_deref(), at.map(PertStatus::as_str), "{id}");
            at = Some(action.from(at).unwrap_or_else(|| panic!("{id}: {action:?} from {at:?}")));
            assert_eq!(new, at.unwrap().as_str());
            assert_eq!(PertAction::REVIEWS.contains(&action), by != candidate, "{id}: who acted");
        }
        assert_eq!(at.map(PertStatus::as_str), Some(status.as_str()), "{id}: its history leads to its status");
        statuses.insert(status.clone());
        signed += i64::from(payload_checksum(payload) == *checksum);
    }
    assert!(statuses.len() >= 5, "the states are all in use: {statuses:?}");
    assert!(signed * 100 >= reports * 98, "nearly every payload matches its checksum: {signed} of {reports}");
    // The checks ran at the end of the load: nothing waits, and a few reports break a rule.
    assert_eq!(count("SELECT COUNT(*) FROM pf_cpa_reports_dirty"), 0);
    assert!(count("SELECT COUNT(*) FROM pf_cpa_report_checks") > 0);
    // The kept counts are the counts.
    assert_eq!(
        count("SELECT COUNT(*) FROM pf_cpa_counts k WHERE k.kind = 'status' AND k.n <> (SELECT COUNT(*) FROM pf_cpa_pert_reports r WHERE r.status = k.name)"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM pf_cpa_counts k WHERE k.kind = 'check' AND k.n <> (SELECT COUNT(*) FROM pf_cpa_report_checks c WHERE c.check_name = k.name)"),
        0
    );
    assert_eq!(
        count("SELECT SUM(n) FROM pf_cpa_due_counts"),
        count("SELECT COUNT(*) FROM pf_cpa_pert_submissions WHERE submission_deadline IS NOT NULL")
    );
}
