//! A test hook for crash safety: with `PF_TEST_CRASH_AT=<point>[:<n>]` in the
//! environment, the process aborts the `n`-th time (default: the first) it reaches
//! `point`. An abort runs no destructor and no rollback, like `kill -9`, so a test
//! can stop a rotation between any two of its steps and check what the database
//! holds afterwards. Unset (always, in production), each point is one atomic load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
static REACHED: AtomicU64 = AtomicU64::new(0);

pub fn point(name: &str) {
    let target = TARGET.get_or_init(|| {
        let raw = std::env::var("PF_TEST_CRASH_AT").ok()?;
        let (point, n) = raw.split_once(':').unwrap_or((&raw, "1"));
        Some((point.to_string(), n.parse().unwrap_or(1)))
    });
    if let Some((point, n)) = target {
        if point == name && REACHED.fetch_add(1, Ordering::SeqCst) + 1 == *n {
            eprintln!("crash point {name} reached: aborting (PF_TEST_CRASH_AT)");
            std::process::abort();
        }
    }
}
