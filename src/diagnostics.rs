//! The Diagnostics page (administrators and SREs): what this console instance is,
//! what database it speaks to, the schema, the settings in effect (secrets only as
//! set or unset) and when each background job last ran.

use crate::dto::Timestamp;
use serde::{Deserialize, Serialize};

/// One setting of `serve`: its environment variable (or flag), value and source
/// (`default`, `environment` or `command line`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub name: String,
    pub value: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedMigration {
    pub version: i64,
    pub name: String,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub applied_at: Option<Timestamp>,
}

/// What the database says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseFacts {
    /// The server's version (SQLite's library version; Oracle's release).
    pub version: String,
    /// The database's clock when asked.
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub now: Timestamp,
    pub migrations: Vec<AppliedMigration>,
}

/// A background job's last run as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFact {
    pub name: String,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub finished_at: Option<Timestamp>,
    /// `ok`, `failed`, `broken`, … or `None` before the first run.
    pub status: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    pub console_version: String,
    /// Profile, architecture and system.
    pub build: String,
    pub backend: String,
    pub database: DatabaseFacts,
    /// The schema version this build brings a database to.
    pub latest_schema: i64,
    /// Database clock minus the console's, in milliseconds (the call's own time halved
    /// out).
    pub clock_difference_ms: i64,
    pub pool_max: u32,
    pub pool_min: u32,
    pub pool_open: u32,
    pub settings: Vec<Setting>,
    pub jobs: Vec<JobFact>,
}

impl Diagnostics {
    /// The newest migration applied.
    pub fn schema_version(&self) -> i64 {
        self.database.migrations.iter().map(|m| m.version).max().unwrap_or(0)
    }
}
