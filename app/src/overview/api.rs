//! The overview's server function.

use leptos::prelude::*;
use pathfinder::dto::Overview;
use pathfinder::AppError;

/// The overview's counts as the background job last computed them (see `pathfinder::stats`).
#[server(prefix = "/api", endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    use crate::server::{context, serve};
    serve::<GetOverview, _>(async |c| {
        let cache = context::<std::sync::Arc<pathfinder::stats::OverviewCache>>()?;
        match cache.latest() {
            Some(o) => Ok(o),
            // Only before the job's first run (the server computes it before serving).
            None => {
                let o = c.db.call(|s| s.overview(chrono::Utc::now())).await?;
                cache.store(o.clone());
                Ok(o)
            }
        }
    })
    .await
}
