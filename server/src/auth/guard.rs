//! The defence against password guessing, like Keycloak's brute-force detection
//! with OWASP's device cookies as the holder's way in:
//!
//! - failures count within a window (`window` after the last one they are forgotten);
//! - `max_failures` of them lock the account; each lock in a row lasts twice the one
//!   before, from `first_lock` up to `max_lock`; the streak is forgotten after `quiet`
//!   without a failure; attempts while locked are refused unchecked and change nothing,
//!   so nobody can make a lock longer than the cap;
//! - a browser that signed in to the account before carries a device cookie: the
//!   account's lock does not apply to it (an attacker elsewhere cannot keep the holder
//!   out) and its own failures count against it alone, `max_failures` of them and it
//!   is trusted no more;
//! - admins unlock an account (audited).
//!
//! The decision is taken in the database: each attempt on an account first takes the
//! account's lease (`pf_console_login_state.checking_until`), so N instances allow no
//! more guesses than one.

use chrono::{DateTime, Duration, Utc};
use pathfinder::storage::LoginGuard;

/// How long a device that signed in stays trusted without use (its cookie's lifetime).
pub const DEVICE_TRUST: Duration = Duration::days(90);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub first_lock: Duration,
    pub max_lock: Duration,
    pub quiet: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            window: Duration::minutes(15),
            first_lock: Duration::minutes(5),
            max_lock: Duration::hours(1),
            quiet: Duration::hours(12),
        }
    }
}

impl LockoutPolicy {
    pub fn is_locked(&self, g: &LoginGuard, now: DateTime<Utc>) -> bool {
        g.locked_until.is_some_and(|t| t > now)
    }

    /// The guard after a wrong password at `now` from a browser the account does not trust.
    pub fn after_failure(&self, g: &LoginGuard, now: DateTime<Utc>) -> LoginGuard {
        let since_last = g.last_failed_at.map(|t| now - t);
        let lockouts = if since_last.is_some_and(|d| d < self.quiet) { g.lockouts } else { 0 };
        let failures = if since_last.is_some_and(|d| d < self.window) { g.failed_attempts } else { 0 } + 1;
        if failures < self.max_failures {
            return LoginGuard { failed_attempts: failures, last_failed_at: Some(now), lockouts, locked_until: None };
        }
        let lockouts = lockouts.saturating_add(1);
        LoginGuard {
            failed_attempts: 0,
            last_failed_at: Some(now),
            lockouts,
            locked_until: Some(now + self.lock_for(lockouts)),
        }
    }

    /// How long the `n`th lock in a row lasts.
    pub fn lock_for(&self, n: u32) -> Duration {
        let doublings = n.saturating_sub(1).min(20);
        (self.first_lock * 2_i32.pow(doublings)).min(self.max_lock)
    }

    /// A trusted device's failure count after one more, or `None` when it reaches the
    /// limit and loses its trust.
    pub fn device_after_failure(&self, failures: u32) -> Option<u32> {
        let n = failures.saturating_add(1);
        (n < self.max_failures).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(minutes)
    }

    #[test]
    fn failures_lock_and_each_lock_in_a_row_lasts_longer_up_to_the_cap() {
        let p = LockoutPolicy::default();
        let mut g = LoginGuard::default();
        let mut now = 0;
        let mut locks = vec![];
        for _ in 0..6 {
            for _ in 0..p.max_failures {
                assert!(!p.is_locked(&g, at(now)));
                g = p.after_failure(&g, at(now));
            }
            assert!(p.is_locked(&g, at(now)));
            let until = g.locked_until.unwrap();
            locks.push((until - at(now)).num_minutes());
            now = (until - at(0)).num_minutes();
            assert!(!p.is_locked(&g, at(now)), "the lock ends on time");
        }
        assert_eq!(locks, [5, 10, 20, 40, 60, 60]);
    }

    #[test]
    fn failures_outside_the_window_and_streaks_after_a_quiet_period_are_forgotten() {
        let p = LockoutPolicy::default();
        let mut g = LoginGuard::default();
        for i in 0..4 {
            g = p.after_failure(&g, at(i * 16));
        }
        assert_eq!(g.failed_attempts, 1, "each failure came after the last one's window");
        let mut g = LoginGuard { lockouts: 3, last_failed_at: Some(at(0)), ..LoginGuard::default() };
        g = p.after_failure(&g, at(60));
        assert_eq!(g.lockouts, 3, "within the quiet period the streak stays");
        g = p.after_failure(&g, at(60 + 12 * 60));
        assert_eq!((g.lockouts, g.failed_attempts), (0, 1));
    }

    #[test]
    fn a_device_loses_its_trust_at_the_limit() {
        let p = LockoutPolicy::default();
        assert_eq!(p.device_after_failure(0), Some(1));
        assert_eq!(p.device_after_failure(3), Some(4));
        assert_eq!(p.device_after_failure(4), None);
    }
}
