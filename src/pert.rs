//! CPA PERT oversight as the console shows it: the states of reports and
//! submissions and the review state machine (written down here, once), the reports
//! filter, a report's page and what a reviewer records. Storage's side is
//! `storage::PertStore`.
//!
//! The seed checks only the history's actions (`created`, `submitted`, `reviewed`,
//! `accepted`, `rejected`, `revised`, `withdrawn`). A submission's status is named
//! for where the last of them left it ([`PertStatus`]), and a report's status is
//! its latest submission's (`draft` before it has one), so one vocabulary serves
//! reports, submissions and history.

use crate::filter::{bad_cursor, hex_of, text_of_hex};
use crate::{AppError, AppResult};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How many reports a page of the list holds.
pub const PERT_PAGE: u32 = 50;

/// Where a submission (and so its report) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PertStatus {
    /// Created, not yet sent.
    Draft,
    /// Submitted, waiting for a reviewer.
    Pending,
    /// A reviewer has looked at it and not decided yet.
    InReview,
    Accepted,
    Rejected,
    /// Sent back to the candidate to revise and submit again.
    RevisionRequested,
    /// Taken back by the candidate.
    Withdrawn,
}

impl PertStatus {
    pub const ALL: [PertStatus; 7] = [
        PertStatus::Draft,
        PertStatus::Pending,
        PertStatus::InReview,
        PertStatus::Accepted,
        PertStatus::Rejected,
        PertStatus::RevisionRequested,
        PertStatus::Withdrawn,
    ];

    /// The word the tables store.
    pub fn as_str(self) -> &'static str {
        match self {
            PertStatus::Draft => "draft",
            PertStatus::Pending => "pending",
            PertStatus::InReview => "in_review",
            PertStatus::Accepted => "accepted",
            PertStatus::Rejected => "rejected",
            PertStatus::RevisionRequested => "revision_requested",
            PertStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PertStatus::Draft => "Draft",
            PertStatus::Pending => "Submitted, waiting for review",
            PertStatus::InReview => "In review",
            PertStatus::Accepted => "Accepted",
            PertStatus::Rejected => "Rejected",
            PertStatus::RevisionRequested => "Revision requested",
            PertStatus::Withdrawn => "Withdrawn",
        }
    }

    pub fn parse(s: &str) -> AppResult<PertStatus> {
        PertStatus::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = PertStatus::ALL.iter().map(|p| p.as_str()).collect();
            AppError::invalid(format!("Unknown status {s:?}: one of {}.", known.join(", ")))
        })
    }

    /// Nothing moves a submission on from here.
    pub fn is_final(self) -> bool {
        matches!(self, PertStatus::Accepted | PertStatus::Rejected | PertStatus::Withdrawn)
    }
}

/// What happened to a submission: the seed's CHECK values of
/// `pf_cpa_submission_history.action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PertAction {
    Created,
    Submitted,
    Reviewed,
    Accepted,
    Rejected,
    /// A reviewer asked for a revision.
    Revised,
    Withdrawn,
}

impl PertAction {
    pub const ALL: [PertAction; 7] = [
        PertAction::Created,
        PertAction::Submitted,
        PertAction::Reviewed,
        PertAction::Accepted,
        PertAction::Rejected,
        PertAction::Revised,
        PertAction::Withdrawn,
    ];

    /// What a reviewer records from the console; the others are the candidate's,
    /// made in the product.
    pub const REVIEWS: [PertAction; 4] =
        [PertAction::Reviewed, PertAction::Accepted, PertAction::Rejected, PertAction::Revised];

    pub fn as_str(self) -> &'static str {
        match self {
            PertAction::Created => "created",
            PertAction::Submitted => "submitted",
            PertAction::Reviewed => "reviewed",
            PertAction::Accepted => "accepted",
            PertAction::Rejected => "rejected",
            PertAction::Revised => "revised",
            PertAction::Withdrawn => "withdrawn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PertAction::Created => "Created",
            PertAction::Submitted => "Submitted",
            PertAction::Reviewed => "Marked in review",
            PertAction::Accepted => "Accepted",
            PertAction::Rejected => "Rejected",
            PertAction::Revised => "Revision requested",
            PertAction::Withdrawn => "Withdrawn",
        }
    }

    pub fn parse(s: &str) -> AppResult<PertAction> {
        PertAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| AppError::invalid(format!("Unknown action {s:?}.")))
    }

    /// A review a reviewer may record: reviewed, accepted, rejected or revised.
    pub fn parse_review(s: &str) -> AppResult<PertAction> {
        let action = PertAction::parse(s)?;
        if !PertAction::REVIEWS.contains(&action) {
            return Err(AppError::invalid("Record reviewed, accepted, rejected or revised."));
        }
        Ok(action)
    }

    /// The review state machine: where `self` takes a submission that is `from`
    /// (`None`: it does not exist yet), or `None` when that makes no sense. Every
    /// writer of these tables in the console goes through it.
    ///
    /// | action    | from                                             | to                 |
    /// |-----------|--------------------------------------------------|--------------------|
    /// | created   | (nothing)                                        | draft              |
    /// | submitted | draft, revision_requested                        | pending            |
    /// | reviewed  | pending                                          | in_review          |
    /// | accepted  | pending, in_review                               | accepted           |
    /// | rejected  | pending, in_review                               | rejected           |
    /// | revised   | pending, in_review                               | revision_requested |
    /// | withdrawn | draft, pending, in_review, revision_requested    | withdrawn          |
    ///
    /// Accepted, rejected and withdrawn are final.
    pub fn from(self, from: Option<PertStatus>) -> Option<PertStatus> {
        use PertStatus::*;
        let Some(from) = from else {
            return (self == PertAction::Created).then_some(Draft);
        };
        let (allowed, to): (&[PertStatus], PertStatus) = match self {
            PertAction::Created => (&[], Draft),
            PertAction::Submitted => (&[Draft, RevisionRequested], Pending),
            PertAction::Reviewed => (&[Pending], InReview),
            PertAction::Accepted => (&[Pending, InReview], Accepted),
            PertAction::Rejected => (&[Pending, InReview], Rejected),
            PertAction::Revised => (&[Pending, InReview], RevisionRequested),
            PertAction::Withdrawn => (&[Draft, Pending, InReview, RevisionRequested], Withdrawn),
        };
        allowed.contains(&from).then_some(to)
    }
}

/// Why a review cannot be recorded from `from`, in words.
pub fn refused_transition(action: PertAction, from: PertStatus) -> AppError {
    AppError::Conflict(format!("A submission that is {} cannot be {}.", from.label().to_lowercase(), action.as_str()))
}

/// The longest comment a review takes.
pub const REVIEW_COMMENT_MAX_BYTES: usize = 2_000;

/// A review's comment: required, trimmed, at most [`REVIEW_COMMENT_MAX_BYTES`].
pub fn review_comment(raw: &str) -> AppResult<String> {
    let comment = raw.trim();
    if comment.is_empty() {
        return Err(AppError::invalid("Say why, in a comment: the candidate and the audit log read it."));
    }
    if comment.len() > REVIEW_COMMENT_MAX_BYTES {
        return Err(AppError::invalid(format!("A comment is at most {REVIEW_COMMENT_MAX_BYTES} bytes.")));
    }
    Ok(comment.to_string())
}

/// A report's route to the experience requirement.
pub const ROUTES: [&str; 2] = ["EVR", "PPR"];

/// A needs-attention check: something a reviewer would otherwise look for by hand,
/// each a filter of the reports list with its count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PertCheck {
    HoursOver,
    TrackedOutside,
    ExperienceOutside,
    Overdue,
    CountsDiffer,
    Checksum,
}

impl PertCheck {
    pub const ALL: [PertCheck; 6] = [
        PertCheck::HoursOver,
        PertCheck::TrackedOutside,
        PertCheck::ExperienceOutside,
        PertCheck::Overdue,
        PertCheck::CountsDiffer,
        PertCheck::Checksum,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PertCheck::HoursOver => "hours_over",
            PertCheck::TrackedOutside => "tracked_outside",
            PertCheck::ExperienceOutside => "experience_outside",
            PertCheck::Overdue => "overdue",
            PertCheck::CountsDiffer => "counts_differ",
            PertCheck::Checksum => "checksum",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PertCheck::HoursOver => "More hours tracked than worked",
            PertCheck::TrackedOutside => "Hours tracked outside the period",
            PertCheck::ExperienceOutside => "Experiences outside the period",
            PertCheck::Overdue => "Past the deadline, not submitted",
            PertCheck::CountsDiffer => "Counts differ from the experiences",
            PertCheck::Checksum => "Checksum does not match",
        }
    }

    /// The rule behind the check, in one sentence.
    pub fn rule(self) -> &'static str {
        match self {
            PertCheck::HoursOver => {
                "The hours logged day by day against the report's experiences add up to more than the report's hours worked."
            }
            PertCheck::TrackedOutside => "An experience has hours logged on a day outside the report's period.",
            PertCheck::ExperienceOutside => "An experience starts before the report's period or ends after it.",
            PertCheck::Overdue => "A submission's deadline has passed and it is still a draft or waiting to be sent.",
            PertCheck::CountsDiffer => {
                "A final submission's experience count or word count differs from the report's current experiences \
                 (an experience a later version revises is not counted)."
            }
            PertCheck::Checksum => {
                "A submission's checksum is not the SHA-256 of its payload as stored: the payload changed after it was \
                 signed off, or the checksum is wrong."
            }
        }
    }

    pub fn parse(s: &str) -> AppResult<PertCheck> {
        PertCheck::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| AppError::invalid(format!("Unknown check {s:?}.")))
    }

    /// Whether the console keeps this check's findings (the others are read from
    /// an index at view time: the overdue check depends on today).
    pub fn is_kept(self) -> bool {
        self != PertCheck::Overdue
    }
}

/// The reports' deadline filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deadline {
    /// The deadline has passed.
    Past,
    /// The deadline falls today or within this many days.
    Within(u32),
}

/// The reports list's query string, as the page and the export send it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PertParams {
    pub status: String,
    pub route: String,
    /// Reports whose period overlaps `from`..`to` (dates, either may be empty).
    pub from: String,
    pub to: String,
    /// `past`, or a number of days.
    pub deadline: String,
    /// An employer's name, or the start of it (any case).
    pub employer: String,
    /// A username or a user id.
    pub user: String,
    /// A needs-attention check's name.
    pub check: String,
    pub after: String,
}

/// The reports filter, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PertFilter {
    pub status: Option<PertStatus>,
    pub route: Option<&'static str>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub deadline: Option<Deadline>,
    /// Lower case.
    pub employer: Option<String>,
    pub user: Option<String>,
    pub check: Option<PertCheck>,
    /// Where the page before ended, in the filter's [`PertOrder`].
    pub after: Option<PertCursor>,
}

/// The order a reports list is read in. A filter that keeps many reports is read in
/// the order of the index that finds them, so a page reads about as many reports
/// as it shows: a list of deadlines passed would otherwise pass every report still
/// in its period before the first it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PertOrder {
    /// Newest first (ids are ULIDs, which sort as they were made).
    Newest,
    /// Deadlines passed, the latest first.
    DeadlineLatest,
    /// Deadlines to come, the soonest first.
    DeadlineSoonest,
    /// Periods, the latest start first.
    PeriodLatest,
}

impl PertOrder {
    /// The day a report is ordered by (and its id after it), if the order has one.
    pub fn day_of(self, r: &ReportSummary) -> Option<NaiveDate> {
        match self {
            PertOrder::Newest => None,
            PertOrder::DeadlineLatest | PertOrder::DeadlineSoonest => r.deadline,
            PertOrder::PeriodLatest => Some(r.period_start),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PertOrder::Newest => "newest first",
            PertOrder::DeadlineLatest => "latest deadline first",
            PertOrder::DeadlineSoonest => "soonest deadline first",
            PertOrder::PeriodLatest => "latest period first",
        }
    }
}

/// A page's end in its list's order: the report's day (for a dated order) and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PertCursor {
    pub day: Option<NaiveDate>,
    pub id: String,
}

impl PertCursor {
    /// The cursor of the page after the one that ended with `r`.
    pub fn after(order: PertOrder, r: &ReportSummary) -> PertCursor {
        PertCursor { day: order.day_of(r), id: r.id.clone() }
    }

    /// `<hex of id>`, or `<day>.<hex of id>`: opaque, safe in a URL.
    pub fn encode(&self) -> String {
        match self.day {
            None => hex_of(&self.id),
            Some(day) => format!("{day}.{}", hex_of(&self.id)),
        }
    }

    pub fn decode(s: &str) -> AppResult<PertCursor> {
        let (day, id) = match s.split_once('.') {
            None => (None, s),
            Some((day, id)) => (Some(NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad_cursor())?), id),
        };
        let id = text_of_hex(id).filter(|id| !id.is_empty() && id.len() <= 36).ok_or_else(bad_cursor)?;
        Ok(PertCursor { day, id })
    }
}

/// The most days ahead a deadline filter looks.
pub const DEADLINE_DAYS_MAX: u32 = 3_650;

impl PertFilter {
    pub fn from_params(p: &PertParams) -> AppResult<PertFilter> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let date = |s: &str, what: &str| -> AppResult<Option<NaiveDate>> {
            text(s)
                .map(|s| {
                    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                        .map_err(|_| AppError::invalid(format!("The {what} date is not a date (YYYY-MM-DD).")))
                })
                .transpose()
        };
        let route = match text(&p.route) {
            None => None,
            Some(r) => Some(
                ROUTES
                    .into_iter()
                    .find(|x| x.eq_ignore_ascii_case(&r))
                    .ok_or_else(|| AppError::invalid("The route is EVR or PPR."))?,
            ),
        };
        let deadline = match text(&p.deadline) {
            None => None,
            Some(d) if d == "past" => Some(Deadline::Past),
            Some(d) => match d.parse::<u32>() {
                Ok(n) if n <= DEADLINE_DAYS_MAX => Some(Deadline::Within(n)),
                _ => {
                    return Err(AppError::invalid(format!(
                        "The deadline filter is \"past\" or a number of days up to {DEADLINE_DAYS_MAX}."
                    )))
                }
            },
        };
        let (from, to) = (date(&p.from, "from")?, date(&p.to, "to")?);
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(AppError::invalid("The period's start is after its end."));
            }
        }
        let employer = text(&p.employer).map(|e| e.to_lowercase());
        if employer.as_ref().is_some_and(|e| e.len() > 255) {
            return Err(AppError::invalid("An employer's name is at most 255 bytes."));
        }
        let user = text(&p.user);
        if user.as_ref().is_some_and(|u| u.len() > 64) {
            return Err(AppError::invalid("A username or user id is at most 64 bytes."));
        }
        let after = text(&p.after).map(|a| PertCursor::decode(&a)).transpose()?;
        let filter = PertFilter {
            status: text(&p.status).map(|s| PertStatus::parse(&s)).transpose()?,
            route,
            from,
            to,
            deadline,
            employer,
            user,
            check: text(&p.check).map(|c| PertCheck::parse(&c)).transpose()?,
            after,
        };
        // A cursor is read in the order it was made in.
        match &filter.after {
            Some(c) if c.day.is_some() != (filter.order() != PertOrder::Newest) => Err(bad_cursor()),
            _ => Ok(filter),
        }
    }

    /// The order this filter's list is read in. A candidate's reports and a check's
    /// findings are few: newest first. Otherwise a deadline filter reads by deadline
    /// and a period filter by period.
    pub fn order(&self) -> PertOrder {
        if self.user.is_some() || self.check.is_some() {
            return PertOrder::Newest;
        }
        match self.deadline {
            Some(Deadline::Past) => PertOrder::DeadlineLatest,
            Some(Deadline::Within(_)) => PertOrder::DeadlineSoonest,
            None if self.from.is_some() || self.to.is_some() => PertOrder::PeriodLatest,
            None => PertOrder::Newest,
        }
    }

    /// What the filter asks, for the read's audit row.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("status={}", s.as_str()));
        }
        if let Some(r) = self.route {
            parts.push(format!("route={r}"));
        }
        if let Some(f) = self.from {
            parts.push(format!("from={f}"));
        }
        if let Some(t) = self.to {
            parts.push(format!("to={t}"));
        }
        match self.deadline {
            Some(Deadline::Past) => parts.push("deadline=past".into()),
            Some(Deadline::Within(n)) => parts.push(format!("deadline={n}")),
            None => {}
        }
        if let Some(e) = &self.employer {
            parts.push(format!("employer={e}"));
        }
        if let Some(u) = &self.user {
            parts.push(format!("user={u}"));
        }
        if let Some(c) = self.check {
            parts.push(format!("check={}", c.as_str()));
        }
        if parts.is_empty() {
            "all reports".into()
        } else {
            parts.join(" ")
        }
    }
}

/// A report in the list and at the top of its page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    pub id: String,
    pub user_id: String,
    pub username: Option<String>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub deadline: Option<NaiveDate>,
    pub route: Option<String>,
    pub status: String,
    pub employer: Option<String>,
    pub position: Option<String>,
    pub hours_worked: Option<f64>,
    pub version: Option<i64>,
}

/// A page of the reports list, with how many reports each status has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPage {
    pub rows: Vec<ReportSummary>,
    pub next: Option<String>,
    /// Every status with its number of reports (over all reports).
    pub counts: Vec<(String, i64)>,
    /// Every check with the number of reports it finds (over all reports).
    pub checks: Vec<(String, i64)>,
    /// Reports changed since they were last checked (their findings may be stale).
    pub waiting: i64,
}

/// An experience's activity (`pf_cpa_experience_breakdown`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub activity_type: Option<String>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub hours: f64,
}

/// An experience with its activities, the hours tracked against it, and the length
/// of each narrative field (hidden until revealed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperienceView {
    pub id: String,
    pub title: String,
    pub sub_competency_id: String,
    /// The sub-competency's name from the competency map, when it is known.
    pub sub_competency: Option<String>,
    pub proficiency: Option<i64>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub time_spent_hours: Option<f64>,
    pub word_count: Option<i64>,
    pub approval_status: Option<String>,
    pub version: Option<i64>,
    pub previous_version_id: Option<String>,
    /// Characters of challenge, actions, results and lessons learned.
    pub narrative_chars: Vec<usize>,
    pub activities: Vec<Activity>,
    /// Hours tracked day by day (`pf_cpa_experience_time_tracking`), on how many
    /// days, and how many of those days fall outside the report's period.
    pub tracked_hours: f64,
    pub tracked_days: i64,
    pub tracked_days_outside: i64,
}

/// The narrative fields, as the page labels them.
pub const NARRATIVE: [(&str, &str); 4] = [
    ("challenge", "Challenge"),
    ("actions", "Actions"),
    ("results", "Results"),
    ("lessons_learned", "Lessons learned"),
];

/// A milestone of the report's candidate in one sub-competency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MilestoneView {
    pub sub_competency_id: String,
    pub sub_competency: Option<String>,
    pub date: NaiveDate,
    pub previous_level: Option<i64>,
    pub achieved_level: i64,
    pub hours: Option<f64>,
}

/// One line of a submission's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub action: String,
    pub at: Option<crate::dto::Timestamp>,
    /// Who acted, by username when they are a user of ours.
    pub by: Option<String>,
    pub previous_status: Option<String>,
    pub new_status: Option<String>,
    pub details: Option<String>,
}

/// A submission of the report, with its history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionView {
    pub id: String,
    pub submission_type: Option<String>,
    pub status: String,
    pub deadline: Option<NaiveDate>,
    pub experience_count: Option<i64>,
    pub total_word_count: Option<i64>,
    pub reviewer: Option<String>,
    pub comments: Option<String>,
    pub submitted_at: Option<crate::dto::Timestamp>,
    pub history: Vec<HistoryEntry>,
}

/// A report's page: the report, its experiences, the candidate's milestones and
/// the submissions with their history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDetail {
    pub report: ReportSummary,
    /// The kept checks that find this report, with what they saw.
    pub findings: Vec<(String, String)>,
    pub experiences: Vec<ExperienceView>,
    pub milestones: Vec<MilestoneView>,
    pub submissions: Vec<SubmissionView>,
}

/// What a recorded review did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    pub submission_id: String,
    pub previous_status: String,
    pub new_status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every edge of the state machine, allowed and refused, against the table in
    /// [`PertAction::from`]'s documentation.
    #[test]
    fn the_state_machine_allows_exactly_its_table() {
        use PertStatus::*;
        let allowed: &[(PertAction, PertStatus, PertStatus)] = &[
            (PertAction::Submitted, Draft, Pending),
            (PertAction::Submitted, RevisionRequested, Pending),
            (PertAction::Reviewed, Pending, InReview),
            (PertAction::Accepted, Pending, Accepted),
            (PertAction::Accepted, InReview, Accepted),
            (PertAction::Rejected, Pending, Rejected),
            (PertAction::Rejected, InReview, Rejected),
            (PertAction::Revised, Pending, RevisionRequested),
            (PertAction::Revised, InReview, RevisionRequested),
            (PertAction::Withdrawn, Draft, Withdrawn),
            (PertAction::Withdrawn, Pending, Withdrawn),
            (PertAction::Withdrawn, InReview, Withdrawn),
            (PertAction::Withdrawn, RevisionRequested, Withdrawn),
        ];
        for action in PertAction::ALL {
            assert_eq!(action.from(None), (action == PertAction::Created).then_some(Draft), "{action:?} from nothing");
            for from in PertStatus::ALL {
                let expected = allowed.iter().find(|(a, f, _)| *a == action && *f == from).map(|(_, _, t)| *t);
                assert_eq!(action.from(Some(from)), expected, "{action:?} from {from:?}");
                if from.is_final() {
                    assert_eq!(action.from(Some(from)), None, "nothing after {from:?}");
                }
            }
        }
    }

    #[test]
    fn the_filter_refuses_what_it_cannot_read() {
        let p = |f: fn(&mut PertParams)| {
            let mut p = PertParams::default();
            f(&mut p);
            PertFilter::from_params(&p)
        };
        assert!(p(|p| p.status = "approved".into()).is_err());
        assert!(p(|p| p.route = "XYZ".into()).is_err());
        assert!(p(|p| p.deadline = "soon".into()).is_err());
        assert!(p(|p| p.from = "2026-13-01".into()).is_err());
        assert!(p(|p| {
            p.from = "2026-02-01".into();
            p.to = "2026-01-01".into();
        })
        .is_err());
        assert!(p(|p| p.after = "zz".into()).is_err());
        let f = p(|p| {
            p.status = "pending".into();
            p.route = "evr".into();
            p.deadline = "past".into();
            p.employer = " KPMG ".into();
        })
        .unwrap();
        assert_eq!(f.route, Some("EVR"));
        assert_eq!(f.employer.as_deref(), Some("kpmg"));
        assert_eq!(f.describe(), "status=pending route=EVR deadline=past employer=kpmg");
    }

    /// Each filter's order, and a cursor read back only in the order it was made in.
    #[test]
    fn each_filter_reads_in_its_order_and_cursors_keep_it() {
        let order = |f: fn(&mut PertParams)| {
            let mut p = PertParams::default();
            f(&mut p);
            PertFilter::from_params(&p).unwrap().order()
        };
        assert_eq!(order(|_| {}), PertOrder::Newest);
        assert_eq!(order(|p| p.deadline = "past".into()), PertOrder::DeadlineLatest);
        assert_eq!(order(|p| p.deadline = "30".into()), PertOrder::DeadlineSoonest);
        assert_eq!(order(|p| p.to = "2025-03-31".into()), PertOrder::PeriodLatest);
        assert_eq!(order(|p| p.from = "2025-01-01".into()), PertOrder::PeriodLatest);
        assert_eq!(
            order(|p| {
                p.from = "2025-01-01".into();
                p.deadline = "past".into();
            }),
            PertOrder::DeadlineLatest
        );
        // A candidate's reports and a check's findings are few: newest first.
        assert_eq!(
            order(|p| {
                p.user = "alice".into();
                p.deadline = "past".into();
            }),
            PertOrder::Newest
        );
        assert_eq!(
            order(|p| {
                p.check = "overdue".into();
                p.from = "2025-01-01".into();
            }),
            PertOrder::Newest
        );
        let dated = PertCursor { day: NaiveDate::from_ymd_opt(2025, 3, 31), id: "01J0000000000000000000000A".into() };
        let plain = PertCursor { day: None, id: "01J0000000000000000000000A".into() };
        for c in [&dated, &plain] {
            assert_eq!(&PertCursor::decode(&c.encode()).unwrap(), c);
        }
        let with = |deadline: &str, after: &PertCursor| {
            PertFilter::from_params(&PertParams {
                deadline: deadline.into(),
                after: after.encode(),
                ..Default::default()
            })
        };
        assert_eq!(with("past", &dated).unwrap().after, Some(dated.clone()));
        assert!(with("past", &plain).is_err(), "a newest-first cursor in a deadline list");
        assert!(with("", &dated).is_err(), "a dated cursor in a newest-first list");
        assert!(PertCursor::decode("2025-02-30.3031").is_err());
        assert!(PertCursor::decode("2025-01-01.").is_err());
    }
}
