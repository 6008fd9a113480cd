//! CPA PERT oversight: the reports list's filters and pages, a report's page, a
//! narrative revealed with its audit row, and the review state machine (every
//! edge, the candidate refused, two reviewers racing).

use crate::common::{add_user, audit};
use crate::Harness;
use chrono::NaiveDate;
use pathfinder::pert::{PertAction, PertFilter, PertParams, PertStatus, PERT_PAGE};
use pathfinder::storage::{AuditEntry, Storage, TableRows, Value};
use pathfinder::{AppError, UserId};

checks! {
    the_reports_list_filters_by_every_field_and_pages_newest_first,
    deadline_and_period_lists_page_in_their_order_through_ties,
    a_report_page_holds_its_experiences_milestones_and_submissions,
    a_narrative_reveal_writes_its_row_naming_the_candidate,
    a_review_follows_the_state_machine_on_every_edge,
    the_candidate_cannot_review_their_own_submission,
    two_reviewers_cannot_both_move_a_submission_from_the_same_state,
    every_check_finds_what_its_rule_says_and_follows_the_products_writes,
    every_write_marks_its_report_afresh,
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn t(s: &str) -> Value {
    Value::Text(s.into())
}

/// A report `id` of `user` (period `start`..`end`, deadline, route, status,
/// employer) with one submission `<id>-s` in the same status.
#[allow(clippy::too_many_arguments)]
fn report(
    s: &dyn Storage,
    id: &str,
    user: &UserId,
    (start, end): (&str, &str),
    deadline: &str,
    route: &str,
    status: PertStatus,
    employer: &str,
) {
    let mut reports = TableRows::new(
        "pf_cpa_pert_reports",
        &[
            "id",
            "user_id",
            "report_period_start",
            "report_period_end",
            "submission_deadline",
            "route_type",
            "status",
            "employer_name",
            "hours_worked",
        ],
    );
    reports.push(vec![
        t(id),
        Value::from(user),
        Value::Date(day(start)),
        Value::Date(day(end)),
        Value::Date(day(deadline)),
        t(route),
        t(status.as_str()),
        t(employer),
        Value::Real(500.0),
    ]);
    let mut submissions = TableRows::new(
        "pf_cpa_pert_submissions",
        &["id", "report_id", "user_id", "submission_type", "submission_status", "submitted_at"],
    );
    submissions.push(vec![
        t(&format!("{id}-s")),
        t(id),
        Value::from(user),
        t("final"),
        t(status.as_str()),
        Value::Time(chrono::Utc::now()),
    ]);
    s.insert_batch(&[reports, submissions], &audit("data.load")).unwrap();
}

fn filter(f: impl FnOnce(&mut PertParams)) -> PertFilter {
    let mut p = PertParams::default();
    f(&mut p);
    PertFilter::from_params(&p).unwrap()
}

fn ids(s: &dyn Storage, f: &PertFilter, today: &str) -> Vec<String> {
    s.pert_reports(f, day(today)).unwrap().rows.into_iter().map(|r| r.id).collect()
}

fn the_reports_list_filters_by_every_field_and_pages_newest_first(h: &Harness) {
    let s = h.s();
    let ann = add_user(s, "pert_ann", "active", &[]);
    let bob = add_user(s, "pert_bob", "active", &[]);
    // Ids sort as made: R3 is the newest. Employers are unique to this check.
    report(
        s,
        "PERTF1",
        &ann,
        ("2025-01-01", "2025-06-30"),
        "2025-07-30",
        "EVR",
        PertStatus::Accepted,
        "Zebra Audit LLP",
    );
    report(
        s,
        "PERTF2",
        &ann,
        ("2025-07-01", "2025-12-31"),
        "2026-01-30",
        "PPR",
        PertStatus::Pending,
        "zebra audit llp",
    );
    report(s, "PERTF3", &bob, ("2026-01-01", "2026-06-30"), "2026-07-30", "EVR", PertStatus::Draft, "Zebu Tax Inc");
    let zebs = |f: &mut PertParams| f.employer = "ZEB".into();
    assert_eq!(ids(s, &filter(zebs), "2026-03-01"), ["PERTF3", "PERTF2", "PERTF1"], "newest first, any case");
    let only = |f: fn(&mut PertParams), today: &str| {
        ids(
            s,
            &filter(|p| {
                zebs(p);
                f(p)
            }),
            today,
        )
    };
    assert_eq!(only(|p| p.employer = "zebra".into(), "2026-03-01"), ["PERTF2", "PERTF1"], "employer prefix");
    assert_eq!(only(|p| p.status = "pending".into(), "2026-03-01"), ["PERTF2"]);
    assert_eq!(only(|p| p.route = "EVR".into(), "2026-03-01"), ["PERTF3", "PERTF1"]);
    assert_eq!(only(|p| p.from = "2025-12-01".into(), "2026-03-01"), ["PERTF3", "PERTF2"], "period ends after");
    assert_eq!(only(|p| p.to = "2025-06-30".into(), "2026-03-01"), ["PERTF1"], "period starts by");
    assert_eq!(only(|p| p.deadline = "past".into(), "2026-03-01"), ["PERTF2", "PERTF1"]);
    assert_eq!(only(|p| p.deadline = "30".into(), "2026-01-15"), ["PERTF2"], "due within 30 days");
    assert_eq!(only(|p| p.deadline = "0".into(), "2026-01-30"), ["PERTF2"], "due today");
    assert_eq!(only(|p| p.user = "PERT_BOB".into(), "2026-03-01"), ["PERTF3"], "by username, any case");
    let by_id = ids(s, &filter(|p| p.user = ann.0.clone()), "2026-03-01");
    assert_eq!(by_id, ["PERTF2", "PERTF1"], "by user id");
    assert!(ids(s, &filter(|p| p.user = "nobody_here".into()), "2026-03-01").is_empty());

    // Pages: PERT_PAGE + 5 reports of one candidate, each once, newest first.
    let cy = add_user(s, "pert_cy", "active", &[]);
    let n = PERT_PAGE as usize + 5;
    for i in 0..n {
        report(
            s,
            &format!("PERTP{i:03}"),
            &cy,
            ("2025-01-01", "2025-06-30"),
            "2025-07-30",
            "PPR",
            PertStatus::Draft,
            "Cy Co",
        );
    }
    let first = s.pert_reports(&filter(|p| p.user = "pert_cy".into()), day("2026-01-01")).unwrap();
    assert_eq!(first.rows.len(), PERT_PAGE as usize);
    let after = first.next.clone().expect("a second page");
    let second = s
        .pert_reports(
            &filter(|p| {
                p.user = "pert_cy".into();
                p.after = after;
            }),
            day("2026-01-01"),
        )
        .unwrap();
    assert_eq!(second.rows.len(), 5);
    assert!(second.next.is_none());
    let all: Vec<String> = first.rows.iter().chain(&second.rows).map(|r| r.id.clone()).collect();
    let expected: Vec<String> = (0..n).rev().map(|i| format!("PERTP{i:03}")).collect();
    assert_eq!(all, expected);
    // Every status is counted, drafts at least these.
    let counts = &first.counts;
    assert_eq!(counts.len(), PertStatus::ALL.len(), "{counts:?}");
    let drafts = counts.iter().find(|(k, _)| k == "draft").unwrap().1;
    assert!(drafts >= n as i64 + 1, "{counts:?}");
}

/// A deadline or period list is read in its own order: every report once, in order,
/// across pages that end inside a run of equal days; a long period that started
/// long before the filter's start is still found.
fn deadline_and_period_lists_page_in_their_order_through_ties(h: &Harness) {
    let s = h.s();
    let dee = add_user(s, "pert_dee", "active", &[]);
    // (id, period, deadline): three share a deadline, two a start.
    let made = [
        ("PERTK1", ("2025-01-01", "2025-03-31"), "2025-04-30"),
        ("PERTK2", ("2025-01-01", "2025-06-30"), "2025-07-30"),
        ("PERTK3", ("2025-04-01", "2025-06-30"), "2025-07-30"),
        ("PERTK4", ("2025-07-01", "2025-09-30"), "2025-07-30"),
        ("PERTK5", ("2025-10-01", "2025-12-31"), "2026-01-30"),
        ("PERTK6", ("2019-01-01", "2025-08-31"), "2025-09-30"),
        ("PERTK7", ("2026-01-01", "2026-03-31"), "2026-04-30"),
    ];
    for (id, period, deadline) in made {
        report(s, id, &dee, period, deadline, "EVR", PertStatus::Accepted, "Keyset Dated Co");
    }
    let walk = |f: fn(&mut PertParams), today: &str| -> Vec<String> {
        let mut f = filter(|p| {
            p.employer = "keyset dated".into();
            f(p)
        });
        let mut seen = Vec::new();
        loop {
            let (rows, next) = s.pert_report_rows(&f, day(today), 2).unwrap();
            seen.extend(rows.into_iter().map(|r| r.id));
            match next {
                Some(after) => f.after = Some(after),
                None => return seen,
            }
        }
    };
    // Deadlines passed by 2026-02-01, the latest first (ties: the latest id first).
    let passed = walk(|p| p.deadline = "past".into(), "2026-02-01");
    assert_eq!(passed, ["PERTK5", "PERTK6", "PERTK4", "PERTK3", "PERTK2", "PERTK1"]);
    // Due within 100 days of 2025-07-01, the soonest first (ties: the earliest id first).
    let soon = walk(|p| p.deadline = "100".into(), "2025-07-01");
    assert_eq!(soon, ["PERTK2", "PERTK3", "PERTK4", "PERTK6"]);
    // Periods overlapping 2025-06-01..2025-07-31, the latest start first: PERTK6
    // started six years before.
    let overlapping = walk(
        |p| {
            p.from = "2025-06-01".into();
            p.to = "2025-07-31".into();
        },
        "2026-02-01",
    );
    assert_eq!(overlapping, ["PERTK4", "PERTK3", "PERTK2", "PERTK6"]);
    let since = walk(|p| p.from = "2025-09-01".into(), "2026-02-01");
    assert_eq!(since, ["PERTK7", "PERTK5", "PERTK4"]);
    let until = walk(|p| p.to = "2025-03-31".into(), "2026-02-01");
    assert_eq!(until, ["PERTK2", "PERTK1", "PERTK6"]);
}

fn a_report_page_holds_its_experiences_milestones_and_submissions(h: &Harness) {
    let s = h.s();
    let dee = add_user(s, "pert_dee", "active", &[]);
    report(s, "PERTD1", &dee, ("2025-01-01", "2025-06-30"), "2025-07-30", "EVR", PertStatus::Pending, "Dee LLP");
    let mut experiences = TableRows::new(
        "pf_cpa_pert_experiences",
        &[
            "id",
            "report_id",
            "sub_competency_id",
            "experience_title",
            "experience_start_date",
            "experience_end_date",
            "proficiency_level",
            "challenge",
            "actions",
            "results",
            "lessons_learned",
            "version",
            "previous_version_id",
        ],
    );
    for (id, sub, start, end, previous) in [
        ("PERTD1E1", "FR1", "2025-01-10", "2025-02-10", None),
        ("PERTD1E2", "TX3", "2025-05-01", "2025-07-15", Some("PERTD1E1")),
    ] {
        experiences.push(vec![
            t(id),
            t("PERTD1"),
            t(sub),
            t(&format!("Work on {sub}")),
            Value::Date(day(start)),
            Value::Date(day(end)),
            Value::Int(1),
            t("The challenge I faced"),
            t("What I did"),
            t("What came of it"),
            t("What I learned"),
            Value::Int(if previous.is_some() { 2 } else { 1 }),
            previous.map_or(Value::Null, t),
        ]);
    }
    let mut breakdown = TableRows::new(
        "pf_cpa_experience_breakdown",
        &["id", "experience_id", "activity_type", "activity_description", "start_date", "end_date", "hours_spent"],
    );
    breakdown.push(vec![
        t("PERTD1B1"),
        t("PERTD1E1"),
        t("analysis"),
        t("Looked at it"),
        Value::Date(day("2025-01-10")),
        Value::Date(day("2025-01-20")),
        Value::Real(12.5),
    ]);
    let mut time = TableRows::new(
        "pf_cpa_experience_time_tracking",
        &["id", "experience_id", "user_id", "activity_date", "hours_logged"],
    );
    for (i, d) in ["2025-01-10", "2025-01-11", "2024-12-20"].iter().enumerate() {
        time.push(vec![
            t(&format!("PERTD1T{i}")),
            t("PERTD1E1"),
            Value::from(&dee),
            Value::Date(day(d)),
            Value::Real(4.0),
        ]);
    }
    let mut milestones = TableRows::new(
        "pf_cpa_progress_milestones",
        &["id", "user_id", "sub_competency_id", "milestone_date", "previous_level", "achieved_level"],
    );
    milestones.push(vec![
        t("PERTD1M1"),
        Value::from(&dee),
        t("FR1"),
        Value::Date(day("2025-02-10")),
        Value::Null,
        Value::Int(1),
    ]);
    milestones.push(vec![
        t("PERTD1M2"),
        Value::from(&dee),
        t("FR1"),
        Value::Date(day("2025-06-10")),
        Value::Int(1),
        Value::Int(2),
    ]);
    let mut history = TableRows::new(
        "pf_cpa_submission_history",
        &[
            "id",
            "submission_id",
            "report_id",
            "user_id",
            "action",
            "action_date",
            "action_by",
            "previous_status",
            "new_status",
        ],
    );
    for (i, (action, from, to)) in
        [("created", None, "draft"), ("submitted", Some("draft"), "pending")].iter().enumerate()
    {
        history.push(vec![
            t(&format!("PERTD1H{i}")),
            t("PERTD1-s"),
            t("PERTD1"),
            Value::from(&dee),
            t(action),
            Value::Time(chrono::DateTime::from_timestamp(1_750_000_000 + i as i64 * 60, 0).unwrap()),
            Value::from(&dee),
            from.map_or(Value::Null, t),
            t(to),
        ]);
    }
    s.insert_batch(&[experiences, breakdown, time, milestones, history], &audit("data.load")).unwrap();

    let page = s.pert_report("PERTD1").unwrap().expect("the report");
    assert_eq!(page.report.username.as_deref(), Some("pert_dee"));
    assert_eq!(page.experiences.len(), 2);
    let e1 = &page.experiences[0];
    assert_eq!(e1.sub_competency.as_deref(), Some("Financial reporting needs and systems"), "named from the map");
    assert_eq!(e1.narrative_chars, vec![21, 10, 15, 14], "hidden, as lengths");
    assert_eq!(e1.activities.len(), 1);
    assert_eq!((e1.tracked_hours, e1.tracked_days, e1.tracked_days_outside), (12.0, 3, 1));
    let e2 = &page.experiences[1];
    assert_eq!(e2.sub_competency.as_deref(), Some("Tax planning: corporate or personal"));
    assert_eq!((e2.version, e2.previous_version_id.as_deref()), (Some(2), Some("PERTD1E1")), "its version chain");
    assert_eq!(page.milestones.len(), 2);
    assert_eq!((page.milestones[1].previous_level, page.milestones[1].achieved_level), (Some(1), 2));
    assert_eq!(page.submissions.len(), 1);
    let actions: Vec<&str> = page.submissions[0].history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["created", "submitted"], "oldest first");
    assert_eq!(page.submissions[0].history[1].by.as_deref(), Some("pert_dee"), "who acted, by name");
    assert!(s.pert_report("PERT_NO_SUCH").unwrap().is_none());
}

fn a_narrative_reveal_writes_its_row_naming_the_candidate(h: &Harness) {
    let s = h.s();
    let eve = add_user(s, "pert_eve", "active", &[]);
    report(s, "PERTR1", &eve, ("2025-01-01", "2025-06-30"), "2025-07-30", "EVR", PertStatus::Pending, "Eve LLP");
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
        t("PERTR1E1"),
        t("PERTR1"),
        t("MA2"),
        t("Budget"),
        Value::Date(day("2025-02-01")),
        Value::Date(day("2025-03-01")),
        t("Eve's own challenge"),
        t("Eve's actions"),
        t("Eve's results"),
        t("Eve's lessons"),
    ]);
    s.insert_batch(&[experiences], &audit("data.load")).unwrap();
    let row =
        AuditEntry { detail: Some("experience PERTR1E1: a candidate asked".into()), ..audit("read.pert.narrative") };
    let shown = s.reveal_pert_narrative("PERTR1E1", &row).unwrap();
    let challenge = shown.fields.iter().find(|(l, _)| l == "Challenge").unwrap();
    assert_eq!(challenge.1.as_deref(), Some("Eve's own challenge"));
    let written = s.recent_audit(5).unwrap();
    let read = written.iter().find(|r| r.action == "read.pert.narrative").expect("its row");
    assert_eq!((read.entity_type.as_deref(), read.entity_id.as_deref()), (Some("user"), Some(eve.0.as_str())));
    assert!(matches!(s.reveal_pert_narrative("PERT_NONE", &row), Err(AppError::NotFound(_))));
}

/// The reviewer's audit entry.
fn by(reviewer: &UserId) -> AuditEntry {
    AuditEntry { actor: Some(reviewer.clone()), ..audit("pert.review") }
}

fn a_review_follows_the_state_machine_on_every_edge(h: &Harness) {
    let s = h.s();
    let fay = add_user(s, "pert_fay", "active", &[]);
    let rex = add_user(s, "pert_rex", "active", &[pathfinder::Role::Compliance]);
    let mut n = 0;
    for from in PertStatus::ALL {
        for action in PertAction::REVIEWS {
            n += 1;
            let id = format!("PERTS{n:02}");
            report(s, &id, &fay, ("2025-01-01", "2025-06-30"), "2025-07-30", "EVR", from, "Fay LLP");
            let sub = format!("{id}-s");
            let got = s.record_pert_review(&sub, action, "  Looked at the rubric.  ", &by(&rex));
            let page = s.pert_report(&id).unwrap().unwrap();
            let submission = &page.submissions[0];
            match action.from(Some(from)) {
                Some(to) => {
                    let out = got.unwrap_or_else(|e| panic!("{action:?} from {from:?}: {e}"));
                    assert_eq!((out.previous_status.as_str(), out.new_status.as_str()), (from.as_str(), to.as_str()));
                    assert_eq!(submission.status, to.as_str(), "{action:?} from {from:?}");
                    assert_eq!(page.report.status, to.as_str(), "the report follows its submission");
                    assert_eq!(submission.reviewer.as_deref(), Some("pert_rex"));
                    assert_eq!(submission.comments.as_deref(), Some("Looked at the rubric."));
                    let last = submission.history.last().expect("its history row");
                    assert_eq!(last.action, action.as_str());
                    assert_eq!(
                        (last.previous_status.as_deref(), last.new_status.as_deref(), last.by.as_deref()),
                        (Some(from.as_str()), Some(to.as_str()), Some("pert_rex"))
                    );
                    let row = s.recent_audit(1).unwrap().remove(0);
                    assert_eq!(row.action, "pert.review");
                    assert!(row.detail.as_deref().unwrap_or("").contains(&format!(
                        "{} → {}",
                        from.as_str(),
                        to.as_str()
                    )));
                }
                None => {
                    assert!(matches!(got, Err(AppError::Conflict(_))), "{action:?} from {from:?}: {got:?}");
                    assert_eq!(submission.status, from.as_str(), "refused, nothing changed");
                    assert!(submission.history.is_empty(), "no history row");
                }
            }
        }
    }
    // A comment is required; the candidate's own actions are not a reviewer's.
    report(s, "PERTSX", &fay, ("2025-01-01", "2025-06-30"), "2025-07-30", "EVR", PertStatus::Pending, "Fay LLP");
    assert!(matches!(
        s.record_pert_review("PERTSX-s", PertAction::Accepted, "  ", &by(&rex)),
        Err(AppError::Invalid(_))
    ));
    assert!(matches!(
        s.record_pert_review("PERTSX-s", PertAction::Withdrawn, "ok", &by(&rex)),
        Err(AppError::Invalid(_))
    ));
    assert!(matches!(
        s.record_pert_review("PERT_NONE", PertAction::Accepted, "ok", &by(&rex)),
        Err(AppError::NotFound(_))
    ));
    assert_eq!(s.pert_report("PERTSX").unwrap().unwrap().submissions[0].status, "pending");
}

fn the_candidate_cannot_review_their_own_submission(h: &Harness) {
    let s = h.s();
    let gus = add_user(s, "pert_gus", "active", &[pathfinder::Role::Compliance]);
    report(s, "PERTO1", &gus, ("2025-01-01", "2025-06-30"), "2025-07-30", "EVR", PertStatus::Pending, "Gus LLP");
    let got = s.record_pert_review("PERTO1-s", PertAction::Accepted, "Looks great to me", &by(&gus));
    assert!(matches!(got, Err(AppError::Forbidden)), "{got:?}");
    assert_eq!(s.pert_report("PERTO1").unwrap().unwrap().submissions[0].status, "pending");
}

fn two_reviewers_cannot_both_move_a_submission_from_the_same_state(h: &Harness) {
    let s = h.s();
    let hal = add_user(s, "pert_hal", "active", &[]);
    let reviewers = [
        add_user(s, "pert_ria", "active", &[pathfinder::Role::Compliance]),
        add_user(s, "pert_sam", "active", &[pathfinder::Role::Admin]),
    ];
    for round in 0..5 {
        let id = format!("PERTX{round}");
        report(s, &id, &hal, ("2025-01-01", "2025-06-30"), "2025-07-30", "EVR", PertStatus::Pending, "Hal LLP");
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let results: Vec<_> = reviewers
            .iter()
            .zip([PertAction::Accepted, PertAction::Rejected])
            .map(|(who, action)| {
                let other = (h.another_instance)();
                let (start, who, sub) = (start.clone(), who.clone(), format!("{id}-s"));
                std::thread::spawn(move || {
                    start.wait();
                    other.record_pert_review(&sub, action, "Decided", &by(&who))
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
        assert!(results.iter().any(|r| matches!(r, Err(AppError::Conflict(_)))), "{results:?}");
        let page = s.pert_report(&id).unwrap().unwrap();
        assert_eq!(page.submissions[0].history.len(), 1, "one history row: the winner's");
        let won = results.iter().find_map(|r| r.as_ref().ok()).unwrap();
        assert_eq!(page.submissions[0].status, won.new_status);
    }
}

/// The kept checks of `id`, by name.
fn found(s: &dyn Storage, id: &str) -> Vec<String> {
    s.pert_report(id).unwrap().unwrap().findings.into_iter().map(|(name, _)| name).collect()
}

fn reports_with(s: &dyn Storage, check: &str, today: &str) -> Vec<String> {
    ids(s, &filter(|p| p.check = check.into()), today)
}

fn check_count(s: &dyn Storage, check: &str, today: &str) -> i64 {
    let page = s.pert_reports(&PertFilter::default(), day(today)).unwrap();
    page.checks.iter().find(|(k, _)| k == check).unwrap().1
}

fn every_check_finds_what_its_rule_says_and_follows_the_products_writes(h: &Harness) {
    let s = h.s();
    let ivy = add_user(s, "pert_ivy", "active", &[]);
    let refresh = || while s.check_pert_reports(1_000, &audit("pert.checks.refresh")).unwrap() > 0 {};
    refresh();
    let before: Vec<i64> = ["hours_over", "tracked_outside", "experience_outside", "counts_differ", "checksum"]
        .iter()
        .map(|c| check_count(s, c, "2026-01-01"))
        .collect();
    // A clean report, and one that breaks every kept rule.
    for id in ["PERTC1", "PERTC2"] {
        report(s, id, &ivy, ("2025-01-01", "2025-06-30"), "2025-07-30", "EVR", PertStatus::Accepted, "Ivy LLP");
    }
    let (date, real) = (|d: &str| Value::Date(day(d)), Value::Real);
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
            "word_count",
            "previous_version_id",
        ],
    );
    let mut time = TableRows::new(
        "pf_cpa_experience_time_tracking",
        &["id", "experience_id", "user_id", "activity_date", "hours_logged"],
    );
    for (report, end, logged_on, hours) in
        [("PERTC1", "2025-03-01", "2025-02-01", 8.0), ("PERTC2", "2025-07-15", "2024-12-30", 24.0)]
    {
        for (e, previous) in [("A", None), ("B", Some(format!("{report}A")))] {
            experiences.push(vec![
                t(&format!("{report}{e}")),
                t(report),
                t("FR1"),
                t("x"),
                date("2025-02-01"),
                date(end),
                t("c"),
                t("a"),
                t("r"),
                t("l"),
                Value::Int(100),
                previous.map_or(Value::Null, Value::Text),
            ]);
        }
        time.push(vec![
            t(&format!("{report}T")),
            t(&format!("{report}B")),
            Value::from(&ivy),
            date(logged_on),
            real(hours),
        ]);
    }
    s.insert_batch(&[experiences, time], &audit("data.load")).unwrap();
    // The submissions as the product would write them: C1's counts and checksum
    // right (one current experience: B revises A), C2's wrong.
    let payload = r#"{"experiences":["B"]}"#;
    let sum = pathfinder_server::storage::pert::payload_checksum(payload);
    (h.raw)(&format!(
        "UPDATE pf_cpa_pert_submissions SET experience_count = 1, total_word_count = 100, submitted_payload = '{payload}', \
         submission_checksum = '{sum}' WHERE id = 'PERTC1-s'"
    ));
    (h.raw)(&format!(
        "UPDATE pf_cpa_pert_submissions SET experience_count = 2, total_word_count = 100, submitted_payload = '{payload}', \
         submission_checksum = '{}' WHERE id = 'PERTC2-s'",
        pathfinder_server::storage::pert::payload_checksum("another payload")
    ));
    (h.raw)("UPDATE pf_cpa_pert_reports SET hours_worked = 10 WHERE id = 'PERTC2'");
    let page = s.pert_reports(&PertFilter::default(), day("2026-01-01")).unwrap();
    assert!(page.waiting >= 2, "the writes marked both reports: {}", page.waiting);
    refresh();
    assert!(found(s, "PERTC1").is_empty(), "{:?}", s.pert_report("PERTC1").unwrap().unwrap().findings);
    assert_eq!(
        found(s, "PERTC2"),
        ["checksum", "counts_differ", "experience_outside", "hours_over", "tracked_outside"]
    );
    for (check, was) in
        ["hours_over", "tracked_outside", "experience_outside", "counts_differ", "checksum"].iter().zip(before)
    {
        assert_eq!(check_count(s, check, "2026-01-01"), was + 1, "{check}");
        assert!(reports_with(s, check, "2026-01-01").contains(&"PERTC2".to_string()), "{check} filters");
        assert!(!reports_with(s, check, "2026-01-01").contains(&"PERTC1".to_string()), "{check} filters");
    }
    // The product mends the hours: the next check closes that finding.
    (h.raw)("UPDATE pf_cpa_pert_reports SET hours_worked = 100 WHERE id = 'PERTC2'");
    refresh();
    assert!(!found(s, "PERTC2").contains(&"hours_over".to_string()));
    // A report deleted takes its findings with it.
    (h.raw)("DELETE FROM pf_cpa_pert_reports WHERE id = 'PERTC2'");
    refresh();
    assert!(!reports_with(s, "checksum", "2026-01-01").contains(&"PERTC2".to_string()));

    // Overdue: a draft or pending submission past its deadline, read from the index.
    report(s, "PERTC3", &ivy, ("2025-01-01", "2025-06-30"), "2025-07-30", "EVR", PertStatus::Pending, "Ivy LLP");
    (h.raw)(&format!(
        "UPDATE pf_cpa_pert_submissions SET submission_deadline = {} WHERE id = 'PERTC3-s'",
        (h.date)("2025-07-30")
    ));
    let early = check_count(s, "overdue", "2025-07-30");
    assert!(reports_with(s, "overdue", "2025-07-31").contains(&"PERTC3".to_string()));
    assert!(!reports_with(s, "overdue", "2025-07-30").contains(&"PERTC3".to_string()), "due today is not late");
    assert_eq!(check_count(s, "overdue", "2025-07-31"), early + 1);
    s.record_pert_review("PERTC3-s", PertAction::Accepted, "ok", &by(&add_user(s, "pert_jon", "active", &[]))).unwrap();
    assert!(!reports_with(s, "overdue", "2025-07-31").contains(&"PERTC3".to_string()), "accepted is not overdue");
}

/// Every write to a checked table marks its report with a new mark: a check deletes
/// only the mark it read, so a write it did not see leaves the report marked.
fn every_write_marks_its_report_afresh(h: &Harness) {
    let s = h.s();
    let kim = add_user(s, "pert_kim", "active", &[]);
    while s.check_pert_reports(1_000, &audit("pert.checks.refresh")).unwrap() > 0 {}
    report(s, "PERTM1", &kim, ("2025-01-01", "2025-06-30"), "2025-07-30", "EVR", PertStatus::Draft, "Kim LLP");
    let mark = (h.raw_text)("SELECT mark FROM pf_cpa_reports_dirty WHERE report_id = 'PERTM1'").expect("marked");
    (h.raw)("UPDATE pf_cpa_pert_reports SET hours_worked = 1 WHERE id = 'PERTM1'");
    let again = (h.raw_text)("SELECT mark FROM pf_cpa_reports_dirty WHERE report_id = 'PERTM1'").expect("marked");
    assert_ne!(mark, again, "each write marks afresh");
}
