//! Dormant users: the list and its count from the user statistics, and the job that
//! deactivates them.

use super::{Action, AuditEntry, Returned};
use crate::dormant::{DeactivationJob, Dormancy, DormantFilter, DormantPage};
use crate::AppResult;

/// The list (it names people).
pub const DORMANT_READ: Action = Action::new("read.users.dormant");
/// A deactivation job asked for, stopped, and finished (each user changed has their
/// own `user.status.deactivated` row).
pub const DORMANT_DEACTIVATE: Action = Action::new("users.dormant.deactivate");
pub const DORMANT_DEACTIVATE_STOP: Action = Action::new("users.dormant.deactivate.stop");
pub const DORMANT_DEACTIVATE_DONE: Action = Action::new("users.dormant.deactivate.done");

impl Returned for DormantPage {
    fn rows(&self) -> usize {
        self.users.len()
    }
}

/// Dormant users and their deactivation.
pub trait DormantStore {
    /// A page of the people `filter` calls dormant (last active before its day,
    /// oldest first; or never, by id), how many there are in all, and the recent
    /// deactivation jobs.
    fn dormant_users(&self, filter: &DormantFilter) -> AppResult<DormantPage>;
    /// Records a deactivation of everyone `dormancy` names (its audit row holds the
    /// count the preview showed); `run_deactivation` does the work.
    fn start_deactivation(&self, dormancy: Dormancy, audit: &AuditEntry) -> AppResult<DeactivationJob>;
    /// Works through the job from where it stopped, a batch per transaction (each
    /// user set `deactivated`, their sessions ended, their own audit row, and the
    /// job's position), until it is done or asked to stop. One instance at a time
    /// (its lease); `Ok(None)` when another holds it or it is over.
    fn run_deactivation(&self, job_id: &str, audit: &AuditEntry) -> AppResult<Option<DeactivationJob>>;
    /// Asks the job to stop after its current batch; audited.
    fn stop_deactivation(&self, job_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Jobs unfinished, not asked to stop, whose instance went away (the upkeep
    /// round resumes them).
    fn orphaned_deactivations(&self) -> AppResult<Vec<String>>;
    /// Recounts how many people were last active on each day (the count's source),
    /// after the statistics' refresh.
    fn count_dormancy(&self) -> AppResult<()>;
}
