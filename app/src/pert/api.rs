//! CPA PERT's server functions: a page of reports, a report, a narrative revealed
//! with a reason, a review recorded.

use leptos::prelude::*;
use pathfinder::career::Revealed;
use pathfinder::pert::{ReportDetail, ReportPage, ReviewOutcome};
use pathfinder::AppError;

/// A page of the reports the filter selects, with every status's count.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "pert_reports")]
pub async fn get_pert_reports(
    #[server(default)] status: String,
    #[server(default)] route: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
    #[server(default)] deadline: String,
    #[server(default)] employer: String,
    #[server(default)] user: String,
    #[server(default)] check: String,
    #[server(default)] after: String,
) -> Result<ReportPage, AppError> {
    use pathfinder::pert::{PertFilter, PertParams};
    use pathfinder::storage::PERT_REPORTS_READ;
    crate::server::serve::<GetPertReports, _>(async |c| {
        let params = PertParams { status, route, from, to, deadline, employer, user, check, after };
        let filter = PertFilter::from_params(&params)?;
        let what = filter.describe();
        let today = chrono::Utc::now().date_naive();
        c.read(PERT_REPORTS_READ, ("pert_reports", None), &what, move |s| s.pert_reports(&filter, today)).await
    })
    .await
}

/// One report's page (`None`: there is no such report); its read row names the
/// candidate.
#[server(prefix = "/api", endpoint = "pert_report")]
pub async fn get_pert_report(report_id: String) -> Result<Option<ReportDetail>, AppError> {
    use pathfinder::storage::PERT_REPORT_READ;
    crate::server::serve::<GetPertReport, _>(async |c| {
        let what = format!("report {report_id}");
        c.read(PERT_REPORT_READ, ("pert_report", Some(report_id.clone())), &what, move |s| s.pert_report(&report_id))
            .await
    })
    .await
}

/// An experience's narrative in the clear, with a reason; the audit row (the
/// experience, the reason, the candidate) is written in the same transaction.
#[server(prefix = "/api", endpoint = "reveal_pert_narrative")]
pub async fn reveal_pert_narrative(experience_id: String, reason: String) -> Result<Revealed, AppError> {
    use pathfinder::career::reveal_reason;
    use pathfinder::storage::PERT_NARRATIVE_REVEAL;
    crate::server::serve::<RevealPertNarrative, _>(async |c| {
        let reason = reveal_reason(&reason)?;
        if experience_id.is_empty() || experience_id.len() > 26 {
            return Err(AppError::invalid("Choose an experience to reveal."));
        }
        c.read_with_row(PERT_NARRATIVE_REVEAL, ("user", None), move |s, row| {
            let row = row.clone().with_detail(format!("experience {experience_id}: {reason}"));
            s.reveal_pert_narrative(&experience_id, &row)
        })
        .await
    })
    .await
}

/// Records a review of a submission: reviewed, accepted, rejected or revised (a
/// revision asked for), with a comment.
#[server(prefix = "/api", endpoint = "record_pert_review")]
pub async fn record_pert_review(
    submission_id: String,
    action: String,
    comment: String,
) -> Result<ReviewOutcome, AppError> {
    use pathfinder::pert::PertAction;
    use pathfinder::storage::PERT_REVIEW;
    // Storage checks the comment (required, trimmed, bounded) with the rest of the review.
    crate::server::serve::<RecordPertReview, _>(async |c| {
        let action = PertAction::parse_review(&action)?;
        let audit = c.audit(PERT_REVIEW, ("pert_submission", Some(&submission_id)));
        c.db.call(move |s| s.record_pert_review(&submission_id, action, &comment, &audit)).await
    })
    .await
}
