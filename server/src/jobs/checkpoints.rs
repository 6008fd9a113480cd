//! Signs the audit chain's head on a schedule, and once more at shutdown, so that
//! removing the newest events is detected (see `storage/audit/chain.rs`). Every
//! instance runs it; a head already signed is not signed again.

use pathfinder::db::Db;
use std::sync::Arc;
use std::time::Duration;

pub async fn sign(db: &Db, key: &Arc<[u8]>) {
    let key = key.clone();
    match db.call(move |s| s.sign_checkpoint(&key, chrono::Utc::now())).await {
        Ok(Some(seq)) => tracing::debug!(seq, "signed an audit checkpoint"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "signing an audit checkpoint failed; next try at the next period"),
    }
}

/// Runs until the runtime stops.
pub fn spawn(db: Db, key: Arc<[u8]>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            sign(&db, &key).await;
        }
    })
}
