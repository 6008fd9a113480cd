//! Analytics' server function: a range's summaries (counts about no one: not a
//! read of a person's data).

use leptos::prelude::*;
use pathfinder::analytics::AnalyticsView;
use pathfinder::AppError;

/// The days of `range` (`7d`, `30d`, `90d`) or `from`..`to`, as the summaries have them.
#[server(prefix = "/api", endpoint = "analytics")]
pub async fn get_analytics(
    #[server(default)] range: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
) -> Result<AnalyticsView, AppError> {
    use pathfinder::analytics::AnalyticsParams;
    crate::server::serve::<GetAnalytics, _>(async |c| {
        let (from, to) = AnalyticsParams { range, from, to }.days(chrono::Utc::now().date_naive())?;
        c.db.call(move |s| s.analytics(from, to)).await
    })
    .await
}
