//! `security review`: runs the security review now (as the upkeep round does, on
//! whichever console instances reported their configuration) and prints the open
//! findings; exit 3 when any is high, so that an operator's cron can act on it.

use pathfinder::request::RequestMeta;
use pathfinder::security::{Check, SecurityPolicy, Severity, PAGE_FINDINGS};
use pathfinder::storage::{RefreshWhen, Storage, SECURITY_REVIEW};
use pathfinder::AppResult;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum SecurityCommand {
    /// Run the review now and print the open findings; audited. Exits 3 when a high
    /// finding is open, 0 otherwise.
    Review {
        #[command(flatten)]
        policy: SecurityArgs,
    },
}

/// The review's thresholds (`serve` and `security review` read the same settings).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct SecurityArgs {
    /// Run the review this often (hours; one instance a round).
    #[arg(long, env = "PF_SECURITY_REVIEW_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub security_review_hours: u32,
    /// A console account not signed in for this many days is dormant.
    #[arg(long, env = "PF_SECURITY_DORMANT_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..))]
    pub security_dormant_days: u32,
    /// More administrators than this is a finding.
    #[arg(long, env = "PF_SECURITY_MAX_ADMINS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub security_max_admins: u32,
    /// Roles granted within this many days are listed for a second look.
    #[arg(long, env = "PF_SECURITY_GRANT_DAYS", default_value_t = 14)]
    pub security_grant_days: u32,
    /// Evaluation API keys unused for this many days.
    #[arg(long, env = "PF_SECURITY_UNUSED_KEY_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..))]
    pub security_unused_key_days: u32,
    /// The master key not rotated for this many days.
    #[arg(long, env = "PF_SECURITY_MASTER_KEY_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..))]
    pub security_master_key_days: u32,
    /// An account locked more than this many times in a day.
    #[arg(long, env = "PF_SECURITY_LOCKOUTS_PER_DAY", default_value_t = 3)]
    pub security_lockouts_per_day: u32,
    /// An address with more than this many failed sign-ins in a day.
    #[arg(long, env = "PF_SECURITY_FAILURES_PER_ADDRESS", default_value_t = 20)]
    pub security_failures_per_address: u32,
    /// An account signed in from more than this many addresses in a day.
    #[arg(long, env = "PF_SECURITY_ADDRESSES_PER_ACCOUNT", default_value_t = 5)]
    pub security_addresses_per_account: u32,
}

impl SecurityArgs {
    pub fn policy(self) -> SecurityPolicy {
        SecurityPolicy {
            every_hours: self.security_review_hours,
            dormant_days: self.security_dormant_days,
            max_admins: self.security_max_admins,
            grant_days: self.security_grant_days,
            unused_key_days: self.security_unused_key_days,
            master_key_days: self.security_master_key_days,
            lockouts_per_day: self.security_lockouts_per_day,
            failures_per_address: self.security_failures_per_address,
            addresses_per_account: self.security_addresses_per_account,
        }
    }
}

pub fn run(s: &dyn Storage, command: SecurityCommand) -> AppResult<ExitCode> {
    let SecurityCommand::Review { policy } = command;
    let audit = RequestMeta::cli("security-review").audit(None, SECURITY_REVIEW, ("security", None));
    let outcome = s.security_review(RefreshWhen::Now, &policy.policy(), &audit)?.unwrap_or_default();
    for line in &outcome.new_high {
        println!("new high finding: {line}");
    }
    let view = s.security_view(PAGE_FINDINGS)?;
    for f in &view.open {
        let (title, fix) = Check::parse(&f.check).map_or((f.check.as_str(), ""), |c| (c.title(), c.fix()));
        println!(
            "{}\t{}\t{}: {}\tsince {}\t{}",
            f.severity.as_str(),
            title,
            f.names,
            f.detail,
            f.first_seen_at.format("%Y-%m-%d"),
            fix
        );
    }
    println!("{}.", outcome.note());
    Ok(if view.open_counts[Severity::High as usize] > 0 { ExitCode::from(3) } else { ExitCode::SUCCESS })
}
