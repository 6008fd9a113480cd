//! What the server knows about the request at hand, for logs and audit rows.

use crate::storage::{Action, AuditEntry};
use crate::UserId;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub method: String,
    pub path: String,
    pub started: Instant,
}

impl RequestMeta {
    /// The metadata of a CLI command, so CLI changes are audited like console ones.
    pub fn cli(command: &str) -> Self {
        RequestMeta {
            request_id: crate::error::correlation_id(),
            ip: None,
            user_agent: Some(format!("pathfinder-admin/{} (cli)", env!("CARGO_PKG_VERSION"))),
            method: "CLI".into(),
            path: command.into(),
            started: Instant::now(),
        }
    }

    /// The metadata of a background job's work (the job's name as the path).
    pub fn job(name: &str) -> Self {
        let user_agent = Some(format!("pathfinder-admin/{} (job)", env!("CARGO_PKG_VERSION")));
        RequestMeta { method: "JOB".into(), user_agent, ..RequestMeta::cli(name) }
    }

    /// An audit entry for `action` on an entity, by `actor`, with the action's status
    /// (storage cuts each field to its column's width).
    pub fn audit(&self, actor: Option<&UserId>, action: Action, entity: (&str, Option<&str>)) -> AuditEntry {
        AuditEntry {
            actor: actor.cloned(),
            action: action.name.into(),
            entity_type: Some(entity.0.into()),
            entity_id: entity.1.map(Into::into),
            ip_address: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            request_method: Some(self.method.clone()),
            request_path: Some(self.path.clone()),
            response_status: action.status,
            execution_time_ms: self.started.elapsed().as_millis() as u64,
            detail: None,
        }
    }
}
