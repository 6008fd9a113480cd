//! Background work of the running server.

pub mod checkpoints;
pub mod expiry;
pub mod overview;
pub mod pool;
pub mod stats;
pub mod upkeep;
