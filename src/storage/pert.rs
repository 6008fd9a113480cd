//! CPA PERT oversight (the seven `pf_cpa_*` tables): the reports list, a report's
//! page, an experience's narrative revealed with a reason, and a reviewer's
//! decision recorded through the state machine of `crate::pert`.

use super::{Action, AuditEntry, Returned};
use crate::career::Revealed;
use crate::pert::{PertAction, PertCursor, PertFilter, ReportDetail, ReportPage, ReportSummary, ReviewOutcome};
use crate::AppResult;
use chrono::NaiveDate;

/// A page of the reports list read (the row holds the filter).
pub const PERT_REPORTS_READ: Action = Action::new("read.pert.reports");
/// A report's page read (the row names its candidate).
pub const PERT_REPORT_READ: Action = Action::new("read.pert.report");
/// An experience's narrative revealed, with the reason in the row.
pub const PERT_NARRATIVE_REVEAL: Action = Action::new("read.pert.narrative");
/// The reports a filter selects exported (the row holds the filter and format).
pub const PERT_REPORTS_EXPORT: Action = Action::new("read.pert.export");
/// A review recorded: the submission's status before and after.
pub const PERT_REVIEW: Action = Action::new("pert.review");
/// Reports changed since their last check checked again (the needs-attention findings).
pub const PERT_CHECKS_REFRESH: Action = Action::new("pert.checks.refresh");

impl Returned for ReportPage {
    fn rows(&self) -> usize {
        self.rows.len()
    }
}

impl Returned for ReportDetail {
    fn rows(&self) -> usize {
        1
    }
    fn person(&self) -> Option<String> {
        Some(self.report.user_id.clone())
    }
}

/// CPA PERT reports for compliance reviewers and administrators.
pub trait PertStore {
    /// A page of the reports `filter` selects (in its [`PertFilter::order`]), with
    /// every status's count. `today` is the deadline filter's day (UTC).
    fn pert_reports(&self, filter: &PertFilter, today: NaiveDate) -> AppResult<ReportPage>;
    /// Up to `limit` of the reports `filter` selects, in its order, and where the
    /// rest start (an export's pages: no counts).
    fn pert_report_rows(
        &self,
        filter: &PertFilter,
        today: NaiveDate,
        limit: u32,
    ) -> AppResult<(Vec<ReportSummary>, Option<PertCursor>)>;
    /// A report with its experiences (narratives as their lengths), the candidate's
    /// milestones and the submissions with their history; `None` when there is none.
    fn pert_report(&self, report_id: &str) -> AppResult<Option<ReportDetail>>;
    /// An experience's narrative in the clear; `audit` (its detail the reason) is
    /// written in the same transaction, naming the candidate, or nothing is shown.
    fn reveal_pert_narrative(&self, experience_id: &str, audit: &AuditEntry) -> AppResult<Revealed>;
    /// Records a reviewer's `action` (reviewed, accepted, rejected, revised) with a
    /// comment: in one transaction the submission's and its report's new status,
    /// the history row and `audit` (whose actor is the reviewer). Refused when the
    /// state machine does not allow it from the submission's status (`Conflict`),
    /// or when the reviewer is the candidate (`Forbidden`). Of two reviewers moving
    /// the same submission from the same state, whichever instance they are on,
    /// one wins and the other gets `Conflict`.
    fn record_pert_review(
        &self,
        submission_id: &str,
        action: PertAction,
        comment: &str,
        audit: &AuditEntry,
    ) -> AppResult<ReviewOutcome>;
    /// Runs the kept needs-attention checks again on up to `limit` reports changed
    /// since their last check (the triggers of migration 0020 mark them), oldest
    /// mark first, in batches each written with an `audit` row. A report marked
    /// again meanwhile stays marked. Returns how many reports it checked.
    fn check_pert_reports(&self, limit: u32, audit: &AuditEntry) -> AppResult<u32>;
}
