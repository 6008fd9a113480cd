//! The HTTP surface in-process, a file per capability: sign-in, tokens, sessions,
//! roles, the cross-site check, audit rows, metrics and error hygiene.

#[path = "../common/mod.rs"]
mod common;
mod harness;

mod access_reviews;
mod accounts;
mod analytics;
mod audit;
mod backups;
mod career;
mod dormant;
mod flags;
mod invitations;
mod keys;
mod listener;
mod mfa;
mod operations;
mod overview;
mod pert;
mod reference;
mod retention;
mod security;
mod sessions;
mod shell;
mod smtp;
mod subject_access;
mod user_tables;
mod users;
