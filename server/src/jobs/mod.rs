//! Background work of the running server.

pub mod overview;
