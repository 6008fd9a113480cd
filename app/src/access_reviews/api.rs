//! Access reviews' server functions.

use leptos::prelude::*;
use pathfinder::access_reviews::{Campaign, CampaignView, Decided};
use pathfinder::AppError;

/// The campaigns, newest first (they name who started them).
#[server(prefix = "/api", endpoint = "access_reviews")]
pub async fn get_access_reviews() -> Result<Vec<Campaign>, AppError> {
    use pathfinder::access_reviews::LIST_LIMIT;
    use pathfinder::storage::ACCESS_REVIEWS_READ;
    crate::server::serve::<GetAccessReviews, _>(async |c| {
        c.read(ACCESS_REVIEWS_READ, ("access_reviews", None), "", |s| s.access_reviews(LIST_LIMIT)).await
    })
    .await
}

/// A campaign and its lines, with the key that checks its report; `None` when
/// unknown.
#[server(prefix = "/api", endpoint = "access_review")]
pub async fn get_access_review(review_id: String) -> Result<Option<CampaignView>, AppError> {
    use pathfinder::access_reviews::ReportKey;
    use pathfinder::storage::ACCESS_REVIEW_READ;
    crate::server::serve::<GetAccessReview, _>(async |c| {
        let key = crate::server::context::<Option<ReportKey>>()?;
        let id = review_id.clone();
        let view =
            c.read(ACCESS_REVIEW_READ, ("access_review", Some(review_id)), "", move |s| s.access_review(&id)).await?;
        Ok(view.map(|v| CampaignView { public_key: key, ..v }))
    })
    .await
}

/// Starts a campaign (compliance reviewers) and tells the reviewers by mail; the
/// campaign stands if the mail fails.
#[server(prefix = "/api", endpoint = "start_access_review")]
pub async fn start_access_review(name: String, scope: String, days: String) -> Result<Campaign, AppError> {
    use pathfinder::access_reviews::NewCampaign;
    use pathfinder::storage::ACCESS_REVIEW_START;
    crate::server::serve::<StartAccessReview, _>(async |c| {
        let new = NewCampaign::parse(&name, &scope, &days, chrono::Utc::now())?;
        let audit = c.audit(ACCESS_REVIEW_START, ("access_review", None));
        let campaign = c.db.call(move |s| s.start_access_review(&new, &audit)).await?;
        let outbox = crate::server::context::<pathfinder::mail::Outbox>()?;
        if let Err(e) = outbox.tell_reviewers_of(&c.db, &campaign, true).await {
            tracing::warn!(error = %e, "telling reviewers of a new access review failed");
        }
        Ok(campaign)
    })
    .await
}

/// Keeps or revokes one line's role with a comment. Taking admin away needs a
/// fresh sign-in; nobody decides their own account's lines.
#[server(prefix = "/api", endpoint = "decide_access_line")]
pub async fn decide_access_line(line_id: String, decision: String, comment: String) -> Result<Decided, AppError> {
    use pathfinder::access_reviews::Decision;
    use pathfinder::storage::decision_action;
    crate::server::serve::<DecideAccessLine, _>(async |c| {
        let decision = Decision::parse(&decision)?;
        let audit = c.audit(decision_action(decision), ("access_review_line", Some(&line_id)));
        let confirmed = c.signed_in_lately();
        c.db.call(move |s| s.decide_access_line(&line_id, decision, &comment, confirmed, &audit)).await
    })
    .await
}
