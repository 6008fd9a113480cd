//! The Oracle lint (its tokenizer and rules) on any text: it answers, the same way
//! twice, and every finding names its rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pathfinder_server::storage::oracle_lint::lint;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    let found = lint(sql);
    assert!(found.iter().all(|f| !f.rule.is_empty() && !f.message.is_empty()));
    assert_eq!(lint(sql), found);
});
