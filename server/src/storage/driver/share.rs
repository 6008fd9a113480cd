//! Long work's share of the pool. Maintenance (verifications, exports, retention,
//! backups, statistics) holds a connection for seconds to hours; left to the pool
//! alone, four verifications started at once took all four connections and every
//! page and `/readyz` answered 503 until they ended. Maintenance now takes a turn
//! here first: at most half the pool (at least one) at once, so requests always
//! find the rest. Across instances, each has its own pool and its own share.

use pathfinder::{AppError, AppResult};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub struct Share {
    taken: Mutex<usize>,
    freed: Condvar,
    most: usize,
}

/// A turn of long work; the next one may start when it is dropped.
pub struct Turn(Arc<Share>);

/// How long long work waits for its turn before it is refused (a turn that never
/// comes is a bug to see, not a hang).
const WAIT: Duration = Duration::from_secs(600);

impl Share {
    /// Half of a pool of `pool_max` connections, at least one.
    pub fn of_pool(pool_max: u32) -> Arc<Share> {
        Arc::new(Share { taken: Mutex::new(0), freed: Condvar::new(), most: (pool_max as usize / 2).max(1) })
    }

    pub fn most(&self) -> usize {
        self.most
    }

    /// Waits for a turn.
    pub fn take(self: &Arc<Self>) -> AppResult<Turn> {
        let deadline = Instant::now() + WAIT;
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        while *taken >= self.most {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(AppError::Unavailable(
                    "The console's background work is busy: try again in a few minutes.".into(),
                ));
            }
            taken = self.freed.wait_timeout(taken, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        *taken += 1;
        Ok(Turn(self.clone()))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut taken = self.0.taken.lock().unwrap_or_else(|p| p.into_inner());
        *taken = taken.saturating_sub(1);
        self.0.freed.notify_one();
    }
}
