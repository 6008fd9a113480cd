//! The flags list's query (`/flags?text=&type=&system_wide=&sort=`) and a flag's
//! overrides filter (`?holders=&state=&holder=&after=`) from a query string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pathfinder::flags::{FlagQuery, OverrideFilter};
use pathfinder_fuzz::{param, query};

fuzz_target!(|data: &[u8]| {
    let p = query(data);
    let get = |k| param(&p, k);
    if let Ok(q) = FlagQuery::from_query(get("text"), get("type"), get("system_wide"), get("sort")) {
        assert!(["", "key", "name", "type", "updated"].contains(&q.sort.as_str()));
        if let Some(t) = q.flag_type {
            let again = FlagQuery::from_query("", t.as_str(), "", "").expect("a type's own name parses");
            assert_eq!(again.flag_type, Some(t));
        }
    }
    if let Ok(f) = OverrideFilter::from_query(get("holders"), get("state"), get("holder"), get("after")) {
        assert!(!(f.users_only() && f.groups_only()));
        for set in [&f.holders, &f.state, &f.holder, &f.after].into_iter().flatten() {
            assert!(!set.is_empty() && set.trim() == set, "{set:?}");
        }
    }
});
