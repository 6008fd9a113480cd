//! `retention policies | set | remove | run`: the retention policies and their runs
//! (see `storage/retention.rs`), as the Retention page has them.

use super::progress::stop_on_signal;
use pathfinder::request::RequestMeta;
use pathfinder::retention::{PolicyEdit, RetentionSummary};
use pathfinder::storage::{RefreshWhen, RetentionRequest, Storage};
use pathfinder::storage::{RETENTION_POLICY_CREATE, RETENTION_POLICY_DELETE, RETENTION_POLICY_UPDATE, RETENTION_RUN};
use pathfinder::AppResult;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

#[derive(clap::Subcommand, Debug)]
pub enum RetentionCommand {
    /// The policies and the last run.
    Policies,
    /// Add a policy for PATTERN (a table name, `*` for any run of characters), or
    /// change the one it has; audited.
    Set {
        pattern: String,
        #[arg(long)]
        days: i64,
        /// Copy due rows into the archive table first (pf_user_*_experiences).
        #[arg(long)]
        archive: bool,
        /// Keep the rows (with --archive: archive only).
        #[arg(long)]
        keep: bool,
    },
    /// Remove the policy for PATTERN; audited.
    Remove { pattern: String },
    /// Run every policy now (or resume the run that stopped midway); audited. Ctrl-C
    /// stops it between batches, to be resumed by the next run.
    Run {
        /// Say what a run would archive and delete, changing nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(s: &dyn Storage, audit_key: Option<&[u8]>, command: RetentionCommand) -> AppResult<ExitCode> {
    let meta = RequestMeta::cli("retention");
    let policy_id = |pattern: &str| -> AppResult<Option<String>> {
        let pattern = pattern.trim().to_ascii_lowercase();
        Ok(s.retention_page()?.policies.into_iter().find(|p| p.table_pattern == pattern).map(|p| p.id))
    };
    match command {
        RetentionCommand::Policies => {
            let page = s.retention_page()?;
            for p in &page.policies {
                println!(
                    "{}\t{} days\tarchive {}\tdelete {}\tlast run {}",
                    p.table_pattern,
                    p.retention_days,
                    if p.archive_enabled { "yes" } else { "no" },
                    if p.delete_enabled { "yes" } else { "no" },
                    p.last_run.map_or("never".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                );
            }
            if let Some(run) = page.last_run {
                println!("Last run {}: {}", run.started_at.format("%Y-%m-%d %H:%M UTC"), run.summary.text());
            }
        }
        RetentionCommand::Set { pattern, days, archive, keep } => {
            let id = policy_id(&pattern)?;
            let action = if id.is_some() { RETENTION_POLICY_UPDATE } else { RETENTION_POLICY_CREATE };
            let edit = PolicyEdit {
                table_pattern: pattern,
                retention_days: days,
                archive_enabled: archive,
                delete_enabled: !keep,
            };
            let saved = s.save_retention_policy(
                id.as_deref(),
                &edit,
                &meta.audit(None, action, ("retention_policy", id.as_deref())),
            )?;
            println!("Saved the policy for {}: {} days.", saved.table_pattern, saved.retention_days);
        }
        RetentionCommand::Remove { pattern } => {
            let Some(id) = policy_id(&pattern)? else {
                return Err(pathfinder::AppError::NotFound(format!("A retention policy for {pattern}")));
            };
            s.delete_retention_policy(
                &id,
                &meta.audit(None, RETENTION_POLICY_DELETE, ("retention_policy", Some(id.as_str()))),
            )?;
            println!("Removed the policy for {pattern}.");
        }
        RetentionCommand::Run { dry_run } => {
            let stop = stop_on_signal()?;
            let req = RetentionRequest { dry_run, when: RefreshWhen::Now, now: chrono::Utc::now(), audit_key };
            let audit = meta.audit(None, RETENTION_RUN, ("retention", None));
            let mut changed = 0u64;
            let ran = s.run_retention(&req, &audit, &mut |so_far: &RetentionSummary| {
                changed = so_far.tables.iter().map(|t| t.archived + t.deleted).sum();
                !stop.load(Ordering::Relaxed)
            });
            // A run that fails after committing some batches (its lease lost, say) is
            // partly done: the next run resumes it.
            let summary = match ran {
                Err(e) if changed > 0 && !dry_run => {
                    return Ok(super::exit::failed_midway(e, &format!("{changed} rows were archived or deleted")))
                }
                other => other?,
            };
            let Some(summary) = summary else { return Ok(ExitCode::SUCCESS) };
            println!("{}", summary.text());
            if !summary.finished {
                println!("Stopped midway: the next run resumes it.");
                return Ok(ExitCode::from(130));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
