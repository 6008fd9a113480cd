//! Storage: every operation of the interface in `pathfinder::storage`, written once
//! over the driver interface (`driver/`). The database URL picks the driver:
//! `sqlite:<path>` (the embedded default) or `oracle://…` (production).
//!
//! One file per capability holds its flow: its SQL (`sql!`, with each dialect's text
//! where they differ), its steps, its validation and its audit rows. Every change is
//! written with its audit row in one transaction ([`Store::write_audited`]); work that
//! cannot share a transaction (Oracle DDL, SQLite's per-user files, a materialized
//! view refresh) commits its intent first (`<action>.begin`) and its outcome after.

pub mod audit;
pub mod driver;
pub mod migrations;
pub mod oracle_lint;
pub mod schema_model;
pub mod search;
pub mod sql;

mod access_reviews;
mod accounts;
mod analytics;
pub mod backups;
mod bulk;
mod career;
mod database_view;
mod dormant;
mod flags;
mod invitations;
mod jobs;
mod keys;
mod mfa;
mod operations;
pub mod pert;
mod reference;
mod retention;
mod rows;
pub mod schema;
mod security;
mod sessions;
pub mod stats;
mod store;
mod subject_access;
mod user_tables;
mod users;

pub use audit::chain::signed_by;
pub use bulk::insert_sql;
pub use career::{
    count_statement as career_count_statement, page_statement as career_page_statement,
    reveal_statement as career_reveal_statement,
};
pub use migrations::failure_audit;
pub use retention::{partition_statements, pattern_reaches, retention_set_statements};
pub use store::{open, Store};
pub use subject_access::{select_statement as subject_select_statement, SHARED as SUBJECT_PARTS};
pub use user_tables::{career_statement, counts_statement, drop_statement};
