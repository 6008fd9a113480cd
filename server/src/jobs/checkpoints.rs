//! Signs the audit chain's head on a schedule, and once more at shutdown, so that
//! removing the newest events is detected (see `storage/audit/chain.rs`). Every
//! instance runs it; a head already signed is not signed again. Each instance then
//! hands the newest checkpoint, whoever signed it, to its witness outside the
//! database (`pathfinder::witness`), to the structured log, and to `/metrics`
//! (Prometheus keeps what it saw): three places a database writer cannot reach.

use pathfinder::db::Db;
use pathfinder::witness::Witness;
use std::sync::Arc;
use std::time::Duration;

pub async fn sign(db: &Db, key: &Arc<[u8]>, witness: Option<&Witness>) {
    let k = key.clone();
    match db.call(move |s| Ok((s.sign_checkpoint(&k, chrono::Utc::now())?, s.newest_checkpoint()?))).await {
        Ok((signed, newest)) => {
            if let Some(seq) = signed {
                tracing::debug!(seq, "signed an audit checkpoint");
            }
            if let Some(mark) = newest {
                witness_checkpoint(key, witness, &mark);
            }
        }
        Err(e) => tracing::warn!(error = %e, "signing an audit checkpoint failed; next try at the next period"),
    }
}

/// Records `mark` outside the database, unless its signature is not the key's (a
/// checkpoint forged in the database is reported, never witnessed).
fn witness_checkpoint(key: &[u8], witness: Option<&Witness>, mark: &pathfinder::witness::WitnessMark) {
    if crate::storage::checkpoint_mac(key, mark.seq, &mark.hash, mark.signed_at) != mark.mac {
        tracing::error!(seq = mark.seq, "the newest audit checkpoint is not signed with the audit key: not witnessed");
        return;
    }
    crate::metrics::METRICS.audit_checkpoint_seq.set(mark.seq);
    let Some(witness) = witness else { return };
    match witness.record(mark) {
        Ok(before) => {
            let seen = before.newest.map_or(0, |m| m.seq);
            crate::metrics::METRICS.audit_witness_seq.set(seen.max(mark.seq));
            if seen < mark.seq {
                tracing::info!(seq = mark.seq, hash = %mark.hash, signed_at = %mark.signed_at, "audit checkpoint witnessed");
            } else if seen > mark.seq {
                tracing::error!(
                    witnessed = seen,
                    newest = mark.seq,
                    "the audit chain's newest checkpoint is older than one this instance saw: events were cut \
                     from its end, or the database was restored (a verification says which)"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "recording the audit checkpoint in the witness failed"),
    }
}

/// Runs until the runtime stops.
pub fn spawn(db: Db, key: Arc<[u8]>, witness: Option<Witness>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            sign(&db, &key, witness.as_ref()).await;
        }
    })
}
