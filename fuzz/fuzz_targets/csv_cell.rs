//! The exports' formula guard: a cell a spreadsheet would run starts with `'`, and
//! the reference imports read every exported cell back as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pathfinder_server::export::{neutral, restored};

fuzz_target!(|data: &[u8]| {
    let cell = String::from_utf8_lossy(data);
    let written = neutral(&cell);
    assert!(!written.starts_with(['=', '+', '-', '@', '\t', '\r']), "{written:?} would run");
    assert_eq!(restored(&written), cell, "an exported cell reads back as it was");
});
