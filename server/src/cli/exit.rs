//! How a command ends when it fails: its sentence on stderr and its exit code.

use pathfinder::AppError;
use std::process::ExitCode;

/// A command that failed before it changed anything: the error's sentence and its
/// exit code (2 for bad input or a conflict, 4 for a database that is unreachable or
/// busy, 1 otherwise).
pub fn failed(e: AppError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(match e {
        AppError::Invalid(_) | AppError::NotFound(_) | AppError::Conflict(_) => 2,
        AppError::Unavailable(_) => 4,
        _ => 1,
    })
}

/// A command that failed after committing part of its work (`done`): exit 1, never 2
/// (which says nothing changed); running it again finishes the work.
pub fn failed_midway(e: AppError, done: &str) -> ExitCode {
    eprintln!("error: {e} ({done} before it stopped; run it again to finish)");
    ExitCode::from(1)
}
