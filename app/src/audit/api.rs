//! The audit log's server functions: search (itself audited), facets, one event,
//! and the background jobs (verification, exact count).

use leptos::prelude::*;
use pathfinder::audit::{AuditFacets, AuditJob, AuditPage, AuditParams, AuditRow};
use pathfinder::AppError;

/// One page of the audit log's search; each search is itself audited (who looked
/// at what filter), before the page is answered.
#[server(prefix = "/api", endpoint = "audit_search")]
pub async fn audit_search(params: AuditParams) -> Result<AuditPage, AppError> {
    use pathfinder::storage::AUDIT_SEARCH;
    crate::server::serve::<AuditSearch, _>(async |c| {
        let filter = pathfinder::audit::AuditFilter::from_params(&params, chrono::Utc::now())?;
        c.read(AUDIT_SEARCH, ("audit_log", None), &params.describe(), move |s| s.search_audit(&filter)).await
    })
    .await
}

/// How many events the filter matches, by action, outcome and actor.
#[server(prefix = "/api", endpoint = "audit_facets")]
pub async fn get_audit_facets(params: AuditParams) -> Result<AuditFacets, AppError> {
    crate::server::serve::<GetAuditFacets, _>(async |c| {
        use pathfinder::storage::AUDIT_FACETS;
        let filter = pathfinder::audit::AuditFilter::from_params(&params.first_page(), chrono::Utc::now())?;
        c.read(AUDIT_FACETS, ("audit_log", None), &params.describe(), move |s| s.audit_facets(&filter)).await
    })
    .await
}

/// One event, every column; looking is audited.
#[server(prefix = "/api", endpoint = "audit_event")]
pub async fn audit_event(id: String) -> Result<AuditRow, AppError> {
    use pathfinder::storage::AUDIT_EVENT_VIEW;
    crate::server::serve::<AuditEvent, _>(async |c| {
        let entity = ("audit_event", Some(id.clone()));
        c.read(AUDIT_EVENT_VIEW, entity, "", move |s| {
            s.audit_event(&id)?.ok_or_else(|| AppError::NotFound("The event".into()))
        })
        .await
    })
    .await
}

/// Starts a verification of the chain or an exact count of a filter in the
/// background; the job's id, to follow with `audit_job`.
#[server(prefix = "/api", endpoint = "start_audit_job")]
pub async fn start_audit_job(kind: String, params: AuditParams) -> Result<String, AppError> {
    use pathfinder::audit::AuditJobKind;
    use pathfinder::storage::{AUDIT_COUNT, AUDIT_VERIFY};
    crate::server::serve::<StartAuditJob, _>(async |c| {
        let kind = AuditJobKind::parse(&kind)?;
        let filter = pathfinder::audit::AuditFilter::from_params(&params.first_page(), chrono::Utc::now())?;
        let (action, described) = match kind {
            AuditJobKind::Verify => (AUDIT_VERIFY, "the whole chain".to_string()),
            AuditJobKind::Count => (AUDIT_COUNT, params.describe()),
        };
        let audit = c.audit(action, ("audit_log", None)).with_detail(described.clone());
        let trust = crate::server::context::<pathfinder::witness::ChainTrust>().unwrap_or_default();
        let begin = pathfinder::storage::AuditEntry { action: action.begin(), ..audit.clone() };
        let id = c.db.call(move |s| s.start_audit_job(kind, &described, &begin)).await?;
        let job = id.clone();
        c.db.detach("audit job", move |s| s.run_audit_job(&job, kind, &filter, &trust, &audit));
        Ok(id)
    })
    .await
}

/// A background job's progress and result.
#[server(prefix = "/api", endpoint = "audit_job")]
pub async fn get_audit_job(id: String) -> Result<AuditJob, AppError> {
    crate::server::serve::<GetAuditJob, _>(async |c| c.db.call(move |s| s.audit_job(&id)).await).await
}
