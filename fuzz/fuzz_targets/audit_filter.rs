//! The audit log's filter from a query string, as the Audit page and
//! `/export/audit` read it. Whatever it accepts, the page's own links to it read
//! back as the same parameters and the same filter.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use pathfinder::audit::{AuditFilter, AuditParams};

fuzz_target!(|data: &[u8]| {
    let Ok(params) = serde_urlencoded::from_bytes::<AuditParams>(data) else { return };
    let now = Utc.timestamp_opt(1_780_000_000, 0).single().expect("a time");
    let Ok(filter) = AuditFilter::from_params(&params, now) else { return };
    let again: AuditParams =
        serde_urlencoded::from_str(&params.query_string()).expect("the page's own query string parses");
    assert_eq!(again, params);
    assert_eq!(AuditFilter::from_params(&again, now).expect("the same parameters pass"), filter);
});
