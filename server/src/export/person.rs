//! A subject-access archive: one zip file a person can open anywhere, holding a JSON
//! file per table (an array of objects, one per row, UTF-8) and a README.txt that
//! says what each file holds and how many rows. Zip and JSON because every
//! operating system opens the one and every language and many viewers read the
//! other; a table's columns stay as the database names them.
//!
//! Written row by row into its file (deflated as it goes), so memory stays flat
//! whatever the person's size; the HTTP download and the CLI write it to a file.

use pathfinder::storage::{ExportCounts, PersonSink};
use pathfinder::{AppError, AppResult};
use std::io::{Seek, Write};
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

/// The archive being written.
pub struct Archive<W: Write + Seek> {
    zip: ZipWriter<W>,
    /// Whether a file's array is open, and whether it has a row yet.
    open: bool,
    empty: bool,
    /// Each file and what it holds, for the README.
    files: Vec<(String, String)>,
}

fn zip_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("writing the archive: {e}"))
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).unix_permissions(0o600)
}

impl<W: Write + Seek> Archive<W> {
    pub fn new(out: W) -> Self {
        Archive { zip: ZipWriter::new(out), open: false, empty: true, files: Vec::new() }
    }

    fn close_file(&mut self) -> AppResult<()> {
        if self.open {
            self.zip.write_all(if self.empty { b"]\n" } else { b"\n]\n" }).map_err(zip_error)?;
            self.open = false;
        }
        Ok(())
    }

    /// Ends the last file, writes the README (who, when, each file with its rows,
    /// what is left out) and the zip's directory.
    pub fn finish(mut self, counts: &ExportCounts) -> AppResult<W> {
        self.close_file()?;
        self.zip.start_file("README.txt", options()).map_err(zip_error)?;
        let mut text = format!(
            "Everything Pathfinder holds about {}, exported on {} (UTC).\n\n\
             Each .json file is one table: an array of objects, one per row, named by the\n\
             table's columns. Times are UTC (RFC 3339), dates YYYY-MM-DD. Sensitive fields\n\
             (phone number, date of birth, gender, nationality) are decrypted in profile.json.\n\
             Left out on purpose: password hashes, sign-in and link tokens, two-factor\n\
             secrets and recovery codes, and encrypted copies of fields given in the clear.\n\n\
             Files ({} rows in all):\n",
            counts.person,
            chrono::Utc::now().format("%Y-%m-%d %H:%M"),
            counts.rows()
        );
        for (file, about) in &self.files {
            let rows = counts.files.iter().find(|(f, _)| f == file).map_or(0, |(_, n)| *n);
            text.push_str(&format!("- {file} ({rows} rows): {about}\n"));
        }
        self.zip.write_all(text.as_bytes()).map_err(zip_error)?;
        self.zip.finish().map_err(zip_error)
    }
}

impl<W: Write + Seek> PersonSink for Archive<W> {
    fn file(&mut self, name: &str, about: &str) -> AppResult<()> {
        self.close_file()?;
        self.zip.start_file(name, options()).map_err(zip_error)?;
        self.zip.write_all(b"[").map_err(zip_error)?;
        self.files.push((name.to_string(), about.to_string()));
        (self.open, self.empty) = (true, true);
        Ok(())
    }

    fn row(&mut self, row: &serde_json::Map<String, serde_json::Value>) -> AppResult<()> {
        self.zip.write_all(if self.empty { b"\n" } else { b",\n" }).map_err(zip_error)?;
        serde_json::to_writer(&mut self.zip, row).map_err(zip_error)?;
        self.empty = false;
        Ok(())
    }
}

/// Writes the archive of `user_id` to `out` (a file), the export's audit rows
/// around it; `out` flushed, and what went.
pub fn write_archive<W: Write + Seek>(
    s: &dyn pathfinder::storage::Storage,
    user_id: &pathfinder::UserId,
    out: W,
    audit: &pathfinder::storage::AuditEntry,
) -> AppResult<(W, ExportCounts)> {
    let mut archive = Archive::new(std::io::BufWriter::new(out));
    let counts = s.export_person(user_id, &mut archive, audit)?;
    let out = archive.finish(&counts)?.into_inner().map_err(|e| zip_error(e.error()))?;
    Ok((out, counts))
}
