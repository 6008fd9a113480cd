//! The session and device cookies from a request's `Cookie` headers. A value read
//! is one the request carried under the exact name (the `__Host-` one over HTTPS),
//! and a cookie the console set reads back from among any others.
#![no_main]

use http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use pathfinder_server::auth::cookies::{
    device_cookie_name, device_secret, session_cookie_name, session_token, set_session,
};

/// RFC 6265's cookie-octet: what a cookie value may hold unquoted.
fn cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append(header::COOKIE, v);
        }
    }
    let sent: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';').map(|kv| kv.trim().to_string()).collect::<Vec<_>>())
        .collect();
    for secure in [false, true] {
        let read = [
            (session_token(&headers, secure), session_cookie_name(secure)),
            (device_secret(&headers, secure), device_cookie_name(secure)),
        ];
        for (value, name) in read {
            if let Some(v) = value {
                assert!(!v.is_empty() && !v.contains(';'));
                assert!(sent.contains(&format!("{name}={v}")), "{name}={v} was not sent");
            }
        }
    }
    // A token the console sets comes back whatever cookies surround it.
    let token = String::from_utf8_lossy(data).into_owned();
    if token.is_empty() || !token.bytes().all(cookie_octet) {
        return;
    }
    for secure in [false, true] {
        let mut set = HeaderMap::new();
        set_session(&mut set, &token, 3600, secure);
        let cookie = set.get(header::SET_COOKIE).expect("a cookie-octet token is a header").to_str().expect("ASCII");
        let pair = cookie.split(';').next().expect("name=value");
        let mut request = HeaderMap::new();
        let around = format!("pf_session_x=1; {pair}; pf_sessionz=2");
        request.append(header::COOKIE, HeaderValue::from_str(&around).expect("ASCII"));
        assert_eq!(session_token(&request, secure).as_deref(), Some(token.as_str()));
    }
});
