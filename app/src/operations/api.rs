//! The operations pages' server functions (administrators and SREs): this
//! instance's pool and storage operations, the database's storage and statistics,
//! diagnostics and the schema check.

use leptos::prelude::*;
use pathfinder::AppError;

/// This instance's pool (its newest sample and percentiles since it started) and
/// the database's own view.
#[server(prefix = "/api", endpoint = "pool")]
pub async fn get_pool() -> Result<pathfinder::pool::PoolPage, AppError> {
    crate::server::serve::<GetPool, _>(async |c| {
        let history = crate::server::context::<std::sync::Arc<pathfinder::pool::PoolHistory>>()?;
        c.db.call(move |s| s.pool_page(&history)).await
    })
    .await
}

/// This instance's storage operations by name with their times, and its slowest
/// calls of the last hour.
#[server(prefix = "/api", endpoint = "queries")]
pub async fn get_queries() -> Result<pathfinder::queries::QueriesPage, AppError> {
    crate::server::serve::<GetQueries, _>(async |c| c.db.call(|s| Ok(s.operations())).await).await
}

/// The latest storage sample, growth and thresholds.
#[server(prefix = "/api", endpoint = "storage")]
pub async fn get_storage() -> Result<pathfinder::usage::StoragePage, AppError> {
    crate::server::serve::<GetStorage, _>(async |c| {
        let policy = crate::server::context::<pathfinder::usage::StoragePolicy>()?;
        c.db.call(move |s| s.storage_page(&policy)).await
    })
    .await
}

/// Samples the storage now, audited (another instance sampling is a conflict).
#[server(prefix = "/api", endpoint = "storage_sample")]
pub async fn sample_storage_now() -> Result<(), AppError> {
    use pathfinder::storage::{RefreshWhen, STORAGE_SAMPLE};
    crate::server::serve::<SampleStorageNow, _>(async |c| {
        let policy = crate::server::context::<pathfinder::usage::StoragePolicy>()?;
        let audit = c.audit(STORAGE_SAMPLE, ("storage", None));
        c.db.call(move |s| s.sample_storage(RefreshWhen::Now, &policy, &audit)).await.map(|_| ())
    })
    .await
}

/// Gathers the optimizer statistics now where they are stale, audited.
#[server(prefix = "/api", endpoint = "gather_statistics")]
pub async fn gather_statistics_now() -> Result<(), AppError> {
    use pathfinder::storage::{RefreshWhen, DB_STATISTICS};
    crate::server::serve::<GatherStatisticsNow, _>(async |c| {
        let audit = c.audit(DB_STATISTICS, ("statistics", None));
        c.db.call(move |s| s.gather_statistics(RefreshWhen::Now, &audit)).await.map(|_| ())
    })
    .await
}

/// This instance and its database: versions, schema, clocks, pool, settings (secrets
/// as set or unset) and the background jobs' last runs.
#[server(prefix = "/api", endpoint = "diagnostics")]
pub async fn get_diagnostics() -> Result<pathfinder::diagnostics::Diagnostics, AppError> {
    crate::server::serve::<GetDiagnostics, _>(async |c| {
        let settings = crate::server::context::<std::sync::Arc<[pathfinder::diagnostics::Setting]>>()?;
        c.db.call(move |s| s.diagnostics(&settings)).await
    })
    .await
}

/// Compares the live schema with the migrations': the differences, one sentence each.
#[server(prefix = "/api", endpoint = "schema_check")]
pub async fn run_schema_check() -> Result<Vec<String>, AppError> {
    crate::server::serve::<RunSchemaCheck, _>(async |c| {
        let drift = c.db.call(|s| s.schema_check()).await?;
        Ok(drift.into_iter().map(|d| d.0).collect())
    })
    .await
}
