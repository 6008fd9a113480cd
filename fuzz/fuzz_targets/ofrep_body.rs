//! An OFREP evaluation request's body (`POST /ofrep/v1/evaluate/flags[/key]`): the
//! targeting key it carries, or the protocol's error code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pathfinder_server::http::ofrep::targeting_key;

const CODES: [&str; 3] = ["PARSE_ERROR", "INVALID_CONTEXT", "TARGETING_KEY_MISSING"];

fuzz_target!(|data: &[u8]| {
    match targeting_key(data) {
        Ok(key) => assert!(!key.is_empty() && key.len() <= 200 && key.trim() == key, "{key:?}"),
        Err((code, _)) => assert!(CODES.contains(&code)),
    }
    // The same bytes as the key of a well-formed body: taken iff a trimmed key is left.
    let text = String::from_utf8_lossy(data);
    let body = serde_json::json!({ "context": { "targetingKey": text } }).to_string();
    let taken = targeting_key(body.as_bytes());
    let expected = !text.trim().is_empty() && text.len() <= 200;
    assert_eq!(taken.is_ok(), expected, "{text:?}");
    if let Ok(key) = taken {
        assert_eq!(key, text.trim());
    }
});
