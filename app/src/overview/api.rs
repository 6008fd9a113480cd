//! The overview's server function.

use leptos::prelude::*;
use pathfinder::dto::Overview;
use pathfinder::AppError;

/// The overview's counts as the background job last computed them (see `pathfinder::stats`).
#[server(prefix = "/api", endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    crate::server::serve::<GetOverview, _>(async |c| latest(&c.db).await).await
}

/// The overview as last counted; counted now only before the job's first run (the
/// server counts it before serving).
#[cfg(feature = "ssr")]
pub async fn latest(db: &pathfinder::db::Db) -> Result<Overview, AppError> {
    use crate::server::context;
    let cache = context::<std::sync::Arc<pathfinder::stats::OverviewCache>>()?;
    match cache.latest() {
        Some(o) => Ok(o),
        None => {
            let days = context::<pathfinder::storage::KeyPolicy>()?.rotation_days;
            let o = db.call(move |s| s.overview(chrono::Utc::now(), days)).await?;
            cache.store(o.clone());
            Ok(o)
        }
    }
}

/// Something the overview counts changed: its job counts again soon (see
/// `pathfinder::stats::OverviewCache::changed`).
#[cfg(feature = "ssr")]
pub fn counts_changed() -> Result<(), AppError> {
    crate::server::context::<std::sync::Arc<pathfinder::stats::OverviewCache>>()?.changed();
    Ok(())
}
