//! The overview's counts (users by status, active sessions, audit events in 24 h)
//! read millions of rows: a background job computes them and requests read the
//! latest result, never the tables. Console changes ask for an early refresh.

use crate::dto::Overview;
use std::sync::RwLock;
use tokio::sync::Notify;

#[derive(Default)]
pub struct OverviewCache {
    latest: RwLock<Option<Overview>>,
    changed: Notify,
}

impl OverviewCache {
    /// The last computed overview (with the time it was computed), if any.
    pub fn latest(&self) -> Option<Overview> {
        self.latest.read().ok().and_then(|o| o.clone())
    }

    pub fn store(&self, overview: Overview) {
        if let Ok(mut o) = self.latest.write() {
            *o = Some(overview);
        }
    }

    /// Something the counts depend on changed: the job refreshes soon.
    pub fn changed(&self) {
        self.changed.notify_one();
    }

    /// Waits for [`changed`](Self::changed).
    pub async fn wait_for_change(&self) {
        self.changed.notified().await;
    }
}
