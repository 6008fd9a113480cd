//! The security review (administrators and compliance reviewers): the open findings,
//! most severe first, each with what it names, when it was first and last seen and
//! how to fix it; the history of closed ones; a run on demand.

pub mod api;
mod page;

pub use page::SecurityPage;

use crate::policy::{api, page, reads, Access, Capability, Section, AUDIT_READERS};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "security",
    rules: &[
        page("/security", Access::Roles(AUDIT_READERS), Section::Compliance, "Security review"),
        reads::<GetSecurity>(Access::Roles(AUDIT_READERS)),
        api::<RunSecurityReview>(Access::Roles(AUDIT_READERS)),
    ],
};
