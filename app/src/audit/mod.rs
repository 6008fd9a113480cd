//! The audit log for compliance reviewers and administrators: search with filters
//! that combine, keyset pages both ways, facets, a chart, export, one event's page,
//! the chain's verification; and a user's timeline on their page.

pub mod api;
mod event;
mod page;

pub use event::AuditEventPage;
pub use page::{AuditPage, Timeline};

use crate::policy::{api, endpoint, page, reads, unlisted, Access, Capability, Section, AUDIT_READERS};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "audit",
    rules: &[
        page("/audit", Access::Roles(AUDIT_READERS), Section::Compliance, "Audit log"),
        unlisted("/audit/:id", Access::Roles(AUDIT_READERS), "one event's page, reached from the log's rows"),
        reads::<AuditSearch>(Access::Roles(AUDIT_READERS)),
        reads::<GetAuditFacets>(Access::Roles(AUDIT_READERS)),
        reads::<AuditEvent>(Access::Roles(AUDIT_READERS)),
        api::<StartAuditJob>(Access::Roles(AUDIT_READERS)),
        api::<GetAuditJob>(Access::Roles(AUDIT_READERS)),
        // Streamed and drawn by the server (server/src/http/).
        endpoint("/export/audit", Access::Roles(AUDIT_READERS)),
        endpoint("/charts/audit.svg", Access::Roles(AUDIT_READERS)),
    ],
};
