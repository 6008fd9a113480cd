//! `user export USERNAME --output FILE`: everything about one person into one zip
//! (`export::person`), audited; a partial file is removed when it fails.

use crate::export::person::write_archive;
use pathfinder::request::RequestMeta;
use pathfinder::storage::{Storage, SUBJECT_EXPORT};
use pathfinder::{AppError, AppResult, Username};
use std::path::Path;
use std::process::ExitCode;

pub fn export(s: &dyn Storage, username: &str, output: &Path) -> AppResult<ExitCode> {
    let name = Username::parse(username)?;
    let id = s.user_id_by_username(&name)?.ok_or_else(|| AppError::NotFound(format!("User '{name}'")))?;
    // Never over another file: create_new refuses one that exists.
    let file = std::fs::File::create_new(output).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            AppError::invalid(format!("{} exists: choose a new file for the archive.", output.display()))
        }
        _ => AppError::invalid(format!("Cannot create {}: {e}.", output.display())),
    })?;
    let audit =
        RequestMeta::cli(&format!("user export {name}")).audit(None, SUBJECT_EXPORT, ("user", Some(id.as_str())));
    let started = std::time::Instant::now();
    let counts = match write_archive(s, &id, file, &audit) {
        Ok((_, counts)) => counts,
        Err(e) => {
            let _ = std::fs::remove_file(output);
            return Err(e);
        }
    };
    let took = started.elapsed().as_secs_f64();
    println!(
        "Exported {} rows about '{name}' in {} files to {} ({took:.2} s, {:.0} rows/s).",
        counts.rows(),
        counts.files.len(),
        output.display(),
        counts.rows() as f64 / took.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}
