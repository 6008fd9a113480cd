//! A person's career data: the rows of their per-user tables, a section at a time,
//! on a page of its own reached from their page (its code loads when first visited),
//! with the text they wrote about themselves revealed one row at a time, with a
//! reason.

pub mod api;
mod page;

pub use page::CareerDataPage;

use crate::policy::{reads, unlisted, Access, Capability, ADMIN};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "career",
    rules: &[
        unlisted("/users/:id/career", Access::Roles(ADMIN), "one user's career data, reached from their page"),
        reads::<GetCareerPage>(Access::Roles(ADMIN)),
        reads::<RevealCareer>(Access::Roles(ADMIN)),
    ],
};
