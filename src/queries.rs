//! Storage operations timed by name (the Queries page and
//! `pathfinder_db_operation_seconds{module,operation}`): the name is where the
//! operation is written (its module and function), never what it was asked.

use crate::pool::Percentiles;
use serde::{Deserialize, Serialize};

/// One operation's calls since the process started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationStats {
    pub module: String,
    pub operation: String,
    pub count: u64,
    pub times: Percentiles,
}

/// One slow call: which operation, how long, when (no parameter values).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowCall {
    pub module: String,
    pub operation: String,
    pub micros: u64,
    pub at_ms: i64,
}

/// What the Queries page shows: every operation by total time, the slowest calls of
/// the last hour, and the threshold over which a call is logged as slow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueriesPage {
    pub operations: Vec<OperationStats>,
    pub slowest: Vec<SlowCall>,
    pub slow_ms: u64,
}

/// The module and function of the storage code a closure is written in, from its
/// type name: `pathfinder_server::storage::flags::<impl FlagStore for Store>::evaluate::{{closure}}`
/// is (`flags`, `evaluate`). Static text: a bounded set of names, known at build time.
pub fn operation_of(type_name: &'static str) -> (&'static str, &'static str) {
    let mut s = type_name;
    while let Some(rest) = s.strip_suffix("::{{closure}}") {
        s = rest;
    }
    let function = s.rsplit("::").next().unwrap_or(s);
    let module = s
        .find("storage::")
        .map(|i| &s[i + "storage::".len()..])
        .and_then(|m| m.split("::").next())
        .filter(|m| !m.starts_with('<') && !m.is_empty())
        .unwrap_or("storage");
    (module, function)
}

#[cfg(test)]
mod tests {
    use super::operation_of;

    #[test]
    fn an_operation_is_named_by_its_module_and_function() {
        let t = "pathfinder_server::storage::flags::<impl pathfinder::storage::FlagStore for \
                 pathfinder_server::storage::Store>::evaluate::{{closure}}";
        assert_eq!(operation_of(t), ("flags", "evaluate"));
        let t = "pathfinder_server::storage::audit::search::page::{{closure}}::{{closure}}";
        assert_eq!(operation_of(t), ("audit", "page"));
        let t = "pathfinder_server::storage::<impl pathfinder::storage::Storage for \
                 pathfinder_server::storage::Store>::ping::{{closure}}";
        assert_eq!(operation_of(t), ("storage", "ping"));
    }
}
