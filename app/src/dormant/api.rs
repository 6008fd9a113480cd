//! The Dormant users page's server functions.

use leptos::prelude::*;
use pathfinder::dormant::{DeactivationJob, DormantPage};
use pathfinder::AppError;

/// A page of the dormant users, their count, and the recent deactivations; the
/// read names people, so it is audited.
#[server(prefix = "/api", endpoint = "dormant")]
pub async fn get_dormant(
    #[server(default)] since: String,
    #[server(default)] never: String,
    #[server(default)] after: String,
) -> Result<DormantPage, AppError> {
    use pathfinder::dormant::DormantParams;
    use pathfinder::storage::DORMANT_READ;
    crate::server::serve::<GetDormant, _>(async |c| {
        let filter = DormantParams { since, never, after }.filter(chrono::Utc::now().date_naive())?;
        let what = filter.dormancy.describe();
        c.read(DORMANT_READ, ("users", None), &what, move |s| s.dormant_users(&filter)).await
    })
    .await
}

/// Deactivates everyone the filter calls dormant (console accounts and people
/// active again since are left), as a background job; audited, each user too.
#[server(prefix = "/api", endpoint = "deactivate_dormant")]
pub async fn deactivate_dormant(
    #[server(default)] since: String,
    #[server(default)] never: String,
) -> Result<DeactivationJob, AppError> {
    use pathfinder::dormant::DormantParams;
    use pathfinder::storage::DORMANT_DEACTIVATE;
    crate::server::serve::<DeactivateDormant, _>(async |c| {
        let filter = DormantParams { since, never, after: String::new() }.filter(chrono::Utc::now().date_naive())?;
        let audit = c.audit(DORMANT_DEACTIVATE, ("dormant_job", None));
        let dormancy = filter.dormancy;
        let job = c.db.call(move |s| s.start_deactivation(dormancy, &audit)).await?;
        let (id, run) = (job.job_id.clone(), c.audit(DORMANT_DEACTIVATE, ("dormant_job", Some(&job.job_id))));
        c.db.detach("dormant deactivation", move |s| s.run_deactivation(&id, &run).map(|_| ()));
        Ok(job)
    })
    .await
}

/// Asks a deactivation to stop after its current batch; audited.
#[server(prefix = "/api", endpoint = "stop_deactivation")]
pub async fn stop_deactivation(job_id: String) -> Result<(), AppError> {
    use pathfinder::storage::DORMANT_DEACTIVATE_STOP;
    crate::server::serve::<StopDeactivation, _>(async |c| {
        let audit = c.audit(DORMANT_DEACTIVATE_STOP, ("dormant_job", Some(&job_id)));
        c.db.call(move |s| s.stop_deactivation(&job_id, &audit)).await
    })
    .await
}
