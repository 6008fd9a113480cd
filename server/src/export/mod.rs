//! Exports' encodings: the users list and the audit log as CSV or NDJSON, with
//! spreadsheet formulas kept as text. The HTTP downloads (`http/export.rs`) and
//! the CLI's `audit export` write through them.

pub mod access_reviews;
pub mod audit;
pub mod person;
pub mod pert;

use pathfinder::dto::UserSummary;
use pathfinder::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, AppError> {
        match s {
            "" | "csv" => Ok(Format::Csv),
            "ndjson" => Ok(Format::Ndjson),
            other => Err(AppError::invalid(format!("Unknown format {other:?}: csv or ndjson."))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }
}

const COLUMNS: [&str; 8] =
    ["user_id", "username", "email", "first_name", "last_name", "account_status", "created_at", "last_login"];

/// What a spreadsheet reads as a formula at the start of a cell.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A spreadsheet must not run what a cell says: text that starts like a formula is
/// kept as text (a leading `'`), and so is text that starts with `'`s before one, so
/// that [`restored`] reads every cell back as it was.
pub fn neutral(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_after_quotes(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A cell [`neutral`] wrote, back as it was (an import of an export).
pub fn restored(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_after_quotes(rest) => rest,
        _ => cell,
    }
}

/// Whether `text`, past any leading `'`s, starts like a formula.
fn formula_after_quotes(text: &str) -> bool {
    text.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

fn cells(u: &UserSummary) -> [String; 8] {
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    [
        u.user_id.0.clone(),
        u.username.clone(),
        u.email.clone(),
        u.first_name.clone().unwrap_or_default(),
        u.last_name.clone().unwrap_or_default(),
        u.account_status.clone(),
        time(&u.created_at),
        time(&u.last_login),
    ]
}

pub fn encode_users(format: Format, users: &[UserSummary], header: bool) -> Result<Vec<u8>, AppError> {
    encode_table(format, &COLUMNS, users.iter().map(cells), header)
}

/// Rows of text cells under `columns`: CSV (formulas kept as text, the header when
/// `header`) or one JSON object a line.
pub fn encode_table<const N: usize>(
    format: Format,
    columns: &[&str; N],
    rows: impl Iterator<Item = [String; N]>,
    header: bool,
) -> Result<Vec<u8>, AppError> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            if header {
                w.write_record(columns).map_err(AppError::internal)?;
            }
            for row in rows {
                w.write_record(row.iter().map(|c| neutral(c).into_owned())).map_err(AppError::internal)?;
            }
            w.into_inner().map_err(AppError::internal)
        }
        Format::Ndjson => {
            let mut out = Vec::new();
            for row in rows {
                let object: serde_json::Map<String, serde_json::Value> =
                    columns.iter().zip(row).map(|(k, v)| (k.to_string(), v.into())).collect();
                serde_json::to_writer(&mut out, &object).map_err(AppError::internal)?;
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_kept_as_text() {
        for cell in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutral(cell).starts_with('\''), "{cell}");
        }
        assert_eq!(neutral("alice"), "alice");
        assert_eq!(neutral(""), "");
    }

    /// Found by the `csv_cell` fuzz target: `'-x` was exported as it is and imported
    /// as `-x`.
    #[test]
    fn every_cell_reads_back_as_it_was() {
        for cell in ["'-x", "''=1", "'", "''", "'plain", "=1", "-", "a'=b", "\t'", ""] {
            let written = neutral(cell);
            assert!(!written.starts_with(FORMULA_STARTS), "{written:?}");
            assert_eq!(restored(&written), cell, "{written:?}");
        }
    }
}
