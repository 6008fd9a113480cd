//! Sign-in attempts per client address, decided before any password work: a token
//! bucket per address (`governor`'s GCRA), in memory and bounded; and flag
//! evaluations per API key, likewise.
//!
//! Each instance keeps its own buckets, so N instances let an address through N
//! times as often: the throttle guards each instance's CPU (its password checks),
//! and the lockout, decided in the database, guards the accounts.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::{DefaultKeyedStateStore, HashMapStateStore};
use governor::{Quota, RateLimiter};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

/// What the throttle says about one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Well within the address's rate: the attempt may use every password check.
    Calm,
    /// Past half of its burst: only the checks not kept for calm addresses.
    Hurried,
    /// Over the rate: refused, to try again after this long.
    Throttled(Duration),
}

type Limiter = RateLimiter<IpAddr, HashMapStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

pub struct SignInThrottle {
    limiter: Limiter,
    burst: u32,
    max_addresses: usize,
    /// When the table was last swept for addresses it can forget: a sweep walks
    /// every entry, so a full table is swept at most once a second, not per request.
    last_sweep: std::sync::Mutex<Option<std::time::Instant>>,
}

/// Where addresses go once the table is full of addresses still within their
/// window: they share one bucket (one entry past the bound) until older entries can
/// be forgotten.
const OVERFLOW: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

/// How often one address may try to sign in: `burst` attempts at once, then one
/// more every `every`; at most `max_addresses` remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInRate {
    pub burst: u32,
    pub every: Duration,
    pub max_addresses: usize,
}

impl Default for SignInRate {
    /// Ten at once, then ten a minute (`PF_SIGN_IN_BURST`, `PF_SIGN_IN_PER_MINUTE`).
    fn default() -> Self {
        SignInRate { burst: 10, every: Duration::from_secs(6), max_addresses: 100_000 }
    }
}

impl SignInThrottle {
    pub fn with_rate(rate: SignInRate) -> Self {
        SignInThrottle::new(rate.burst, rate.every, rate.max_addresses)
    }

    /// `burst` attempts at once, then one more every `every`; at most `max_addresses` remembered.
    pub fn new(burst: u32, every: Duration, max_addresses: usize) -> Self {
        let burst = burst.max(2);
        let quota = Quota::with_period(every.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        let limiter: Limiter = RateLimiter::new(quota, HashMapStateStore::default(), DefaultClock::default());
        SignInThrottle { limiter, burst, max_addresses: max_addresses.max(1), last_sweep: Default::default() }
    }

    /// Takes one attempt from the address's bucket.
    pub fn check(&self, ip: Option<IpAddr>) -> Verdict {
        let mut key = ip.map_or(OVERFLOW, bucket_of);
        if self.limiter.len() >= self.max_addresses {
            if self.sweep_due() {
                // Forget the addresses whose buckets have filled up again.
                self.limiter.retain_recent();
                self.limiter.shrink_to_fit();
            }
            if self.limiter.len() >= self.max_addresses {
                key = OVERFLOW;
            }
        }
        match self.limiter.check_key(&key) {
            Ok(state) if state.remaining_burst_capacity() * 2 >= self.burst => Verdict::Calm,
            Ok(_) => Verdict::Hurried,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Verdict::Throttled(wait.max(Duration::from_secs(1)))
            }
        }
    }

    /// Whether a sweep may run now (and notes that it does).
    fn sweep_due(&self) -> bool {
        let Ok(mut last) = self.last_sweep.try_lock() else { return false };
        let now = std::time::Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1)) {
            return false;
        }
        *last = Some(now);
        true
    }

    pub fn addresses(&self) -> usize {
        self.limiter.len()
    }
}

impl Default for SignInThrottle {
    /// Ten attempts at once, then one every six seconds; 100,000 addresses (a few MB).
    fn default() -> Self {
        SignInThrottle::new(10, Duration::from_secs(6), 100_000)
    }
}

/// The bucket an address counts against: an IPv6 host usually holds a whole /64.
fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Flag evaluations one API key may ask of one instance: `burst` at once, then one
/// more every `every`. `PF_OFREP_RATE` n is n a second with a burst of as many. N
/// instances allow N times as much: it protects each instance's CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluationRate {
    pub burst: u32,
    pub every: Duration,
}

impl EvaluationRate {
    pub fn per_second(n: u32) -> Self {
        EvaluationRate { burst: n.max(1), every: Duration::from_secs(1) / n.max(1) }
    }
}

/// Each API key's bucket of [`EvaluationRate`] (this instance's), charged by the
/// evaluation: a bulk call of 300 flags costs 300, not one.
pub struct ApiRate {
    limiter: RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>,
    rate: EvaluationRate,
}

/// What a key has left after a charge, for the `RateLimit` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    pub remaining: u32,
    /// Until the bucket is full again.
    pub full_in: Duration,
}

impl ApiRate {
    pub fn new(rate: EvaluationRate) -> Self {
        let quota = Quota::with_period(rate.every.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN));
        ApiRate { limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(), rate }
    }

    pub fn per_second(n: u32) -> Self {
        ApiRate::new(EvaluationRate::per_second(n))
    }

    /// Charges `n` evaluations to the key: what it has left, or `Err(wait)` when it
    /// has not that many now (nothing is charged then).
    pub fn charge(&self, key_id: &str, n: u32) -> Result<Left, Duration> {
        let cells = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        match self.limiter.check_key_n(&key_id.to_string(), cells) {
            Ok(Ok(state)) => {
                let remaining = state.remaining_burst_capacity();
                Ok(Left { remaining, full_in: self.rate.every * self.rate.burst.saturating_sub(remaining) })
            }
            Ok(Err(not_until)) => Err(not_until.wait_time_from(DefaultClock::default().now())),
            // More than the whole burst: never, at this rate.
            Err(_) => Err(self.rate.every * n),
        }
    }

    /// The `RateLimit-Policy` field (draft-ietf-httpapi-ratelimit-headers): the
    /// burst, over the window in which it fills again.
    pub fn policy(&self) -> String {
        let window = (self.rate.every * self.rate.burst).as_secs_f64().ceil().max(1.0) as u64;
        format!("\"evaluations\";q={};w={window}", self.rate.burst)
    }
}

impl Default for ApiRate {
    fn default() -> Self {
        ApiRate::per_second(2_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn a_burst_then_throttled_with_a_wait_and_other_addresses_untouched() {
        let t = SignInThrottle::new(4, Duration::from_secs(60), 100);
        let verdicts: Vec<_> = (0..5).map(|_| t.check(ip("192.0.2.1"))).collect();
        assert_eq!(verdicts[..2], [Verdict::Calm, Verdict::Calm]);
        assert_eq!(verdicts[2..4], [Verdict::Hurried, Verdict::Hurried]);
        let Verdict::Throttled(wait) = verdicts[4] else { panic!("{verdicts:?}") };
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60), "{wait:?}");
        assert_eq!(t.check(ip("192.0.2.2")), Verdict::Calm);
    }

    #[test]
    fn one_ipv6_host_is_one_bucket_and_memory_is_bounded() {
        let t = SignInThrottle::new(2, Duration::from_secs(60), 3);
        t.check(ip("2001:db8:1:2::1"));
        t.check(ip("2001:db8:1:2::ffff"));
        assert!(matches!(t.check(ip("2001:db8:1:2:abcd::9")), Verdict::Throttled(_)), "the same /64");
        for i in 0..50 {
            t.check(ip(&format!("198.51.100.{i}")));
        }
        assert!(t.addresses() <= 4, "the bound and the shared bucket: {}", t.addresses());
    }

    #[test]
    fn a_key_gets_its_burst_then_waits_its_turn() {
        let rate = ApiRate::new(EvaluationRate { burst: 3, every: Duration::from_secs(3600) });
        for _ in 0..3 {
            assert!(rate.charge("a", 1).is_ok());
        }
        let wait = rate.charge("a", 1).unwrap_err();
        assert!(wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600), "{wait:?}");
        assert!(rate.charge("b", 1).is_ok(), "another key has its own bucket");
        let second = EvaluationRate::per_second(50);
        assert_eq!((second.burst, second.every), (50, Duration::from_millis(20)));
    }
}
