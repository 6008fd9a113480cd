//! Background work of the running server.

pub mod overview;
pub mod stats;
