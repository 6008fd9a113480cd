//! The rows that reads of personal data write, committed in groups.
//!
//! Every audit row takes the chain's head, so one transaction per read would make
//! the head the console's bottleneck under many readers. Readers of one instance
//! instead queue their rows here; whoever finds no commit under way writes
//! everything queued (its own row among it) in one transaction, one step of the
//! head, and tells each waiting reader how it went. A reader returns only once its
//! row is committed, and its data only if that succeeded (`audited_read`), so no
//! read goes unrecorded however the batch ends.
//!
//! With several instances each batches its own readers; the batches take the head
//! in turn, as any two writers do (the head's row lock on Oracle, the one writer on
//! SQLite). Nothing here outlives a request: a stopped instance loses no committed
//! row and answered no read whose row was not committed.

use super::append;
use crate::storage::store::Store;
use pathfinder::audit::AuditRow;
use pathfinder::storage::AuditEntry;
use pathfinder::AppResult;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

/// The most rows one transaction writes: a long queue is drained in several.
const BATCH_MAX: usize = 512;

/// This instance's queue of read rows and the results of those written.
#[derive(Default)]
pub struct ReadLog {
    state: Mutex<Queue>,
    written: Condvar,
}

#[derive(Default)]
struct Queue {
    /// Rows waiting for a commit, with their tickets.
    waiting: Vec<(u64, AuditRow)>,
    /// Whether a reader is writing a batch now.
    writing: bool,
    next_ticket: u64,
    /// The outcome of each written ticket, until its reader takes it.
    done: HashMap<u64, AppResult<()>>,
}

impl Store {
    /// Writes `read`'s audit row in this instance's next batch and waits until the
    /// batch has committed (or failed: then the caller must not answer the read).
    pub(crate) fn record_read_row(&self, read: &AuditEntry) -> AppResult<()> {
        // A row the table would refuse fails its own read here, never its batch's.
        if read.action.trim().is_empty() {
            return Err(pathfinder::AppError::internal("a read row without its action"));
        }
        let log = &self.reads;
        let mut q = log.state.lock().unwrap_or_else(|e| e.into_inner());
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.waiting.push((ticket, append::row_of(read)));
        loop {
            if let Some(outcome) = q.done.remove(&ticket) {
                return outcome;
            }
            if q.writing {
                q = log.written.wait(q).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            // Nobody is writing: this reader writes what is queued.
            q.writing = true;
            let take = q.waiting.len().min(BATCH_MAX);
            let batch: Vec<(u64, AuditRow)> = q.waiting.drain(..take).collect();
            drop(q);
            let (tickets, rows): (Vec<u64>, Vec<AuditRow>) = batch.into_iter().unzip();
            let outcome = self.write_read_rows(rows);
            q = log.state.lock().unwrap_or_else(|e| e.into_inner());
            for t in tickets {
                q.done.insert(t, outcome.clone());
            }
            q.writing = false;
            log.written.notify_all();
        }
    }

    /// One batch of read rows: chained after the head in one transaction.
    fn write_read_rows(&self, rows: Vec<AuditRow>) -> AppResult<()> {
        crate::metrics::observe_read_batch(rows.len());
        let out = self.write(|c| append::append(c, rows));
        if matches!(&out, Err(pathfinder::AppError::Internal(_) | pathfinder::AppError::Unavailable(_))) {
            crate::metrics::count_audit_write_failure();
        }
        out
    }
}
