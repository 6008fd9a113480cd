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
    /// The request's reads of people whose rows are not written yet (see [`ReadLedger`]).
    pub reads: ReadLedger,
}

/// The rows of a request's reads of people, written together in one transaction by
/// the server's access layer before the answer leaves (`http::access`): a page
/// whose sections each read someone costs one commit, not one a section. Once the
/// layer has taken them (the answer is about to leave), a read that comes later (a
/// streamed page's late section) must write its own row first.
#[derive(Debug, Clone, Default)]
pub struct ReadLedger(std::sync::Arc<std::sync::Mutex<Option<Vec<AuditEntry>>>>);

impl ReadLedger {
    /// A ledger that takes rows until [`ReadLedger::take`].
    pub fn open() -> Self {
        ReadLedger(std::sync::Arc::new(std::sync::Mutex::new(Some(Vec::new()))))
    }

    /// Keeps `row` for the answer's commit; gives it back when the ledger is closed
    /// (or was never open: a command, a job), for the caller to write itself.
    pub fn defer(&self, row: AuditEntry) -> Option<AuditEntry> {
        match self.0.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(rows) => {
                rows.push(row);
                None
            }
            None => Some(row),
        }
    }

    /// Closes the ledger and returns its rows.
    pub fn take(&self) -> Vec<AuditEntry> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default()
    }
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
            reads: ReadLedger::default(),
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
