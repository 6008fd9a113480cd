//! Test hooks for crash and signal safety, at named points of long operations:
//! - `PF_TEST_CRASH_AT=<point>[:<n>]`: the process aborts the `n`-th time (default:
//!   the first) it reaches `point`. An abort runs no destructor and no rollback, like
//!   `kill -9`, so a test can stop a rotation between any two of its steps and check
//!   what the database holds afterwards.
//! - `PF_TEST_SIGNAL_AT=<point>[:<n>]`: the process sends itself SIGTERM there, as an
//!   operator or a service manager would, so a test can check what a stop asked for
//!   midway leaves.
//!
//! Unset (always, in production), each point is two atomic loads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// One hook: the point it names, how many times it must be reached, and how many
/// times it was.
struct Hook {
    variable: &'static str,
    target: OnceLock<Option<(String, u64)>>,
    reached: AtomicU64,
}

impl Hook {
    const fn new(variable: &'static str) -> Hook {
        Hook { variable, target: OnceLock::new(), reached: AtomicU64::new(0) }
    }

    /// Whether `name` is this hook's point, reached its `n`-th time now.
    fn fires(&self, name: &str) -> bool {
        let target = self.target.get_or_init(|| {
            let raw = std::env::var(self.variable).ok()?;
            let (point, n) = raw.split_once(':').unwrap_or((&raw, "1"));
            Some((point.to_string(), n.parse().unwrap_or(1)))
        });
        matches!(target, Some((point, n)) if point == name && self.reached.fetch_add(1, Ordering::SeqCst) + 1 == *n)
    }
}

static CRASH: Hook = Hook::new("PF_TEST_CRASH_AT");
static SIGNAL: Hook = Hook::new("PF_TEST_SIGNAL_AT");

pub fn point(name: &str) {
    if CRASH.fires(name) {
        eprintln!("crash point {name} reached: aborting (PF_TEST_CRASH_AT)");
        std::process::abort();
    }
    if SIGNAL.fires(name) {
        eprintln!("signal point {name} reached: sending SIGTERM to this process (PF_TEST_SIGNAL_AT)");
        if let Err(e) = signal_hook::low_level::raise(signal_hook::consts::SIGTERM) {
            eprintln!("could not raise SIGTERM: {e}");
        }
    }
}
