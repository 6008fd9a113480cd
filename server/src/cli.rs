//! The `pathfinder-admin` command line. Every option has a `PF_*` environment
//! variable; secrets may also come from `PF_*_FILE`.
//!
//! Exit codes: 0 done; 1 failed; 2 bad usage or input (nothing changed);
//! 3 `schema-check` found drift; 4 the database is unreachable or busy.

mod access_reviews;
mod audit;
mod backup;
mod exit;
mod keys;
mod progress;
mod retention;
mod security;
mod subject_access;

use crate::config::ServeConfig;
use crate::config::{secret_from_env, DatabaseUrl, DEFAULT_DATABASE_URL};
use crate::http::{router, AppState};
use crate::{auth, generate, storage};
use clap::{Parser, Subcommand, ValueEnum};
use exit::failed;
use pathfinder::db::Db;
use pathfinder::request::RequestMeta;
use pathfinder::storage::{
    Action, API_KEY_CREATE, API_KEY_REVOKE, DB_STATISTICS, FIELDS_SEAL, SCHEMA_MIGRATE, STATS_REFRESH, STORAGE_SAMPLE,
    TABLES_DROP, TABLES_PROVISION, USER_CREATE, USER_DELETE,
};
use pathfinder::storage::{AuditEntry, KeyPolicy, NewUser, RefreshWhen, Storage};
use pathfinder::witness::ChainTrust;
use pathfinder::{AppError, AppResult, Role, UserId, Username};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "pathfinder-admin",
    version,
    about = "Pathfinder Admin: the admin and operations console of Pathfinder"
)]
pub struct Cli {
    /// Database: sqlite:<path> (embedded, the default) or oracle://user:password@host:port/service;
    /// or the first line of the file PF_DATABASE_URL_FILE names.
    #[arg(long, env = "PF_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub database_url: String,
    /// Log format.
    #[arg(long, env = "PF_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// The audit chain's outside witness: a file, outside the database, that keeps the
    /// newest checkpoint seen (default: `.audit-witness` beside the embedded database).
    #[arg(long, env = "PF_AUDIT_WITNESS", global = true)]
    pub audit_witness: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args, Debug, Clone, Copy)]
pub struct KeyPolicyArgs {
    /// A data key not rotated for this many days is overdue.
    #[arg(long, env = "PF_KEY_ROTATION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub key_rotation_days: u32,
}

/// The storage sampler and its alert thresholds (see `storage/usage.rs`), and the
/// optimizer statistics' schedule.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct StorageArgs {
    /// Sample the storage this often (minutes). Every instance runs the job; one of
    /// them samples each round.
    #[arg(long, env = "PF_STORAGE_SAMPLE_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub storage_sample_minutes: u32,
    /// Keep storage samples this many days.
    #[arg(long, env = "PF_STORAGE_HISTORY_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub storage_history_days: u32,
    /// Storage use at or above this share of the limit (percent) is a warning.
    #[arg(long, env = "PF_STORAGE_WARNING_PERCENT", default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub storage_warning_percent: u8,
    /// Storage use at or above this share of the limit (percent) is critical.
    #[arg(long, env = "PF_STORAGE_CRITICAL_PERCENT", default_value_t = 90, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub storage_critical_percent: u8,
    /// The storage limit in bytes; by default the backend's own (SQLite: the database
    /// with the free space of its file system; Oracle: the tablespace quota or size).
    #[arg(long, env = "PF_STORAGE_LIMIT_BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub storage_limit_bytes: Option<u64>,
    /// Gather the optimizer statistics this often (hours), where they are stale.
    #[arg(long, env = "PF_DB_STATISTICS_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub statistics_hours: u64,
    /// Run the retention policies this often (hours); a run that stopped midway is
    /// resumed then.
    #[arg(long, env = "PF_RETENTION_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub retention_hours: u64,
}

/// Mail over SMTP (`mail.rs`); without a host, mail goes to the outbox file.
#[derive(clap::Args, Debug, Clone)]
pub struct SmtpArgs {
    /// The SMTP server; unset, mail is written to the outbox (PF_OUTBOX).
    #[arg(long, env = "PF_SMTP_HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, env = "PF_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// starttls (when the server offers it), required (STARTTLS or no mail), tls
    /// (from the first byte, port 465) or none.
    #[arg(long, env = "PF_SMTP_TLS", value_enum, default_value = "starttls")]
    pub smtp_tls: crate::mail::SmtpTls,
    /// Signs in to the server with PF_SMTP_PASSWORD (or PF_SMTP_PASSWORD_FILE).
    #[arg(long, env = "PF_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// The sender's address, e.g. `Pathfinder Admin <console@example.com>`.
    #[arg(long, env = "PF_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// A certificate authority (PEM) to trust besides the system's.
    #[arg(long, env = "PF_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<std::path::PathBuf>,
}

impl SmtpArgs {
    /// The SMTP sender, or the outbox at `outbox` without a host.
    fn mailer(self, outbox: std::path::PathBuf) -> AppResult<Arc<dyn pathfinder::mail::Mailer>> {
        let Some(host) = self.smtp_host else { return Ok(Arc::new(pathfinder::mail::OutboxMailer { path: outbox })) };
        let from = self.smtp_from.ok_or_else(|| AppError::invalid("PF_SMTP_HOST is set: set PF_SMTP_FROM too."))?;
        let settings = crate::mail::SmtpSettings {
            host,
            port: self.smtp_port,
            tls: self.smtp_tls,
            username: self.smtp_username,
            password: secret_from_env("PF_SMTP_PASSWORD")?,
            from,
            ca_file: self.smtp_ca_file,
        };
        Ok(Arc::new(crate::mail::SmtpMailer::new(&settings)?))
    }
}

/// The embedded database's scheduled backups (see `storage/backup.rs`); on Oracle the
/// platform takes them and these do nothing.
#[derive(clap::Args, Debug, Clone)]
pub struct BackupArgs {
    /// Where scheduled backups go (default: `<database>-backups` beside the database).
    #[arg(long, env = "PF_BACKUP_DIR")]
    pub backup_dir: Option<std::path::PathBuf>,
    /// A full backup this often (hours), verified after it is taken; 0 turns the
    /// scheduled backups off.
    #[arg(long, env = "PF_BACKUP_FULL_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(0..=720))]
    pub backup_full_hours: u64,
    /// An incremental backup (the sets changed since the full one) this often in
    /// between (hours); 0 for none. The embedded database's recovery point.
    #[arg(long, env = "PF_BACKUP_INCREMENTAL_HOURS", default_value_t = 4, value_parser = clap::value_parser!(u64).range(0..=720))]
    pub backup_incremental_hours: u64,
    /// Keep backups this many days (a full one as long as a kept incremental needs it).
    #[arg(long, env = "PF_BACKUP_KEEP_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub backup_keep_days: u32,
}

impl BackupArgs {
    /// The schedule, for the embedded database unless turned off.
    pub fn schedule(&self, url: &DatabaseUrl) -> Option<pathfinder::backup::BackupSchedule> {
        let DatabaseUrl::Sqlite(database) = url else { return None };
        (self.backup_full_hours > 0).then(|| pathfinder::backup::BackupSchedule {
            root: self.backup_dir.clone().unwrap_or_else(|| backup::default_root(database)),
            full_every: std::time::Duration::from_secs(self.backup_full_hours * 3600),
            incremental_every: std::time::Duration::from_secs(self.backup_incremental_hours * 3600),
            keep_days: self.backup_keep_days,
        })
    }
}

impl StorageArgs {
    pub fn policy(&self) -> AppResult<pathfinder::usage::StoragePolicy> {
        if self.storage_warning_percent >= self.storage_critical_percent {
            return Err(AppError::invalid("PF_STORAGE_WARNING_PERCENT must be below PF_STORAGE_CRITICAL_PERCENT."));
        }
        Ok(pathfinder::usage::StoragePolicy {
            warning_percent: self.storage_warning_percent,
            critical_percent: self.storage_critical_percent,
            sample_every_minutes: self.storage_sample_minutes,
            history_days: self.storage_history_days,
            limit_bytes: self.storage_limit_bytes,
        })
    }
}

/// The sign-in guard (see `auth::guard`): failures within 15 minutes count, and a
/// streak of locks is forgotten after 12 hours without a failure.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct LockoutArgs {
    /// Wrong passwords that lock an account (or make a trusted browser untrusted).
    #[arg(long, env = "PF_LOGIN_MAX_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=100))]
    pub login_max_failures: u32,
    /// How long the first lock lasts; each lock in a row lasts twice the one before.
    #[arg(long, env = "PF_LOGIN_LOCK_MINUTES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub login_lock_minutes: u32,
    /// The longest a lock lasts, however many came before it.
    #[arg(long, env = "PF_LOGIN_MAX_LOCK_MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=10080))]
    pub login_max_lock_minutes: u32,
    /// Sign-in attempts one client address may make at once, before the throttle
    /// lets through only `--sign-in-per-minute`.
    #[arg(long, env = "PF_SIGN_IN_BURST", default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    pub sign_in_burst: u32,
    #[arg(long, env = "PF_SIGN_IN_PER_MINUTE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub sign_in_per_minute: u32,
}

impl LockoutArgs {
    fn sign_in_rate(self) -> auth::throttle::SignInRate {
        let every = std::time::Duration::from_secs(60) / self.sign_in_per_minute.max(1);
        auth::throttle::SignInRate { burst: self.sign_in_burst, every, ..Default::default() }
    }

    fn policy(self) -> auth::guard::LockoutPolicy {
        let first_lock = chrono::Duration::minutes(i64::from(self.login_lock_minutes));
        auth::guard::LockoutPolicy {
            max_failures: self.login_max_failures,
            first_lock,
            max_lock: chrono::Duration::minutes(i64::from(self.login_max_lock_minutes)).max(first_lock),
            ..auth::guard::LockoutPolicy::default()
        }
    }
}

impl KeyPolicyArgs {
    fn policy(self) -> KeyPolicy {
        KeyPolicy { rotation_days: self.key_rotation_days }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the console over HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PF_LISTEN", default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Folder with the built site (pkg/ with the wasm, js and css).
        #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
        site_root: String,
        /// Apply pending migrations before serving.
        #[arg(long)]
        migrate: bool,
        /// Mark the session cookie Secure (when served over HTTPS).
        #[arg(long, env = "PF_SECURE_COOKIE")]
        secure_cookie: bool,
        /// Refresh the user statistics this often (minutes). Every instance runs the
        /// job; one of them refreshes each round.
        #[arg(long, env = "PF_STATS_REFRESH_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        stats_refresh_minutes: u64,
        /// Verify the whole audit chain this often (days), unless someone did from the
        /// Audit page meanwhile. Every instance runs the job; one of them verifies.
        #[arg(long, env = "PF_AUDIT_VERIFY_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=90))]
        audit_verify_days: u64,
        /// Sign the audit chain's head this often (seconds), and at shutdown.
        #[arg(long, env = "PF_AUDIT_CHECKPOINT_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        audit_checkpoint_seconds: u64,
        /// Flag evaluations per second one API key may ask of this instance
        /// (the OFREP API; a burst of as many), before 429 with Retry-After.
        #[arg(long, env = "PF_OFREP_RATE", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        ofrep_rate: u32,
        /// Storage operations that take longer than this (milliseconds) are logged
        /// as warnings with their request id; 0 logs none.
        #[arg(long, env = "PF_SLOW_QUERY_MS", default_value_t = 250)]
        slow_query_ms: u64,
        #[command(flatten)]
        keys: KeyPolicyArgs,
        /// Host names the console answers to, comma-separated (the name users and
        /// proxies put in the Host header). Loopback names and the listen address by
        /// default; anything else is refused, so a site on another name that resolves
        /// here cannot read the console (DNS rebinding).
        #[arg(long, env = "PF_ALLOWED_HOSTS", value_delimiter = ',')]
        allowed_hosts: Vec<String>,
        /// A session ends this many hours after sign-in.
        #[arg(long, env = "PF_SESSION_HOURS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=168))]
        session_hours: u32,
        /// A session ends after this many minutes without a request.
        #[arg(long, env = "PF_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
        session_idle_minutes: u32,
        #[command(flatten)]
        lockout: LockoutArgs,
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        backups: BackupArgs,
        #[command(flatten)]
        security: security::SecurityArgs,
        /// Proxies in front of the console (IP addresses, comma-separated): their
        /// X-Forwarded-For names the client for the audit log, the sign-in throttle
        /// and the loopback-only metrics. Nobody else's header is believed.
        #[arg(long, env = "PF_TRUSTED_PROXIES", value_delimiter = ',')]
        trusted_proxies: Vec<std::net::IpAddr>,
        /// Console roles that must sign in with a second factor (TOTP), comma-separated,
        /// or `none`. Their holders without one are sent to set it up at sign-in.
        #[arg(long, env = "PF_MFA_REQUIRED_ROLES", default_value = "admin")]
        mfa_required_roles: String,
        /// The address people reach the console at (for links in mail), e.g.
        /// https://console.example.com; by default the first allowed host name at the
        /// port the console listens on (never a request's Host header).
        #[arg(long, env = "PF_PUBLIC_URL")]
        public_url: Option<String>,
        /// Where invitation mail is written (the embedded sender): `outbox.txt` beside
        /// the database by default.
        #[arg(long, env = "PF_OUTBOX")]
        outbox: Option<std::path::PathBuf>,
        #[command(flatten)]
        smtp: SmtpArgs,
    },
    /// Apply pending migrations (idempotent; refuses to downgrade).
    Migrate,
    /// Create a console administrator. The password comes from a prompt, from the
    /// file named by --password-file, or from the environment variable PF_ADMIN_PASSWORD.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Read the password from this file (first line).
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
        /// Do nothing (and succeed) when an administrator already exists.
        #[arg(long)]
        if_no_admin: bool,
    },
    /// Create the per-user table set of <USERNAME> (idempotent; repairs a half-made set).
    ProvisionUser { username: String },
    /// Drop the per-user table set of <USERNAME>; only a set in the registry.
    DropUserTables {
        username: String,
        /// Confirm: the tables and their rows are deleted.
        #[arg(long)]
        yes: bool,
    },
    /// Compare the live database with what the migrations define; exit 3 on drift.
    SchemaCheck,
    /// Rebuild the user statistics (pf_mv_user_stats) now; audited.
    RefreshStats,
    /// Measure the storage now (tables, per-user sets, the limit) and record the
    /// sample, as the server's job does; audited. Uses the serve command's
    /// PF_STORAGE_* settings.
    SampleStorage {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Gather the optimizer statistics now where they are stale; audited.
    GatherStatistics,
    /// Backups of the embedded database: create, list, verify, restore (on Oracle the
    /// platform takes them).
    Backup {
        #[command(subcommand)]
        command: backup::BackupCommand,
    },
    /// Retention policies and runs: list, set, remove, run (--dry-run says what a run
    /// would do).
    Retention {
        #[command(subcommand)]
        command: retention::RetentionCommand,
    },
    /// Access reviews' signed reports: the public key, a campaign's report, and a
    /// check of a report against its signature.
    AccessReview {
        #[command(subcommand)]
        command: access_reviews::AccessReviewCommand,
    },
    /// The security review: run it now and print the open findings (exit 3 when one
    /// is high).
    Security {
        #[command(subcommand)]
        command: security::SecurityCommand,
    },
    /// Replace users' data keys and re-encrypt their fields, one transaction per user.
    RotateKeys {
        /// Only this user's key.
        #[arg(long, conflicts_with_all = ["all", "overdue"])]
        user: Option<String>,
        /// Every user's key.
        #[arg(long, conflicts_with = "overdue")]
        all: bool,
        /// The keys the rotation policy calls overdue.
        #[arg(long)]
        overdue: bool,
        #[command(flatten)]
        keys: KeyPolicyArgs,
    },
    /// Re-wrap every data key under the current master key (fields are not touched).
    /// With PF_MASTER_KEY set: the new key is PF_MASTER_KEY, the old one
    /// PF_MASTER_KEY_PREVIOUS. The embedded default (no PF_MASTER_KEY) makes a new
    /// key beside the database and keeps the old one as .master-key.previous.
    RotateMasterKey,
    /// Print a new random master key (64 hex digits) for PF_MASTER_KEY.
    NewMasterKey,
    /// Write brotli and gzip copies beside each file of the browser bundle
    /// (`<site root>/pkg`), which `serve` sends to browsers that accept them; the
    /// release build runs it. No database.
    CompressAssets {
        #[arg(long, default_value = "target/site")]
        site_root: String,
    },
    /// Delete a user and destroy their data key (crypto-shredding); audited.
    DeleteUser {
        username: String,
        /// Confirm: the user, their sessions, links and encrypted fields are gone for good.
        #[arg(long)]
        yes: bool,
    },
    /// One person: `user export USERNAME --output FILE` writes everything the
    /// database holds about them into one zip (subject access); audited.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The audit log: verify its hash chain, export it, sign a checkpoint.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Keys of the flag evaluation API (OFREP) for other services: create (the
    /// secret is shown once), list, revoke; audited.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Fill the database with deterministic synthetic data: users (who cannot sign in)
    /// with everything around them, audit events, provisioned table sets. Interrupt
    /// it at will: run the same command again to finish.
    Generate {
        #[arg(long, default_value_t = 1_000)]
        users: u64,
        #[arg(long, default_value_t = 10_000)]
        audit_events: u64,
        /// How many of the users get their per-user table set, filled.
        #[arg(long, default_value_t = 0)]
        provisioned: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The day the data ends on (YYYY-MM-DD, UTC); today if not given.
        #[arg(long)]
        end_date: Option<chrono::NaiveDate>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Make a key for a service; prints its secret, which is kept only as a hash.
    Create {
        /// Which service uses it.
        #[arg(long)]
        name: String,
    },
    /// The keys, newest first: id, name, first characters, created, last used, revoked.
    List,
    /// Revoke a key by its id: its next call is refused.
    Revoke { key_id: String },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Everything about one person (a soft-deleted one too) into one zip of JSON
    /// files with a README: their profile decrypted, sessions, links, invitations,
    /// flags, analytics, every per-user table, CPA PERT rows, audit rows.
    Export {
        username: String,
        /// The zip to write (refused if it exists).
        #[arg(long)]
        output: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the hash chain and the signed checkpoints; exit 3 at the first break.
    Verify,
    /// Export the events of a filter (the Audit page's) as CSV or NDJSON; audited.
    Export {
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        #[command(flatten)]
        filter: audit::FilterArgs,
    },
    /// Sign the chain's head now (the server also does, periodically and at shutdown).
    Checkpoint,
}

pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    // Everything the console writes (the database and its -wal and -shm, the
    // per-user files, backups, keys, the outbox) is its owner's alone: files 0600,
    // folders 0700, whatever the shell's umask.
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_logging(cli.log_format);
    // The URL carries the Oracle password: it may come from a file instead.
    if matches.value_source("database_url") == Some(clap::parser::ValueSource::DefaultValue) {
        match secret_from_env("PF_DATABASE_URL") {
            Ok(Some(url)) => cli.database_url = url.trim().to_string(),
            Ok(None) => {}
            Err(e) => return failed(e),
        }
    }
    match run(cli, settings_in_effect(&matches)) {
        Ok(code) => code,
        Err(e) => failed(e),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,leptos=warn,tower=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The secrets `serve` reads (each also as `<NAME>_FILE`): shown as set or unset only.
pub const SECRETS: [&str; 6] = [
    "PF_JWT_SECRET",
    "PF_MASTER_KEY",
    "PF_MASTER_KEY_PREVIOUS",
    "PF_AUDIT_KEY",
    "PF_METRICS_TOKEN",
    "PF_SMTP_PASSWORD",
];

/// The subcommand's settings as parsed (the Diagnostics page): each option by its
/// environment variable (or flag), its value and where it came from; the database
/// URL without its password; the secrets as set or unset.
fn settings_in_effect(matches: &clap::ArgMatches) -> Vec<pathfinder::diagnostics::Setting> {
    use clap::parser::ValueSource;
    use clap::CommandFactory;
    let command = Cli::command();
    let Some((name, sub)) = matches.subcommand() else { return Vec::new() };
    let Some(subcommand) = command.find_subcommand(name) else { return Vec::new() };
    let mut settings: Vec<_> = command
        .get_arguments()
        .chain(subcommand.get_arguments())
        .filter_map(|arg| {
            let id = arg.get_id().as_str();
            let raw = sub.get_raw(id)?.map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>().join(",");
            let value = if id == "database_url" {
                DatabaseUrl::parse(&raw).map(|u| u.to_string()).unwrap_or_else(|_| "(not a valid URL)".into())
            } else {
                raw
            };
            let source = match sub.value_source(id) {
                Some(ValueSource::EnvVariable) => "environment",
                Some(ValueSource::CommandLine) => "command line",
                _ => "default",
            };
            let name = arg
                .get_env()
                .map(|e| e.to_string_lossy().into_owned())
                .or_else(|| arg.get_long().map(|l| format!("--{l}")))?;
            Some(pathfinder::diagnostics::Setting { name, value, source: source.into() })
        })
        .collect();
    for secret in SECRETS {
        let from_file = std::env::var_os(format!("{secret}_FILE")).is_some();
        let set = from_file || std::env::var_os(secret).is_some();
        settings.push(pathfinder::diagnostics::Setting {
            name: secret.into(),
            value: if set { "set" } else { "unset" }.into(),
            source: if from_file {
                "file"
            } else if set {
                "environment"
            } else {
                "-"
            }
            .into(),
        });
    }
    settings
}

fn run(cli: Cli, settings: Vec<pathfinder::diagnostics::Setting>) -> AppResult<ExitCode> {
    let url = DatabaseUrl::parse(&cli.database_url)?;
    tracing::debug!(database = %url, "opening database");
    if let Command::CompressAssets { site_root } = &cli.command {
        let pkg = std::path::Path::new(site_root).join("pkg");
        let (before, after) = crate::http::assets::compress_bundle(&pkg)?;
        println!("Compressed the bundle in {}: {before} bytes, {after} with brotli.", pkg.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::NewMasterKey = cli.command {
        println!("{}", crate::crypto::MasterKey::generate().to_hex().as_str());
        return Ok(ExitCode::SUCCESS);
    }
    // Checking a report against a public key needs no database and no secret.
    if let Command::AccessReview {
        command: access_reviews::AccessReviewCommand::Verify { report, signature, public_key: Some(key) },
    } = &cli.command
    {
        return access_reviews::verify_with_key(report, signature, key);
    }
    // A restore needs no live database (it may be what is being replaced).
    if let Command::Backup { command: backup::BackupCommand::Restore { folder, to, overwrite } } = &cli.command {
        let witness = crate::config::audit_witness(cli.audit_witness.as_deref(), &DatabaseUrl::Sqlite(to.clone()));
        return backup::restore(folder, to, *overwrite, witness.as_ref());
    }
    let witness = crate::config::audit_witness(cli.audit_witness.as_deref(), &url);
    // A verification reads keys and never makes them (it may run on a copy).
    let keyring = match &cli.command {
        Command::Audit { command: AuditCommand::Verify } => crate::config::existing_keyring(&url)?,
        _ => crate::config::keyring(&url)?,
    };
    let db = Db::new(storage::open(&url, keyring.clone())?);
    let s = db.storage();
    match cli.command {
        Command::Serve {
            listen,
            site_root,
            migrate,
            secure_cookie,
            stats_refresh_minutes,
            audit_checkpoint_seconds,
            audit_verify_days,
            ofrep_rate,
            slow_query_ms,
            keys,
            allowed_hosts,
            session_hours,
            session_idle_minutes,
            lockout,
            storage,
            backups,
            security,
            trusted_proxies,
            mfa_required_roles,
            public_url,
            outbox,
            smtp,
        } => {
            crate::metrics::set_slow_query_ms(slow_query_ms);
            if migrate {
                migrate_and_seal(s)?;
            }
            keys::check_master_keys(s, &keyring)?;
            let stats_every = std::time::Duration::from_secs(stats_refresh_minutes * 60);
            let audit_key = crate::config::audit_key(&url)?.ok_or_else(|| {
                AppError::invalid(
                    "Set PF_AUDIT_KEY (or PF_AUDIT_KEY_FILE) to 32 or more random characters: with Oracle the key that \
                     signs the audit log's checkpoints must come from outside the database.",
                )
            })?;
            let hosts = host_names(&allowed_hosts, listen);
            let sessions = auth::SessionPolicy {
                absolute: chrono::Duration::hours(i64::from(session_hours)),
                idle: chrono::Duration::minutes(i64::from(session_idle_minutes)),
                mfa_required: roles_list(&mfa_required_roles)?,
            };
            let config = ServeConfig {
                listen,
                site_root,
                jwt_secret: jwt_secret(&url)?,
                metrics_token: secret_from_env("PF_METRICS_TOKEN")?,
                secure_cookie,
                allowed_hosts: hosts.to_vec(),
                trusted_proxies,
                session_policy: sessions,
                lockout: lockout.policy(),
                sign_in_rate: lockout.sign_in_rate(),
                ofrep_rate: auth::throttle::EvaluationRate::per_second(ofrep_rate),
                key_policy: keys.policy(),
                storage_policy: storage.policy()?,
                security_policy: security.policy(),
                outbox: pathfinder::mail::Outbox {
                    mailer: smtp.mailer(outbox.unwrap_or_else(|| default_outbox(&url)))?,
                    // Empty until `serve` knows the port it listens on (see there).
                    public_url: public_url.map(|u| u.trim_end_matches('/').to_string()).unwrap_or_default(),
                },
                audit_key: Some(audit_key.into()),
                audit_witness: Some(witness.ok_or_else(|| {
                    AppError::invalid(
                        "Set PF_AUDIT_WITNESS to a file outside the database (beside the audit key): with Oracle \
                         it is where each instance keeps the newest audit checkpoint it saw.",
                    )
                })?),
                settings,
            };
            let jobs = Jobs {
                stats_every,
                checkpoint_every: std::time::Duration::from_secs(audit_checkpoint_seconds),
                statistics_every: std::time::Duration::from_secs(storage.statistics_hours * 3600),
                verify_every: std::time::Duration::from_secs(audit_verify_days * 86_400),
                retention_every: std::time::Duration::from_secs(storage.retention_hours * 3600),
                backups: backups.schedule(&url),
                default_hosts: allowed_hosts.is_empty(),
                stats_every_minutes: stats_refresh_minutes,
            };
            serve(db, &config, jobs)?;
        }
        Command::Migrate => migrate_and_seal(s)?,
        Command::ApiKey { command } => api_keys(s, command)?,
        Command::User { command: UserCommand::Export { username, output } } => {
            return subject_access::export(s, &username, &output)
        }
        Command::Audit { command } => {
            let key = match command {
                AuditCommand::Verify => crate::config::existing_audit_key(&url)?,
                _ => crate::config::audit_key(&url)?,
            };
            return match command {
                AuditCommand::Verify => {
                    audit::verify(s, &ChainTrust { key: key.map(Arc::from), witness: witness.clone() })
                }
                AuditCommand::Export { format, output, filter } => {
                    audit::export(s, &filter, &format, output.as_deref()).map(|()| ExitCode::SUCCESS)
                }
                AuditCommand::Checkpoint => {
                    audit::checkpoint(s, key.as_deref(), witness.as_ref()).map(|()| ExitCode::SUCCESS)
                }
            };
        }
        Command::RotateKeys { user, all, overdue, keys } => {
            let which = match (user, all, overdue) {
                (Some(name), _, _) => keys::Which::User(Username::parse(&name)?),
                (None, true, _) => keys::Which::All,
                (None, false, true) => keys::Which::Overdue(keys.policy()),
                (None, false, false) => {
                    return Err(AppError::invalid("Say which keys to rotate: --user NAME, --overdue or --all."))
                }
            };
            return keys::rotate(s, which);
        }
        Command::RotateMasterKey => return keys::rotate_master(s, &url),
        Command::NewMasterKey | Command::CompressAssets { .. } => {}
        Command::DeleteUser { username, yes } => {
            let username = Username::parse(&username)?;
            let id =
                s.user_id_by_username(&username)?.ok_or_else(|| AppError::NotFound(format!("User '{username}'")))?;
            if !yes {
                return Err(AppError::invalid(format!(
                    "Deleting '{username}' removes the user and destroys their data key for good: run again with --yes."
                )));
            }
            let meta = RequestMeta::cli(&format!("delete-user {username}"));
            s.delete_user(&id, &meta.audit(None, USER_DELETE, ("user", Some(id.as_str()))))?;
            println!("Deleted '{username}'; their data key is destroyed.");
        }
        Command::CreateAdmin { username, email, password_file, if_no_admin } => {
            let username = Username::parse(&username)?;
            if if_no_admin && s.count_admins()? > 0 {
                println!("An administrator exists already: nothing to do.");
                return Ok(ExitCode::SUCCESS);
            }
            let email = pathfinder::validation::email(&email)?;
            let password = read_password(password_file.as_deref())?;
            auth::password::validate(&password)?;
            let user = NewUser {
                user_id: UserId::new(),
                username: username.clone(),
                email,
                password_hash: auth::password::hash(&password)?,
                first_name: None,
                last_name: None,
                account_status: "active".into(),
                roles: vec![Role::Admin],
                feature_group_id: None,
            };
            let meta = RequestMeta::cli("create-admin");
            s.create_user(&user, &meta.audit(None, USER_CREATE, ("user", Some(user.user_id.as_str()))))?;
            println!("Created administrator '{username}'. Sign in at http://127.0.0.1:3000/login");
        }
        Command::ProvisionUser { username } => {
            let username = Username::parse(&username)?;
            let audit = table_set_audit(s, "provision-user", TABLES_PROVISION, &username)?;
            let set = s.provision_user_tables(&username, &audit)?;
            println!("Table set of '{}' is {} ({} objects).", set.username, set.status, set.tables.len());
        }
        Command::DropUserTables { username, yes } => {
            let username = Username::parse(&username)?;
            if !yes {
                return Err(AppError::invalid(format!(
                    "Dropping deletes every table of '{username}' and its rows: run again with --yes to confirm."
                )));
            }
            let audit = table_set_audit(s, "drop-user-tables", TABLES_DROP, &username)?;
            s.drop_user_tables(&username, &audit)?;
            println!("Dropped the table set of '{username}'.");
        }
        Command::SchemaCheck => {
            let drift = s.schema_check()?;
            if drift.is_empty() {
                println!("The schema matches the migrations (version {}).", s.schema_version()?);
            } else {
                for d in &drift {
                    println!("drift: {}", d.0);
                }
                println!("{} difference(s) found.", drift.len());
                return Ok(ExitCode::from(3));
            }
        }
        Command::RefreshStats => {
            let audit = RequestMeta::cli("refresh-stats").audit(None, STATS_REFRESH, ("statistics", None));
            let run = s.refresh_user_stats(RefreshWhen::Now, &audit)?;
            let took = run.and_then(|r| r.duration_ms).unwrap_or_default();
            println!("Refreshed the user statistics in {took} ms.");
        }
        Command::SampleStorage { storage } => {
            let audit = RequestMeta::cli("sample-storage").audit(None, STORAGE_SAMPLE, ("storage", None));
            let policy = storage.policy()?;
            s.sample_storage(RefreshWhen::Now, &policy, &audit)?;
            let page = s.storage_page(&policy)?;
            let took = page.last_sample.duration_ms.unwrap_or_default();
            let limit = page.limit.map(|l| format!(" of {}", pathfinder::usage::bytes_text(l))).unwrap_or_default();
            println!(
                "Sampled the storage in {took} ms: {} used{limit}; {} tables; {} per-user sets, {}.",
                pathfinder::usage::bytes_text(page.used),
                page.tables.len(),
                page.sets_count,
                pathfinder::usage::bytes_text(page.sets_bytes)
            );
            for t in page.tables.iter().take(10) {
                println!(
                    "  {}\t{}\t(indexes {})",
                    t.name,
                    pathfinder::usage::bytes_text(t.total()),
                    pathfinder::usage::bytes_text(t.index_bytes)
                );
            }
        }
        Command::Backup { command } => return backup::run(s, &url, command),
        Command::Security { command } => return security::run(s, command),
        Command::AccessReview { command } => {
            return access_reviews::run(s, crate::config::existing_audit_key(&url)?.as_deref(), command);
        }
        Command::Retention { command } => {
            return retention::run(s, crate::config::audit_key(&url)?.as_deref(), command);
        }
        Command::GatherStatistics => {
            let audit = RequestMeta::cli("gather-statistics").audit(None, DB_STATISTICS, ("statistics", None));
            let run = s.gather_statistics(RefreshWhen::Now, &audit)?;
            let took = run.and_then(|r| r.duration_ms).unwrap_or_default();
            println!("Gathered the optimizer statistics in {took} ms.");
        }
        Command::Generate { users, audit_events, provisioned, seed, end_date } => {
            let end = end_date.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let plan = generate::Plan { seed, users, audit_events, provisioned, end }.checked()?;
            return generate_data(s, &plan);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `generate` with a progress bar (on a terminal) or a line per tenth (in logs);
/// Ctrl-C or SIGTERM stop it between batches (exit 130).
fn generate_data(s: &dyn Storage, plan: &generate::Plan) -> AppResult<ExitCode> {
    let stop = progress::stop_on_signal()?;
    let mut bar = progress::Progress::new("generate", "rows·sets")?;
    let outcome = generate::run(s, plan, &stop, &mut |done, total, batch| bar.update(done, total, batch));
    let took = bar.finish();
    let outcome = outcome?;
    if outcome.interrupted {
        println!(
            "Interrupted after {} of {} batches ({took:.1} s); the database holds whole batches only. \
             Run the same command again to finish.",
            outcome.done_before + outcome.written,
            outcome.batches
        );
        return Ok(ExitCode::from(130));
    }
    println!(
        "Generated {} ({} batches written, {} already there) in {took:.1} s.",
        plan.run_name().trim_start_matches("generate "),
        outcome.written,
        outcome.done_before
    );
    Ok(ExitCode::SUCCESS)
}

/// The audit entry of a table-set command: the entity is the owner's user id (when
/// the name belongs to a user) and the path names the set, so no long name is cut.
fn table_set_audit(s: &dyn Storage, command: &str, action: Action, username: &Username) -> AppResult<AuditEntry> {
    let owner = s.user_id_by_username(username)?;
    let meta = RequestMeta::cli(&format!("{command} {username}"));
    Ok(meta.audit(None, action, ("user_tables", owner.as_ref().map(|u| u.as_str()))))
}

fn cli_audit(command: &str) -> AuditEntry {
    RequestMeta::cli(command).audit(None, SCHEMA_MIGRATE, ("schema", None))
}

/// The host names to answer to: those configured, else loopback and the listen address.
/// The address links in mail use without `PF_PUBLIC_URL`: the first allowed host
/// name at the listening port.
fn default_public_url(hosts: &[String], listen: SocketAddr, https: bool) -> String {
    let host = hosts.first().map_or("localhost", String::as_str);
    format!("{}://{host}:{}", if https { "https" } else { "http" }, listen.port())
}

fn host_names(configured: &[String], listen: SocketAddr) -> Arc<[String]> {
    let mut names: Vec<String> = configured.iter().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect();
    if names.is_empty() {
        names = ["localhost", "127.0.0.1", "[::1]"].map(String::from).to_vec();
        if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
            names.push(match listen.ip() {
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            });
        }
    }
    names.into()
}

/// Applies the migrations, then encrypts any plaintext found in sensitive columns.
fn migrate_and_seal(s: &dyn Storage) -> AppResult<()> {
    report_migration(s.migrate(&cli_audit("migrate"))?);
    let audit = RequestMeta::cli("migrate").audit(None, FIELDS_SEAL, ("user", None));
    let (sealed, failed) = s.seal_all_plaintext(&audit)?;
    if sealed > 0 {
        println!("Encrypted the plaintext sensitive fields of {sealed} users.");
    }
    if failed > 0 {
        eprintln!("warning: {failed} users keep plaintext: a ciphertext of theirs does not open (see the log).");
    }
    Ok(())
}

fn report_migration(r: pathfinder::storage::MigrationReport) {
    if r.applied.is_empty() {
        println!("The schema is up to date (version {}).", r.to_version);
    } else {
        println!("Migrated from version {} to {}: {}.", r.from_version, r.to_version, r.applied.join(", "));
    }
}

/// The password from a file, from PF_ADMIN_PASSWORD(_FILE), or from a prompt; never from an argument.
fn read_password(file: Option<&std::path::Path>) -> AppResult<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AppError::invalid(format!("Cannot read the password file {}: {e}.", path.display())))?;
        return Ok(text.lines().next().unwrap_or("").to_string());
    }
    if let Some(p) = secret_from_env("PF_ADMIN_PASSWORD")? {
        return Ok(p);
    }
    let first = rpassword::prompt_password("Password: ").map_err(|_| {
        AppError::invalid("No password given: use --password-file, PF_ADMIN_PASSWORD or a terminal prompt.")
    })?;
    let again = rpassword::prompt_password("Password again: ").map_err(|e| AppError::invalid(e.to_string()))?;
    if first != again {
        return Err(AppError::invalid("The two passwords differ."));
    }
    Ok(first)
}

/// The JWT secret: PF_JWT_SECRET(_FILE), or for SQLite a random one kept beside the database.
/// Where the embedded sender writes mail: beside a SQLite database, else here.
fn default_outbox(url: &DatabaseUrl) -> std::path::PathBuf {
    match url {
        DatabaseUrl::Sqlite(path) => path.with_file_name("outbox.txt"),
        DatabaseUrl::Oracle(_) => std::path::PathBuf::from("outbox.txt"),
    }
}

fn jwt_secret(url: &DatabaseUrl) -> AppResult<Vec<u8>> {
    if let Some(s) = secret_from_env("PF_JWT_SECRET")? {
        return Ok(s.into_bytes());
    }
    let DatabaseUrl::Sqlite(path) = url else {
        return Err(AppError::invalid("Set PF_JWT_SECRET (or PF_JWT_SECRET_FILE) to at least 32 random bytes."));
    };
    let secret = crate::config::secret_beside(&path.with_file_name(".jwt-secret"), crate::config::random_secret)?;
    Ok(secret.into_bytes())
}

/// Ctrl-C, or SIGTERM (what service managers and containers send). Listened for
/// from the call on (inside the runtime, before any job starts), so a signal during
/// the first rounds is a graceful stop too, not the default action's abrupt end.
fn shutdown_signal() -> AppResult<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let stops = {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).map_err(AppError::internal)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(AppError::internal)?;
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    };
    #[cfg(not(unix))]
    let stops = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Ok(async move {
        stops.await;
        tracing::info!("shutting down");
    })
}

/// `admin,sre`, or `none` (or nothing) for no role.
fn roles_list(text: &str) -> AppResult<Vec<pathfinder::Role>> {
    text.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty() && !r.eq_ignore_ascii_case("none"))
        .map(|r| {
            r.parse().map_err(|_| {
                AppError::invalid(format!(
                    "PF_MFA_REQUIRED_ROLES: {r:?} is not a console role (admin, sre, compliance)."
                ))
            })
        })
        .collect()
}

/// The schedule of `serve`'s background jobs, from its flags.
struct Jobs {
    stats_every: std::time::Duration,
    /// How often the audit key signs the chain's head.
    checkpoint_every: std::time::Duration,
    statistics_every: std::time::Duration,
    verify_every: std::time::Duration,
    retention_every: std::time::Duration,
    backups: Option<pathfinder::backup::BackupSchedule>,
    /// `PF_ALLOWED_HOSTS` was not set (the security review's configuration check).
    default_hosts: bool,
    stats_every_minutes: u64,
}

/// What this instance reports of its configuration for the security review.
fn instance_facts(config: &ServeConfig, jobs: &Jobs, public_url: &str) -> pathfinder::security::InstanceFacts {
    let hours = |d: std::time::Duration| u32::try_from(d.as_secs() / 3600).unwrap_or(u32::MAX);
    pathfinder::security::InstanceFacts {
        https: public_url.starts_with("https://"),
        secure_cookie: config.secure_cookie,
        metrics_token: config.metrics_token.is_some(),
        beyond_loopback: !config.listen.ip().is_loopback(),
        default_hosts: jobs.default_hosts,
        public_proxies: config
            .trusted_proxies
            .iter()
            .filter(|ip| pathfinder::security::is_public_address(**ip))
            .map(ToString::to_string)
            .collect(),
        mfa_required: config.session_policy.mfa_required.clone(),
        key_rotation_days: config.key_policy.rotation_days,
        verify_every_days: u32::try_from(jobs.verify_every.as_secs() / 86_400).unwrap_or(u32::MAX),
        stats_every_minutes: u32::try_from(jobs.stats_every_minutes).unwrap_or(u32::MAX),
        sample_every_minutes: config.storage_policy.sample_every_minutes,
        statistics_every_hours: hours(jobs.statistics_every),
        backup_every_hours: jobs.backups.as_ref().map(|b| {
            let every =
                if b.incremental_every.is_zero() { b.full_every } else { b.incremental_every.min(b.full_every) };
            hours(every).max(1)
        }),
    }
}

/// How this instance is named on the Security page: its host and port (a restart
/// keeps the name, so its report replaces the one before).
fn instance_name(bound: SocketAddr) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "console".into());
    format!("{host}:{}", bound.port())
}

fn serve(db: Db, config: &ServeConfig, jobs: Jobs) -> AppResult<()> {
    // Raised by the signal handler itself, so a job between two steps sees it at once
    // (`Db::go_on`), whoever started it; a second signal ends the process without
    // waiting (`stop_on_signal`).
    let db = db.stopping_on(progress::stop_on_signal()?);
    let listen = config.listen;
    // Bound first: links in mail name the port the console listens on (with port 0,
    // the one the kernel chose).
    let listener = std::net::TcpListener::bind(listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| AppError::invalid(format!("Cannot listen on {listen}: {e}.")))?;
    let bound = listener.local_addr().unwrap_or(listen);
    let mut state = AppState::new(config, db.clone())?;
    if state.outbox.public_url.is_empty() {
        state.outbox.public_url = default_public_url(&config.allowed_hosts, bound, config.secure_cookie);
    }
    let (overview, pool_history, key_policy) = (state.overview.clone(), state.pool_history.clone(), state.key_policy);
    let audit_key: Arc<[u8]> = config.audit_key.clone().unwrap_or_else(|| Arc::from(&b""[..]));
    let witness = config.audit_witness.clone();
    let storage_policy = config.storage_policy;
    let facts = instance_facts(config, &jobs, &state.outbox.public_url);
    let outbox = state.outbox.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(AppError::internal)?;
    let served = runtime.block_on(async move {
        let signalled = shutdown_signal()?;
        // Counts first, so no request ever waits for them.
        crate::jobs::overview::refresh(&db, &overview, key_policy).await?;
        crate::jobs::overview::spawn(db.clone(), overview.clone(), key_policy);
        crate::jobs::stats::spawn(db.clone(), overview, jobs.stats_every);
        crate::jobs::checkpoints::spawn(db.clone(), audit_key.clone(), witness.clone(), jobs.checkpoint_every);
        crate::jobs::expiry::spawn(db.clone(), std::time::Duration::from_secs(30));
        crate::jobs::pool::spawn(db.clone(), pool_history);
        let upkeep = crate::jobs::upkeep::Upkeep {
            storage: storage_policy,
            statistics_every: jobs.statistics_every,
            verify_every: jobs.verify_every,
            retention_every: jobs.retention_every,
            backups: jobs.backups,
            audit_key: audit_key.clone(),
            witness: witness.clone(),
            security: config.security_policy,
            instance: Some((instance_name(bound), facts)),
            outbox: Some(outbox),
        };
        crate::jobs::upkeep::spawn(db.clone(), upkeep);
        let listener = tokio::net::TcpListener::from_std(listener).map_err(AppError::internal)?;
        let limits = crate::http::listener::Limits::for_this_process();
        tracing::info!(max_connections = limits.max_connections, "listening");
        // Scripts and tests that listen on port 0 read the port here.
        println!("Pathfinder Admin is serving at http://{bound}");
        let served =
            crate::http::listener::serve(listener, router(state), limits, signalled).await.map_err(AppError::internal);
        // The last events of this run are vouched for before it ends.
        crate::jobs::checkpoints::sign(&db, &audit_key, witness.as_ref()).await;
        served
    });
    // A job still in a step stops at its end; one that does not within this is cut
    // as a crash would cut it (each step is a transaction; its lease runs out).
    runtime.shutdown_timeout(std::time::Duration::from_secs(20));
    served
}

fn api_keys(s: &dyn Storage, command: ApiKeyCommand) -> AppResult<()> {
    let meta = RequestMeta::cli("api-key");
    match command {
        ApiKeyCommand::Create { name } => {
            let (secret, hash, prefix) = pathfinder::secret::new_api_key();
            let key = s.create_api_key(&name, &hash, &prefix, &meta.audit(None, API_KEY_CREATE, ("api_key", None)))?;
            println!("Created API key {} for {}. Its secret, shown only now:\n{secret}", key.key_id, key.name);
        }
        ApiKeyCommand::List => {
            let time = |t: Option<pathfinder::dto::Timestamp>| {
                t.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
            };
            for k in s.api_keys()? {
                println!(
                    "{}\t{}\t{}…\t{}\t{}\t{}",
                    k.key_id,
                    k.name,
                    k.prefix,
                    time(Some(k.created_at)),
                    time(k.last_used_at),
                    time(k.revoked_at)
                );
            }
        }
        ApiKeyCommand::Revoke { key_id } => {
            s.revoke_api_key(&key_id, &meta.audit(None, API_KEY_REVOKE, ("api_key", Some(&key_id))))?;
            println!("Revoked API key {key_id}.");
        }
    }
    Ok(())
}
