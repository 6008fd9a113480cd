//! What the console's jobs share: when one may run, and walks in batches.

use crate::AppResult;

/// One step of a job that walks a table in keyset order (sealing plaintext,
/// re-wrapping keys): what it changed, and where to go on from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStep {
    pub scanned: u64,
    pub changed: u64,
    /// Rows that could not be changed (logged with their ids), left as they were.
    pub failed: u64,
    /// Pass back as `after`; `None` when the walk is over.
    pub next: Option<String>,
}

/// Runs a keyed walk to its end: `step` does one batch after `after` and says where
/// the next starts; `seen` hears of each batch. The sums of all batches.
pub fn walk_batches(
    mut step: impl FnMut(Option<&str>) -> AppResult<BatchStep>,
    mut seen: impl FnMut(&BatchStep),
) -> AppResult<BatchStep> {
    let mut all = BatchStep { scanned: 0, changed: 0, failed: 0, next: None };
    let mut after = None::<String>;
    loop {
        let batch = step(after.as_deref())?;
        seen(&batch);
        all.scanned += batch.scanned;
        all.changed += batch.changed;
        all.failed += batch.failed;
        match batch.next {
            Some(n) => after = Some(n),
            None => return Ok(all),
        }
    }
}

/// When a statistics refresh may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshWhen {
    /// Now (unless another instance is refreshing): the CLI and the console's button.
    Now,
    /// Only if the last refresh finished longer ago than this: the background job,
    /// which every console instance runs (one of them wins each round).
    Due(std::time::Duration),
}
