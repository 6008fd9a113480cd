//! A retention policy's table pattern (`pf_user_*_experiences`). Whatever it
//! accepts reaches tables retention handles, the audit log only by its own name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pathfinder_server::storage::pattern_reaches;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let Ok((pattern, tables)) = pattern_reaches(&raw) else { return };
    assert!(!tables.is_empty());
    if tables.iter().any(|t| t == "pf_audit_log") {
        assert_eq!(pattern, "pf_audit_log", "a wildcard reached the audit log");
    }
    for t in &tables {
        let (_, again) = pattern_reaches(t).expect("a table's own name is a pattern");
        assert!(again.contains(t), "{t} does not reach itself");
    }
});
