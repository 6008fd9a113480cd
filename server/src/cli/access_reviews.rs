//! `access-review`: the key that checks closed campaigns' reports, a campaign's
//! report and signature written to files, and a check of a report against its
//! signature (with a public key file, no database or secret is needed: what an
//! outside auditor runs, or OpenSSL 3's `pkeyutl -verify -rawin`).

use crate::export::access_reviews::{report_csv, verify, ReportSigner};
use pathfinder::request::RequestMeta;
use pathfinder::storage::{Storage, ACCESS_REVIEW_REPORT};
use pathfinder::{AppError, AppResult};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum AccessReviewCommand {
    /// Print the public key (PEM) that checks every report, and its fingerprint.
    PublicKey,
    /// Write a closed campaign's report (CSV) and its signature (OUTPUT.sig); audited.
    Report {
        review_id: String,
        #[arg(long)]
        output: PathBuf,
    },
    /// Check a report against its signature: exit 0 when it holds, 1 when not.
    Verify {
        #[arg(long)]
        report: PathBuf,
        #[arg(long)]
        signature: PathBuf,
        /// The public key (PEM); without it, the key this database's audit key makes.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
}

fn read(path: &Path) -> AppResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| AppError::invalid(format!("Cannot read {}: {e}", path.display())))
}

/// `verify --public-key`: no database, no secret.
pub fn verify_with_key(report: &Path, signature: &Path, key: &Path) -> AppResult<ExitCode> {
    let pem = String::from_utf8(read(key)?).map_err(|_| AppError::invalid("The public key file is not PEM text."))?;
    checked(verify(&pem, &read(report)?, &read(signature)?))
}

fn checked(outcome: AppResult<()>) -> AppResult<ExitCode> {
    match outcome {
        Ok(()) => {
            println!("The signature holds: the report is as the console signed it.");
            Ok(ExitCode::SUCCESS)
        }
        Err(AppError::Invalid(why)) => {
            eprintln!("{why}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e),
    }
}

pub fn run(s: &dyn Storage, audit_key: Option<&[u8]>, command: AccessReviewCommand) -> AppResult<ExitCode> {
    let signer = ReportSigner::from_audit_key(
        audit_key.ok_or_else(|| AppError::invalid("Reports are signed with a key made from PF_AUDIT_KEY: set it."))?,
    );
    let key = signer.public_key()?;
    match command {
        AccessReviewCommand::PublicKey => {
            print!("{}", key.pem);
            println!("SHA-256 of the key: {}", key.fingerprint);
        }
        AccessReviewCommand::Report { review_id, output } => {
            let view = s.access_review(&review_id)?.ok_or_else(|| AppError::NotFound("That access review".into()))?;
            let csv = report_csv(&view)?;
            let audit = RequestMeta::cli("access-review report")
                .audit(None, ACCESS_REVIEW_REPORT, ("access_review", Some(&review_id)))
                .with_detail(format!("{}: report to a file, {} lines", view.campaign.name, view.lines.len()));
            s.append_audit(&audit)?;
            let sig = output.with_extension("csv.sig");
            std::fs::write(&output, &csv).map_err(AppError::internal)?;
            std::fs::write(&sig, signer.sign(&csv)).map_err(AppError::internal)?;
            println!("Wrote {} and {}.", output.display(), sig.display());
        }
        AccessReviewCommand::Verify { report, signature, public_key } => {
            return match public_key {
                Some(path) => verify_with_key(&report, &signature, &path),
                None => checked(verify(&key.pem, &read(&report)?, &read(&signature)?)),
            };
        }
    }
    Ok(ExitCode::SUCCESS)
}
