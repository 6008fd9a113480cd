//! The rows that reads of personal data write, committed in groups.
//!
//! Every audit row takes the chain's head, so one transaction per read would make
//! the head the console's bottleneck under many readers. A request's rows (its
//! `ReadLedger`, written by the access layer before the answer leaves) and single
//! reads (`audited_read`) queue here instead; whoever finds no commit under way
//! writes everything queued (its own rows among it) in one transaction, one step of
//! the head, and tells each waiting caller how it went. A caller returns only once
//! its rows are committed, and the data leaves only if that succeeded, so no read
//! goes unrecorded however the batch ends.
//!
//! With several instances each batches its own readers; the batches take the head
//! in turn, as any two writers do (the head's row lock on Oracle, the one writer on
//! SQLite). Nothing here outlives a request: a stopped instance loses no committed
//! row and answered no read whose row was not committed.

use pathfinder::audit::AuditRow;
use pathfinder::{AppError, AppResult};
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
    /// Rows waiting for a commit, a ticket's together (one request's reads).
    waiting: Vec<(u64, Vec<AuditRow>)>,
    /// Whether a reader is writing a batch now.
    writing: bool,
    next_ticket: u64,
    /// The outcome of each written ticket, until its reader takes it.
    done: HashMap<u64, AppResult<()>>,
}

impl ReadLog {
    /// Queues `rows` (one request's) for this instance's next batch and returns once
    /// the batch that holds them has committed (or failed: then the caller must not
    /// answer the reads). A reader who finds nobody writing writes the batch with
    /// `write_batch` (one transaction, one step of the chain's head).
    pub fn commit(&self, rows: Vec<AuditRow>, write_batch: impl Fn(Vec<AuditRow>) -> AppResult<()>) -> AppResult<()> {
        // A row the table would refuse fails its own reads here, never its batch's.
        if rows.iter().any(|r| r.action.trim().is_empty()) {
            return Err(AppError::internal("a read row without its action"));
        }
        let mut q = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.waiting.push((ticket, rows));
        loop {
            if let Some(outcome) = q.done.remove(&ticket) {
                return outcome;
            }
            if q.writing {
                q = self.written.wait(q).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            // Nobody is writing: this reader writes what is queued.
            q.writing = true;
            // Whole tickets, up to about BATCH_MAX rows (at least one ticket).
            let (mut take, mut rows_in) = (0, 0);
            while take < q.waiting.len() && (take == 0 || rows_in + q.waiting[take].1.len() <= BATCH_MAX) {
                rows_in += q.waiting[take].1.len();
                take += 1;
            }
            let batch: Vec<(u64, Vec<AuditRow>)> = q.waiting.drain(..take).collect();
            drop(q);
            let (tickets, rows): (Vec<u64>, Vec<Vec<AuditRow>>) = batch.into_iter().unzip();
            let rows: Vec<AuditRow> = rows.into_iter().flatten().collect();
            let mut writing = Writing { log: self, tickets, outcome: None };
            crate::metrics::observe_read_batch(rows.len());
            let outcome = write_batch(rows);
            if matches!(&outcome, Err(AppError::Internal(_) | AppError::Unavailable(_))) {
                crate::metrics::count_audit_write_failure();
            }
            writing.outcome = Some(outcome);
            drop(writing);
            q = self.state.lock().unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A batch being written: when it ends, however it ends (a panic too), its readers
/// get its outcome and another reader may write.
struct Writing<'a> {
    log: &'a ReadLog,
    tickets: Vec<u64>,
    outcome: Option<AppResult<()>>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let outcome =
            self.outcome.take().unwrap_or_else(|| Err(AppError::internal("writing a batch of read rows panicked")));
        let mut q = self.log.state.lock().unwrap_or_else(|e| e.into_inner());
        for t in self.tickets.drain(..) {
            q.done.insert(t, outcome.clone());
        }
        q.writing = false;
        self.log.written.notify_all();
    }
}
