//! Pathfinder Admin's server: configuration, storage backends, authentication,
//! metrics, the HTTP surface and the command line. `main.rs` only calls [`cli::main`].

pub mod auth;
pub mod charts;
pub mod cli;
pub mod config;
pub mod crash;
pub mod crypto;
pub mod export;
pub mod generate;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod storage;
