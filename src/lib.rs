//! Pathfinder Admin's shared vocabulary: what the server and the browser both speak.
//!
//! Ids, the user-facing DTOs, the users filter, validation rules and the one error
//! enum that crosses the wire. With the `server` feature it also holds the storage
//! interface, so that the server functions in `app/` and the backends in `server/`
//! meet on the same traits without depending on each other.

pub mod access_reviews;
pub mod analytics;
pub mod audit;
pub mod backup;
pub mod career;
pub mod diagnostics;
pub mod dormant;
pub mod dto;
pub mod error;
pub mod filter;
pub mod flags;
pub mod ids;
pub mod pert;
pub mod pool;
pub mod queries;
pub mod reference;
pub mod retention;
pub mod role;
pub mod security;
pub mod usage;
pub mod username;
pub mod validation;

#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod mail;
#[cfg(feature = "server")]
pub mod mfa;
#[cfg(feature = "server")]
pub mod request;
#[cfg(feature = "server")]
pub mod secret;
#[cfg(feature = "server")]
pub mod stats;
#[cfg(feature = "server")]
pub mod storage;
#[cfg(feature = "server")]
pub mod witness;

pub use error::{AppError, AppResult};
pub use ids::{new_id, SessionId, UserId};
pub use role::Role;
pub use username::Username;
