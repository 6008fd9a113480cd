//! Storage backends behind the interface in `pathfinder::storage`. The database URL
//! picks one: `sqlite:<path>` (the embedded default) or `oracle://…` (production).

pub mod migrations;
#[cfg(feature = "oracle")]
pub mod oracle;
pub mod sql;
pub mod sqlite;

use crate::config::DatabaseUrl;
use pathfinder::storage::Storage;
use pathfinder::AppResult;
use std::sync::Arc;

/// Opens the backend the URL names. Fails with one sentence that says what to do.
pub fn open(url: &DatabaseUrl) -> AppResult<Arc<dyn Storage>> {
    match url {
        DatabaseUrl::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStorage::open(path)?)),
        #[cfg(feature = "oracle")]
        DatabaseUrl::Oracle(o) => Ok(Arc::new(oracle::OracleStorage::connect(o)?)),
        #[cfg(not(feature = "oracle"))]
        DatabaseUrl::Oracle(_) => Err(pathfinder::AppError::invalid(
            "This build has no Oracle support: rebuild with `--features oracle` (and install Oracle Instant Client) \
             or use a sqlite: database URL.",
        )),
    }
}
