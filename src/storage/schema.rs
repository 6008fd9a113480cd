//! Migrations and the schema check.

use super::{Action, AuditEntry};
use crate::AppResult;

pub const SCHEMA_MIGRATE: Action = Action::new("schema.migrate");

/// One difference between the live schema and what the migrations define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub from_version: i64,
    pub to_version: i64,
    pub applied: Vec<String>,
}

pub trait SchemaStore {
    /// Applies the migrations not yet applied; refuses a database newer than this build.
    /// `audit` is the template of the row written with each step (once the audit log exists).
    fn migrate(&self, audit: &AuditEntry) -> AppResult<MigrationReport>;
    fn schema_version(&self) -> AppResult<i64>;
    /// The version this build brings a database to.
    fn latest_schema_version(&self) -> i64;
    /// Differences between the live schema and the one the migrations define.
    fn schema_check(&self) -> AppResult<Vec<Drift>>;
}
