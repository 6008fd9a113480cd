//! The security review: checks of the console's accounts, keys and secrets, upkeep,
//! configuration and sign-ins that a reviewer would otherwise do by hand. The
//! storage gathers the facts; [`review`] turns them into findings (written once,
//! the same on both backends); the storage keeps each finding open while a run
//! still sees it and closes it at the first run that does not.

use crate::dto::Timestamp;
use crate::{AppError, AppResult, Role};
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// How bad a finding is. High ones fire the alert and make `security review` exit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::High, Severity::Medium, Severity::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn parse(s: &str) -> AppResult<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| AppError::invalid(format!("Unknown severity '{s}': use high, medium or low.")))
    }
}

/// One check of the review. Its key is what `pf_security_findings.check_name` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Check {
    SecondFactorRequired,
    NoSecondFactor,
    DormantAccount,
    TooManyAdmins,
    RecentGrant,
    UnusedApiKey,
    DataKeysOverdue,
    MasterKeyOld,
    ChainUnverified,
    ChainBroken,
    BackupMissing,
    BackupStale,
    BackupUnverified,
    UpkeepStale,
    CookieNotSecure,
    MetricsOpen,
    DefaultHosts,
    PublicProxy,
    RepeatedLockouts,
    FailingAddress,
    ManyAddresses,
}

impl Check {
    pub const ALL: [Check; 21] = [
        Check::SecondFactorRequired,
        Check::NoSecondFactor,
        Check::DormantAccount,
        Check::TooManyAdmins,
        Check::RecentGrant,
        Check::UnusedApiKey,
        Check::DataKeysOverdue,
        Check::MasterKeyOld,
        Check::ChainUnverified,
        Check::ChainBroken,
        Check::BackupMissing,
        Check::BackupStale,
        Check::BackupUnverified,
        Check::UpkeepStale,
        Check::CookieNotSecure,
        Check::MetricsOpen,
        Check::DefaultHosts,
        Check::PublicProxy,
        Check::RepeatedLockouts,
        Check::FailingAddress,
        Check::ManyAddresses,
    ];

    /// Its key (stored), its severity, its title, how to fix it, and where.
    fn about(self) -> (&'static str, Severity, &'static str, &'static str, &'static str) {
        use Severity::*;
        match self {
            Check::SecondFactorRequired => (
                "second_factor_required",
                High,
                "A role that requires a second factor, held without one",
                "Ask the holder to set up their second factor at their next sign-in, or remove the role.",
                "/accounts",
            ),
            Check::NoSecondFactor => (
                "no_second_factor",
                Medium,
                "A console account without a second factor",
                "Ask the holder to set up a second factor (their account page), or list the role in PF_MFA_REQUIRED_ROLES.",
                "/accounts",
            ),
            Check::DormantAccount => (
                "dormant_account",
                Medium,
                "A console account not signed in for a long time, or never",
                "Remove the roles of an account nobody uses.",
                "/accounts",
            ),
            Check::TooManyAdmins => (
                "too_many_admins",
                Medium,
                "More administrators than the policy allows",
                "Take the admin role from those who do not need it (PF_SECURITY_MAX_ADMINS sets the number).",
                "/accounts",
            ),
            Check::RecentGrant => (
                "recent_grant",
                Low,
                "A role granted lately, for a second look",
                "Check that the grant was meant; the finding closes by itself after the period.",
                "/accounts",
            ),
            Check::UnusedApiKey => (
                "unused_api_key",
                Low,
                "An evaluation API key unused for a long time, or never",
                "Revoke keys no client uses.",
                "/flags",
            ),
            Check::DataKeysOverdue => (
                "data_keys_overdue",
                Medium,
                "Data keys overdue for rotation",
                "Rotate the overdue keys: pathfinder-admin rotate-keys --overdue, or the Keys page.",
                "/keys",
            ),
            Check::MasterKeyOld => (
                "master_key_old",
                Medium,
                "The master key not rotated for a long time",
                "Rotate the master key and re-wrap the data keys: pathfinder-admin rewrap-keys (README, Encryption).",
                "/keys",
            ),
            Check::ChainUnverified => (
                "chain_unverified",
                Medium,
                "The audit chain not verified within its period",
                "Verify the chain from the Audit page or with pathfinder-admin audit verify.",
                "/audit",
            ),
            Check::ChainBroken => (
                "chain_broken",
                High,
                "The audit chain's last verification found it broken",
                "Read the verification's result on the Audit page and restore the rows from a backup (README, Audit).",
                "/audit",
            ),
            Check::BackupMissing => (
                "backup_missing",
                High,
                "No backup of the embedded database went through",
                "Check the backup folder and run pathfinder-admin backup create.",
                "/backups",
            ),
            Check::BackupStale => (
                "backup_stale",
                Medium,
                "The newest backup is older than its schedule allows",
                "Check the console's log for the failing scheduled backup and run pathfinder-admin backup create.",
                "/backups",
            ),
            Check::BackupUnverified => (
                "backup_unverified",
                Medium,
                "The newest backup is not verified, or its verification failed",
                "Run pathfinder-admin backup verify.",
                "/backups",
            ),
            Check::UpkeepStale => (
                "upkeep_stale",
                Low,
                "An upkeep job has not run within three of its periods",
                "Check the console's log for the job's failures; Diagnostics lists the jobs.",
                "/diagnostics",
            ),
            Check::CookieNotSecure => (
                "cookie_not_secure",
                High,
                "Served at an https address without secure cookies",
                "Set PF_SECURE_COOKIE on every instance behind an https address.",
                "/diagnostics",
            ),
            Check::MetricsOpen => (
                "metrics_open",
                Medium,
                "/metrics answers without a token beyond loopback",
                "Set PF_METRICS_TOKEN (or PF_METRICS_TOKEN_FILE) and give it to Prometheus.",
                "/diagnostics",
            ),
            Check::DefaultHosts => (
                "default_hosts",
                Medium,
                "The allowed host names left at their default beyond loopback",
                "Set PF_ALLOWED_HOSTS to the names people reach the console at.",
                "/diagnostics",
            ),
            Check::PublicProxy => (
                "public_proxy",
                Medium,
                "A trusted proxy with a public address",
                "List only your own proxies' private addresses in PF_TRUSTED_PROXIES.",
                "/diagnostics",
            ),
            Check::RepeatedLockouts => (
                "repeated_lockouts",
                Medium,
                "An account locked repeatedly in a day",
                "Ask the holder whether the failed sign-ins were theirs; the Audit page lists them.",
                "/audit?action=login.lockout",
            ),
            Check::FailingAddress => (
                "failing_address",
                Medium,
                "An address with many failed sign-ins in a day",
                "Block the address at the proxy if the attempts are not your users'.",
                "/audit?action=login.failure",
            ),
            Check::ManyAddresses => (
                "many_addresses",
                Medium,
                "One account signed in from many addresses in a day",
                "Ask the holder; end the account's sessions from its page if they were not theirs.",
                "/audit?action=login.success",
            ),
        }
    }

    pub fn key(self) -> &'static str {
        self.about().0
    }
    pub fn severity(self) -> Severity {
        self.about().1
    }
    pub fn title(self) -> &'static str {
        self.about().2
    }
    /// The sentence on how to fix it.
    pub fn fix(self) -> &'static str {
        self.about().3
    }
    /// The console page where it is fixed.
    pub fn link(self) -> &'static str {
        self.about().4
    }

    pub fn parse(key: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// The review's thresholds (`PF_SECURITY_*`). "More than N" fires at N + 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityPolicy {
    /// The review runs this often (one instance a round).
    pub every_hours: u32,
    /// A console account not signed in for this many days is dormant.
    pub dormant_days: u32,
    pub max_admins: u32,
    /// Grants of this many days back are listed for a second look.
    pub grant_days: u32,
    /// An API key unused for this many days (or never, once this old).
    pub unused_key_days: u32,
    /// The master key not rotated for this many days.
    pub master_key_days: u32,
    /// An account locked more than this many times in a day.
    pub lockouts_per_day: u32,
    /// An address with more than this many failed sign-ins in a day.
    pub failures_per_address: u32,
    /// An account signed in from more than this many addresses in a day.
    pub addresses_per_account: u32,
}

impl SecurityPolicy {
    /// How often the review runs.
    pub fn every(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.every_hours.max(1)) * 3600)
    }
}

impl Default for SecurityPolicy {
    fn default() -> Self {
        SecurityPolicy {
            every_hours: 24,
            dormant_days: 90,
            max_admins: 3,
            grant_days: 14,
            unused_key_days: 90,
            master_key_days: 365,
            lockouts_per_day: 3,
            failures_per_address: 20,
            addresses_per_account: 5,
        }
    }
}

/// What a serving instance reports of its configuration, hourly, so that a review
/// run anywhere (another instance, the CLI) checks every live instance's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceFacts {
    /// `PF_PUBLIC_URL` is https.
    pub https: bool,
    pub secure_cookie: bool,
    pub metrics_token: bool,
    /// It listens on an address other than loopback.
    pub beyond_loopback: bool,
    /// `PF_ALLOWED_HOSTS` was not set.
    pub default_hosts: bool,
    /// `PF_TRUSTED_PROXIES` entries that are public addresses.
    pub public_proxies: Vec<String>,
    pub mfa_required: Vec<Role>,
    pub key_rotation_days: u32,
    pub verify_every_days: u32,
    pub stats_every_minutes: u32,
    pub sample_every_minutes: u32,
    pub statistics_every_hours: u32,
    /// The embedded database's backups (none on Oracle, or when turned off).
    pub backup_every_hours: Option<u32>,
}

impl Default for InstanceFacts {
    /// `serve`'s defaults: what the review assumes when no instance reported.
    fn default() -> Self {
        InstanceFacts {
            https: false,
            secure_cookie: false,
            metrics_token: false,
            beyond_loopback: false,
            default_hosts: true,
            public_proxies: vec![],
            mfa_required: vec![Role::Admin],
            key_rotation_days: 90,
            verify_every_days: 7,
            stats_every_minutes: 30,
            sample_every_minutes: 15,
            statistics_every_hours: 24,
            backup_every_hours: None,
        }
    }
}

/// An instance reports this often; one silent for [`INSTANCE_LIVE_FOR`] is gone.
pub const INSTANCE_REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
pub const INSTANCE_LIVE_FOR: Duration = Duration::hours(3);

/// Whether `ip` is a public address (not private, loopback, link-local or unique local).
pub fn is_public_address(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64))
        }
        std::net::IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback() || v6.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// A console account (one with a role) as the review sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    pub user_id: String,
    pub username: String,
    pub active: bool,
    pub second_factor: bool,
    pub last_sign_in: Option<Timestamp>,
    /// Each role, when it was granted and by whom (a username, if known).
    pub roles: Vec<(Role, Option<Timestamp>, Option<String>)>,
}

/// An evaluation API key not revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyFacts {
    pub key_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A count over the last day's sign-ins: an account or an address, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInCount {
    /// A user id, or an address.
    pub subject: String,
    /// A username, or the address.
    pub name: String,
    pub count: u64,
}

/// Everything a run looks at, gathered in one read.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityFacts {
    pub now: Timestamp,
    pub accounts: Vec<AccountFacts>,
    pub api_keys: Vec<ApiKeyFacts>,
    pub data_keys: u64,
    pub data_keys_overdue: u64,
    /// When the data keys were last wrapped under a new master key (a re-wrap), or
    /// the oldest key's creation; `None` when nothing says.
    pub master_key_since: Option<Timestamp>,
    /// The last chain verification: when it finished, and whether the chain was intact.
    pub chain: Option<(Timestamp, bool)>,
    /// The newest backup that went through (its id, when, its verification status);
    /// `None` when there is none.
    pub newest_backup: Option<(String, Timestamp, Option<String>)>,
    /// Upkeep jobs and when each last finished.
    pub jobs: Vec<(String, Option<Timestamp>)>,
    /// The live instances: their name, and what they reported.
    pub instances: Vec<(String, InstanceFacts)>,
    /// Accounts locked more than the policy allows in the last day.
    pub lockouts: Vec<SignInCount>,
    /// Addresses with more failed sign-ins than the policy allows in the last day.
    pub failing_addresses: Vec<SignInCount>,
    /// Accounts signed in from more addresses than the policy allows in the last day.
    pub spread_accounts: Vec<SignInCount>,
}

/// One finding of a run: the check, what it names (the key that keeps it open
/// across runs, and the names people read), and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub subject: String,
    pub names: String,
    pub detail: String,
}

fn day(t: &Timestamp) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The configuration the review applies the upkeep and key checks with: the most
/// demanding of the live instances (the shortest periods, every required role).
fn effective(instances: &[(String, InstanceFacts)]) -> InstanceFacts {
    let mut all = instances.iter().map(|(_, f)| f);
    let Some(first) = all.next() else { return InstanceFacts::default() };
    all.fold(first.clone(), |mut e, f| {
        e.key_rotation_days = e.key_rotation_days.min(f.key_rotation_days);
        e.verify_every_days = e.verify_every_days.min(f.verify_every_days);
        e.stats_every_minutes = e.stats_every_minutes.min(f.stats_every_minutes);
        e.sample_every_minutes = e.sample_every_minutes.min(f.sample_every_minutes);
        e.statistics_every_hours = e.statistics_every_hours.min(f.statistics_every_hours);
        e.backup_every_hours = match (e.backup_every_hours, f.backup_every_hours) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for r in &f.mfa_required {
            if !e.mfa_required.contains(r) {
                e.mfa_required.push(*r);
            }
        }
        e
    })
}

/// The upkeep jobs the review watches, and how long each may go without a run.
pub fn upkeep_periods(facts: &InstanceFacts) -> [(&'static str, Duration); 3] {
    [
        ("user_stats", Duration::minutes(i64::from(facts.stats_every_minutes))),
        ("storage_sample", Duration::minutes(i64::from(facts.sample_every_minutes))),
        ("db_statistics", Duration::hours(i64::from(facts.statistics_every_hours))),
    ]
}

/// The data keys the review counts as overdue use the live instances' rotation days.
pub fn key_rotation_days(instances: &[(String, InstanceFacts)]) -> u32 {
    effective(instances).key_rotation_days
}

/// The findings `facts` call for under `policy`.
pub fn review(facts: &SecurityFacts, policy: &SecurityPolicy) -> Vec<Finding> {
    let now = facts.now;
    let days = |n: u32| Duration::days(i64::from(n));
    let config = effective(&facts.instances);
    let mut out = Vec::new();
    let mut add = |check: Check, subject: &str, names: &str, detail: String| {
        out.push(Finding { check, subject: subject.into(), names: names.into(), detail })
    };

    // Console accounts.
    let active: Vec<&AccountFacts> = facts.accounts.iter().filter(|a| a.active && !a.roles.is_empty()).collect();
    for a in &active {
        let roles: Vec<&str> = a.roles.iter().map(|(r, _, _)| r.as_str()).collect();
        let required: Vec<&str> =
            a.roles.iter().filter(|(r, _, _)| config.mfa_required.contains(r)).map(|(r, _, _)| r.as_str()).collect();
        if !a.second_factor && !required.is_empty() {
            add(
                Check::SecondFactorRequired,
                &a.user_id,
                &a.username,
                format!("holds {} without a second factor", required.join(", ")),
            );
        } else if !a.second_factor {
            add(
                Check::NoSecondFactor,
                &a.user_id,
                &a.username,
                format!("holds {} with a password only", roles.join(", ")),
            );
        }
        match a.last_sign_in {
            None => add(Check::DormantAccount, &a.user_id, &a.username, "never signed in".into()),
            Some(t) if now - t > days(policy.dormant_days) => {
                add(Check::DormantAccount, &a.user_id, &a.username, format!("last signed in {}", day(&t)))
            }
            Some(_) => {}
        }
        for (role, at, by) in &a.roles {
            if let Some(at) = at.filter(|t| now - *t <= days(policy.grant_days)) {
                let by = by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
                add(
                    Check::RecentGrant,
                    &format!("{}:{role}", a.user_id),
                    &a.username,
                    format!("{role} granted {}{by}", day(&at)),
                );
            }
        }
    }
    let admins: Vec<&str> = active
        .iter()
        .filter(|a| a.roles.iter().any(|(r, _, _)| *r == Role::Admin))
        .map(|a| a.username.as_str())
        .collect();
    if admins.len() > policy.max_admins as usize {
        add(
            Check::TooManyAdmins,
            "admins",
            &admins.join(", "),
            format!("{} administrators; the policy allows {}", admins.len(), policy.max_admins),
        );
    }

    // Keys and secrets.
    for k in &facts.api_keys {
        let name = format!("{} ({}…)", k.name, k.prefix);
        match k.last_used_at {
            None if now - k.created_at > days(policy.unused_key_days) => add(
                Check::UnusedApiKey,
                &k.key_id,
                &name,
                format!("never used since it was made on {}", day(&k.created_at)),
            ),
            Some(t) if now - t > days(policy.unused_key_days) => {
                add(Check::UnusedApiKey, &k.key_id, &name, format!("last used {}", day(&t)))
            }
            _ => {}
        }
    }
    if facts.data_keys_overdue > 0 {
        add(
            Check::DataKeysOverdue,
            "data_keys",
            "users' data keys",
            format!(
                "{} of {} data keys not rotated for {} days",
                facts.data_keys_overdue, facts.data_keys, config.key_rotation_days
            ),
        );
    }
    if let Some(t) = facts.master_key_since.filter(|t| now - *t > days(policy.master_key_days)) {
        add(
            Check::MasterKeyOld,
            "master_key",
            "the master key",
            format!("data keys wrapped under it since {}", day(&t)),
        );
    }

    // Upkeep.
    match facts.chain {
        None => add(Check::ChainUnverified, "audit_chain", "the audit chain", "never verified".into()),
        Some((at, false)) => {
            add(Check::ChainBroken, "audit_chain", "the audit chain", format!("found broken on {}", day(&at)))
        }
        Some((at, true)) if now - at > days(config.verify_every_days) + Duration::days(1) => add(
            Check::ChainUnverified,
            "audit_chain",
            "the audit chain",
            format!("last verified {}; the period is {} days", day(&at), config.verify_every_days),
        ),
        Some(_) => {}
    }
    if let Some(every) = config.backup_every_hours {
        let every = Duration::hours(i64::from(every));
        match &facts.newest_backup {
            None => add(Check::BackupMissing, "backup", "backups", "no backup went through".into()),
            Some((id, at, verified)) => {
                if now - *at > every * 2 {
                    add(Check::BackupStale, "backup", "backups", format!("the newest ({id}) finished {}", day(at)));
                }
                if verified.as_deref() != Some("ok") {
                    let how = verified.as_deref().map_or("not verified".to_string(), |v| format!("verification {v}"));
                    add(Check::BackupUnverified, "backup", id, format!("the newest backup: {how}"));
                }
            }
        }
    }
    for (job, period) in upkeep_periods(&config) {
        let last = facts.jobs.iter().find(|(j, _)| j == job).and_then(|(_, t)| *t);
        match last {
            Some(t) if now - t <= period * 3 => {}
            Some(t) => add(
                Check::UpkeepStale,
                &format!("job:{job}"),
                job,
                format!("last finished {}", t.format("%Y-%m-%d %H:%M UTC")),
            ),
            None => add(Check::UpkeepStale, &format!("job:{job}"), job, "never ran".into()),
        }
    }

    // Configuration, instance by instance.
    for (name, f) in &facts.instances {
        let subject = format!("instance:{name}");
        if f.https && !f.secure_cookie {
            add(
                Check::CookieNotSecure,
                &subject,
                name,
                "PF_PUBLIC_URL is https and PF_SECURE_COOKIE is not set".into(),
            );
        }
        if f.beyond_loopback && !f.metrics_token {
            add(Check::MetricsOpen, &subject, name, "listens beyond loopback and PF_METRICS_TOKEN is not set".into());
        }
        if f.beyond_loopback && f.default_hosts {
            add(Check::DefaultHosts, &subject, name, "listens beyond loopback and PF_ALLOWED_HOSTS is not set".into());
        }
        if !f.public_proxies.is_empty() {
            add(Check::PublicProxy, &subject, name, format!("trusts {}", f.public_proxies.join(", ")));
        }
    }

    // Sign-ins of the last day.
    for c in &facts.lockouts {
        add(Check::RepeatedLockouts, &c.subject, &c.name, format!("locked {} times in a day", c.count));
    }
    for c in &facts.failing_addresses {
        add(
            Check::FailingAddress,
            &format!("address:{}", c.subject),
            &c.name,
            format!("{} failed sign-ins in a day", c.count),
        );
    }
    for c in &facts.spread_accounts {
        add(Check::ManyAddresses, &c.subject, &c.name, format!("signed in from {} addresses in a day", c.count));
    }
    out
}

/// A finding as stored: open until a run no longer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    pub finding_id: String,
    /// [`Check::key`].
    pub check: String,
    pub severity: Severity,
    pub subject: String,
    pub names: String,
    pub detail: String,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub first_seen_at: Timestamp,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub last_seen_at: Timestamp,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub closed_at: Option<Timestamp>,
}

/// What one run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    pub opened: u64,
    pub closed: u64,
    /// Open after the run, by severity (high, medium, low).
    pub open: [u64; 3],
    /// The high findings this run opened, a line each (administrators are told).
    pub new_high: Vec<String>,
}

impl ReviewOutcome {
    pub fn high(&self) -> u64 {
        self.open[0]
    }

    /// The mail that tells administrators of the new high findings, if any: its
    /// subject and body, with a link to the Security page at `public_url`.
    pub fn high_mail(&self, public_url: &str) -> Option<(String, String)> {
        if self.new_high.is_empty() {
            return None;
        }
        let subject = format!("Pathfinder security review: {} new high finding(s)", self.new_high.len());
        let body = format!(
            "The security review found:\n\n{}\n\nEach says how to fix it on the Security page: {public_url}/security",
            self.new_high.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n")
        );
        Some((subject, body))
    }

    /// The run's outcome row says this.
    pub fn note(&self) -> String {
        format!(
            "{} opened, {} closed; open: {} high, {} medium, {} low",
            self.opened, self.closed, self.open[0], self.open[1], self.open[2]
        )
    }
}

/// The Security page: the last run, the open findings (most severe first) and the
/// latest closed ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityView {
    pub last_run: crate::dto::JobRun,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub running_since: Option<Timestamp>,
    /// Open findings by severity (high, medium, low).
    pub open_counts: [u64; 3],
    pub open: Vec<FindingRow>,
    pub closed: Vec<FindingRow>,
}

/// The most findings of each kind (open, closed) the page lists.
pub const PAGE_FINDINGS: u32 = 500;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2031, 6, 1, 12, 0, 0).unwrap()
    }

    fn quiet_facts() -> SecurityFacts {
        let now = now();
        SecurityFacts {
            now,
            accounts: vec![],
            api_keys: vec![],
            data_keys: 10,
            data_keys_overdue: 0,
            master_key_since: Some(now - Duration::days(30)),
            chain: Some((now - Duration::days(1), true)),
            newest_backup: Some(("b1".into(), now - Duration::hours(3), Some("ok".into()))),
            jobs: ["user_stats", "storage_sample", "db_statistics"]
                .iter()
                .map(|j| (j.to_string(), Some(now)))
                .collect(),
            instances: vec![(
                "web:3000".into(),
                InstanceFacts { backup_every_hours: Some(24), ..InstanceFacts::default() },
            )],
            lockouts: vec![],
            failing_addresses: vec![],
            spread_accounts: vec![],
        }
    }

    fn checks(f: &SecurityFacts) -> Vec<(Check, String)> {
        review(f, &SecurityPolicy::default()).into_iter().map(|x| (x.check, x.subject)).collect()
    }

    #[test]
    fn a_well_kept_console_has_no_finding() {
        assert_eq!(checks(&quiet_facts()), vec![]);
    }

    #[test]
    fn the_chain_is_broken_or_late_against_its_period() {
        let mut f = quiet_facts();
        f.chain = Some((now() - Duration::days(2), false));
        assert_eq!(checks(&f), vec![(Check::ChainBroken, "audit_chain".into())]);
        f.chain = Some((now() - Duration::days(8), true));
        assert_eq!(checks(&f), vec![], "within 7 days and a day's grace");
        f.chain = Some((now() - Duration::days(9), true));
        assert_eq!(checks(&f), vec![(Check::ChainUnverified, "audit_chain".into())]);
        f.instances[0].1.verify_every_days = 30;
        assert_eq!(checks(&f), vec![], "the instance's own period");
    }

    #[test]
    fn backups_are_checked_only_where_the_console_takes_them() {
        let mut f = quiet_facts();
        f.newest_backup = Some(("b1".into(), now() - Duration::hours(49), None));
        assert_eq!(checks(&f), vec![(Check::BackupStale, "backup".into()), (Check::BackupUnverified, "backup".into())]);
        f.newest_backup = Some(("b1".into(), now() - Duration::hours(47), Some("failed".into())));
        assert_eq!(checks(&f), vec![(Check::BackupUnverified, "backup".into())]);
        f.newest_backup = None;
        assert_eq!(checks(&f), vec![(Check::BackupMissing, "backup".into())]);
        f.instances[0].1.backup_every_hours = None;
        assert_eq!(checks(&f), vec![], "Oracle, or backups turned off");
    }

    #[test]
    fn an_upkeep_job_is_stale_after_three_of_its_periods() {
        let mut f = quiet_facts();
        f.jobs[1].1 = Some(now() - Duration::minutes(45));
        assert_eq!(checks(&f), vec![]);
        f.jobs[1].1 = Some(now() - Duration::minutes(46));
        assert_eq!(checks(&f), vec![(Check::UpkeepStale, "job:storage_sample".into())]);
        f.jobs.remove(0);
        assert_eq!(checks(&f).len(), 2, "a job that never ran");
    }

    #[test]
    fn the_most_demanding_instance_sets_the_periods_and_each_is_checked_alone() {
        let mut f = quiet_facts();
        let strict = InstanceFacts {
            stats_every_minutes: 5,
            mfa_required: vec![Role::Sre],
            beyond_loopback: true,
            metrics_token: true,
            default_hosts: false,
            ..f.instances[0].1.clone()
        };
        f.instances.push(("web-2:3000".into(), strict));
        f.jobs[0].1 = Some(now() - Duration::minutes(20));
        f.accounts.push(AccountFacts {
            user_id: "U1".into(),
            username: "sam".into(),
            active: true,
            second_factor: false,
            last_sign_in: Some(now()),
            roles: vec![(Role::Sre, None, None)],
        });
        assert_eq!(
            checks(&f),
            vec![(Check::SecondFactorRequired, "U1".into()), (Check::UpkeepStale, "job:user_stats".into())]
        );
        f.instances[1].1.metrics_token = false;
        f.instances[1].1.public_proxies = vec!["1.1.1.1".into()];
        let found = checks(&f);
        assert!(found.contains(&(Check::MetricsOpen, "instance:web-2:3000".into())));
        assert!(found.contains(&(Check::PublicProxy, "instance:web-2:3000".into())));
        assert!(!found.iter().any(|(_, s)| s == "instance:web:3000"), "the loopback one is fine");
    }

    #[test]
    fn an_inactive_account_and_a_fresh_key_are_not_findings() {
        let mut f = quiet_facts();
        f.accounts.push(AccountFacts {
            user_id: "U2".into(),
            username: "gone".into(),
            active: false,
            second_factor: false,
            last_sign_in: None,
            roles: vec![(Role::Admin, None, None)],
        });
        f.api_keys.push(ApiKeyFacts {
            key_id: "K1".into(),
            name: "new".into(),
            prefix: "pfk_1".into(),
            created_at: now() - Duration::days(89),
            last_used_at: None,
        });
        assert_eq!(checks(&f), vec![]);
        f.api_keys[0].created_at = now() - Duration::days(91);
        assert_eq!(checks(&f), vec![(Check::UnusedApiKey, "K1".into())]);
    }

    #[test]
    fn public_addresses_are_told_from_private_ones() {
        for (ip, public) in [
            ("10.0.0.1", false),
            ("192.168.1.1", false),
            ("172.16.0.1", false),
            ("127.0.0.1", false),
            ("100.64.0.1", false),
            ("fd00::1", false),
            ("fe80::1", false),
            ("::1", false),
            ("8.8.8.8", true),
            ("2001:4860::8888", true),
        ] {
            assert_eq!(is_public_address(ip.parse().unwrap()), public, "{ip}");
        }
    }

    #[test]
    fn every_check_has_its_own_key() {
        let keys: std::collections::BTreeSet<&str> = Check::ALL.iter().map(|c| c.key()).collect();
        assert_eq!(keys.len(), Check::ALL.len());
        assert!(Check::ALL.iter().all(|c| Check::parse(c.key()) == Some(*c) && c.link().starts_with('/')));
    }
}
