//! The users list's filter from a query string (`/users?q=&match=&status=&sort=&dir=&after=`).
//! Whatever it accepts, its cursor reads back as itself, and the filter written as
//! a link reads back as the same filter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pathfinder::filter::{encode_component, Cursor, SearchMode, UserFilter};
use pathfinder_fuzz::{param, query};

fn from(data: &[u8]) -> Result<UserFilter, pathfinder::AppError> {
    let p = query(data);
    let get = |k| param(&p, k);
    UserFilter::from_query(get("q"), get("match"), get("status"), get("sort"), get("dir"), get("after"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(filter) = from(data) else { return };
    if let Some(cursor) = filter.cursor().expect("from_query checked the cursor") {
        assert_eq!(Cursor::decode(&cursor.encode()).expect("an encoded cursor decodes"), cursor);
    }
    let link = format!(
        "q={}&match={}&status={}&sort={}&dir={}&after={}",
        encode_component(filter.q.as_deref().unwrap_or("")),
        filter.mode.as_str(),
        filter.status.as_deref().unwrap_or(""),
        filter.sort.as_str(),
        if filter.descending { "desc" } else { "asc" },
        encode_component(filter.after.as_deref().unwrap_or("")),
    );
    assert_eq!(from(link.as_bytes()).expect("its own link parses"), filter, "{link}");
    if let Some(pattern) = filter.like_pattern() {
        // Every LIKE wildcard of the search text is escaped: only the mode's own `%`s are bare.
        let bare = pattern.replace("\\\\", "").replace("\\%", "").replace("\\_", "");
        let wildcards = bare.matches(['%', '_']).count();
        let own = if filter.mode == SearchMode::Contains { 2 } else { 1 };
        assert_eq!(wildcards, own, "{pattern}");
    }
});
