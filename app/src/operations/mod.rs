//! Operations, for SREs and administrators (numbers about the machine, never about
//! people): the connection pool, the storage operations, the database's storage and
//! statistics, diagnostics. The charts are drawn by the server
//! (`server/src/http/charts.rs`).

pub mod api;
mod diagnostics;
mod pool;
mod storage;

pub use diagnostics::DiagnosticsPage;
pub use pool::{PoolPage, QueriesPage};
pub use storage::StoragePage;

use crate::policy::{api, endpoint, page, Access, Capability, Section, OPERATORS};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "operations",
    rules: &[
        page("/pool", Access::Roles(OPERATORS), Section::Operations, "Pool"),
        page("/queries", Access::Roles(OPERATORS), Section::Operations, "Queries"),
        page("/storage", Access::Roles(OPERATORS), Section::Operations, "Storage"),
        page("/diagnostics", Access::Roles(OPERATORS), Section::Operations, "Diagnostics"),
        api::<GetPool>(Access::Roles(OPERATORS)),
        api::<GetQueries>(Access::Roles(OPERATORS)),
        api::<GetStorage>(Access::Roles(OPERATORS)),
        api::<SampleStorageNow>(Access::Roles(OPERATORS)),
        api::<GatherStatisticsNow>(Access::Roles(OPERATORS)),
        api::<GetDiagnostics>(Access::Roles(OPERATORS)),
        api::<RunSchemaCheck>(Access::Roles(OPERATORS)),
        endpoint("/charts/pool.svg", Access::Roles(OPERATORS)),
        endpoint("/charts/storage.svg", Access::Roles(OPERATORS)),
    ],
};
