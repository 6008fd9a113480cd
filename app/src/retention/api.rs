//! Retention's server functions: the policies, their changes, and runs.

use leptos::prelude::*;
use pathfinder::retention::{RetentionPage, RetentionPolicy, RetentionSummary};
use pathfinder::AppError;

/// The retention policies and the last run (administrators).
#[server(prefix = "/api", endpoint = "retention")]
pub async fn get_retention() -> Result<RetentionPage, AppError> {
    crate::server::serve::<GetRetention, _>(async |c| c.db.call(|s| s.retention_page()).await).await
}

/// Adds a retention policy (`id` empty) or changes one; validated and audited.
#[server(prefix = "/api", endpoint = "save_retention")]
pub async fn save_retention_policy(
    #[server(default)] id: String,
    table_pattern: String,
    retention_days: String,
    #[server(default)] archive: Option<String>,
    #[server(default)] delete: Option<String>,
) -> Result<RetentionPolicy, AppError> {
    use pathfinder::storage::{RETENTION_POLICY_CREATE, RETENTION_POLICY_UPDATE};
    crate::server::serve::<SaveRetentionPolicy, _>(async |c| {
        let edit = pathfinder::retention::PolicyEdit::from_form(
            table_pattern,
            &retention_days,
            archive.is_some(),
            delete.is_some(),
        )?;
        let id = Some(id).filter(|id| !id.is_empty());
        let audit = match &id {
            None => c.audit(RETENTION_POLICY_CREATE, ("retention_policy", None)),
            Some(id) => c.audit(RETENTION_POLICY_UPDATE, ("retention_policy", Some(id))),
        };
        c.db.call(move |s| s.save_retention_policy(id.as_deref(), &edit, &audit)).await
    })
    .await
}

/// Removes a retention policy, audited.
#[server(prefix = "/api", endpoint = "delete_retention")]
pub async fn delete_retention_policy(id: String) -> Result<(), AppError> {
    use pathfinder::storage::RETENTION_POLICY_DELETE;
    crate::server::serve::<DeleteRetentionPolicy, _>(async |c| {
        let audit = c.audit(RETENTION_POLICY_DELETE, ("retention_policy", Some(&id)));
        c.db.call(move |s| s.delete_retention_policy(&id, &audit)).await
    })
    .await
}

/// A dry run's summary (what a run would archive and delete, nothing changed); or
/// a real run started in the background (`None`: the page shows its progress).
#[server(prefix = "/api", endpoint = "run_retention")]
pub async fn run_retention_now(
    #[server(default)] dry_run: Option<String>,
) -> Result<Option<RetentionSummary>, AppError> {
    use pathfinder::storage::{RefreshWhen, RetentionRequest, RETENTION_RUN};
    crate::server::serve::<RunRetentionNow, _>(async |c| {
        let audit = c.audit(RETENTION_RUN, ("retention", None));
        let key = crate::server::context::<pathfinder::witness::ChainTrust>().ok().and_then(|t| t.key);
        let dry_run = dry_run.is_some();
        let go_on = c.db.go_on();
        let run = move |s: &dyn pathfinder::storage::Storage| {
            let req = RetentionRequest {
                dry_run,
                when: RefreshWhen::Now,
                now: chrono::Utc::now(),
                audit_key: key.as_deref(),
            };
            s.run_retention(&req, &audit, &mut |_| go_on())
        };
        if dry_run {
            return c.db.call(run).await;
        }
        c.db.detach("retention run", move |s| run(s).map(|_| ()));
        Ok(None)
    })
    .await
}
