//! Signs the audit chain's head on a schedule, and once more at shutdown, so that
//! removing the newest events is detected (see `storage/audit/chain.rs`). Every
//! instance runs it; a head already signed is not signed again. Each instance then
//! hands the newest checkpoint, whoever signed it, to its witness outside the
//! database (`pathfinder::witness`), to the structured log, and to `/metrics`
//! (Prometheus keeps what it saw): three places a database writer cannot reach.

use pathfinder::db::Db;
use pathfinder::witness::{Witness, WitnessMark};
use pathfinder::AppResult;
use std::sync::Arc;
use std::time::Duration;

pub async fn sign(db: &Db, key: &Arc<[u8]>, witness: Option<&Witness>) {
    let k = key.clone();
    match db.call(move |s| Ok((s.sign_checkpoint(&k, chrono::Utc::now())?, s.newest_checkpoint()?))).await {
        Ok((signed, newest)) => {
            if let Some(seq) = signed {
                tracing::debug!(seq, "signed an audit checkpoint");
            }
            let Some(mark) = newest else { return };
            match hand_over(key, witness, &mark) {
                Ok(Handed::Recorded) => {
                    tracing::info!(seq = mark.seq, hash = %mark.hash, signed_at = %mark.signed_at, "audit checkpoint witnessed")
                }
                Ok(Handed::Known) => {}
                Ok(Handed::Behind(witnessed)) => tracing::error!(
                    witnessed,
                    newest = mark.seq,
                    "the audit chain's newest checkpoint is older than one this instance saw: events were cut \
                     from its end, or the database was restored (a verification says which)"
                ),
                Ok(Handed::Forged) => tracing::error!(
                    seq = mark.seq,
                    "the newest audit checkpoint is not signed with the audit key: not witnessed"
                ),
                Err(e) => tracing::warn!(error = %e, "recording the audit checkpoint in the witness failed"),
            }
        }
        Err(e) => tracing::warn!(error = %e, "signing an audit checkpoint failed; next try at the next period"),
    }
}

/// What handing the database's newest checkpoint over found.
#[derive(Debug, PartialEq, Eq)]
pub enum Handed {
    /// Newer than what the witness held: recorded.
    Recorded,
    /// The witness held it already (or there is no witness).
    Known,
    /// Older than the witness's, which it keeps: the chain went back.
    Behind(i64),
    /// Not signed with the audit key: never witnessed.
    Forged,
}

/// Hands `mark`, the database's newest checkpoint, to `/metrics` and to the witness
/// (the job each period, and `audit checkpoint`): one signed with `key` only.
pub fn hand_over(key: &[u8], witness: Option<&Witness>, mark: &WitnessMark) -> AppResult<Handed> {
    if !crate::storage::signed_by(key, mark) {
        return Ok(Handed::Forged);
    }
    crate::metrics::METRICS.audit_checkpoint_seq.set(mark.seq);
    let Some(witness) = witness else { return Ok(Handed::Known) };
    let seen = witness.record(mark)?.newest.map_or(0, |m| m.seq);
    crate::metrics::METRICS.audit_witness_seq.set(seen.max(mark.seq));
    Ok(match seen.cmp(&mark.seq) {
        std::cmp::Ordering::Less => Handed::Recorded,
        std::cmp::Ordering::Equal => Handed::Known,
        std::cmp::Ordering::Greater => Handed::Behind(seen),
    })
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
