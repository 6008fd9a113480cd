//! A person's career data: the rows of their per-user tables, read-only, a section
//! (one table) at a time in keyset pages. Text people wrote about themselves (chat
//! messages, PERT answers, experience descriptions and achievements) is hidden until
//! an administrator reveals one row's with a reason; the reveal's audit row is
//! written in the same transaction as its read.

use super::{Action, AuditEntry, Returned};
use crate::career::{CareerPage, CareerQuery, CareerSection, Revealed};
use crate::{AppResult, UserId};

/// A page of one section read (the row names the section and the page).
pub const CAREER_READ: Action = Action::new("read.user.career");
/// One row's self-written text revealed, with the reason in the row.
pub const CAREER_REVEAL: Action = Action::new("read.user.career.reveal");

impl Returned for CareerPage {
    fn rows(&self) -> usize {
        self.rows.len()
    }
}

/// A person's career data (their per-user tables).
pub trait CareerStore {
    /// A page of one section of the user's table set; `None` when they have none
    /// (or it is not ready). Self-written text comes hidden.
    fn career_page(&self, user_id: &UserId, query: &CareerQuery) -> AppResult<Option<CareerPage>>;
    /// One row's self-written text in the clear; `audit` (with the reason in its
    /// detail) is written in the same transaction as the read, or nothing is shown.
    fn reveal_career_text(
        &self,
        user_id: &UserId,
        section: CareerSection,
        row_id: &str,
        audit: &AuditEntry,
    ) -> AppResult<Revealed>;
}
