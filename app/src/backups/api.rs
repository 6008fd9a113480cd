//! The Backups page's server function.

use leptos::prelude::*;
use pathfinder::AppError;

/// The backups the console took, newest first, and whether the platform takes them
/// instead (Oracle).
#[server(prefix = "/api", endpoint = "backups")]
pub async fn get_backups() -> Result<pathfinder::backup::BackupsView, AppError> {
    crate::server::serve::<GetBackups, _>(async |c| c.db.call(|s| s.backups_page(50)).await).await
}
