//! The storage interface, sliced by capability. Each backend in `server/src/storage/`
//! implements every trait, one file per trait; [`Storage`] bundles them.
//!
//! Methods are blocking (both drivers are): async callers go through the server's
//! one `spawn_blocking` helper. Every method that changes state takes the
//! [`AuditEntry`] that describes the change and writes it in the same transaction:
//! if the audit row cannot be written, the change is rolled back.

use crate::audit::{AuditFacets, AuditFilter, AuditHistogram, AuditJob, AuditJobKind, AuditPage, ChainReport};
pub use crate::dto::LoginGuard;
use crate::dto::{
    ConsoleAccount, GroupRef, InvitationInfo, JobRun, KeyInfo, KeyInventory, MfaState, Overview, Page, Preferences,
    Principal, ProfileEdit, SensitiveFields, SessionInfo, SignInState, SsoLink, StatusCount, TableSetInfo, Timestamp,
    UserActivity, UserProfile, UserSummary,
};
use crate::filter::UserFilter;
use crate::flags::{
    ApiKey, Evaluation, Flag, FlagEdit, Group, GroupEdit, Override, OverrideEdit, OverrideFilter, OverridePage, Target,
};
use crate::{AppResult, Role, SessionId, UserId, Username};

/// One row of `pf_audit_log`, as the caller describes the event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEntry {
    pub actor: Option<UserId>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_method: Option<String>,
    pub request_path: Option<String>,
    pub response_status: u16,
    pub execution_time_ms: u64,
    pub error_message: Option<String>,
}

impl AuditEntry {
    /// The entry cut to the widths of `pf_audit_log`'s columns (Oracle refuses longer
    /// values, SQLite would keep them): both backends store the same thing.
    pub fn clamped(&self) -> AuditEntry {
        let cut = |s: &Option<String>, max: usize| s.as_deref().map(|v| truncate(v, max));
        AuditEntry {
            actor: self.actor.clone(),
            action: truncate(&self.action, 50),
            entity_type: cut(&self.entity_type, 50),
            entity_id: cut(&self.entity_id, 36),
            ip_address: cut(&self.ip_address, 45),
            user_agent: cut(&self.user_agent, 500),
            request_method: cut(&self.request_method, 10),
            request_path: cut(&self.request_path, 500),
            response_status: self.response_status.min(999),
            execution_time_ms: self.execution_time_ms.min(9_999_999_999),
            error_message: self.error_message.clone(),
        }
    }

    /// An entry for `action` on `entity_type` `entity_id`, with status 200.
    pub fn new(action: &str, entity_type: &str, entity_id: impl Into<String>) -> Self {
        AuditEntry {
            action: action.to_string(),
            entity_type: Some(entity_type.to_string()),
            entity_id: Some(entity_id.into()),
            response_status: 200,
            ..Default::default()
        }
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A console user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub user_id: UserId,
    pub username: Username,
    pub email: String,
    pub password_hash: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub account_status: String,
    pub roles: Vec<Role>,
    /// The feature-flag group, which must exist.
    pub feature_group_id: Option<String>,
}

impl NewUser {
    /// The user with its fields checked and normalized (trimmed; empty text absent).
    /// Both backends store only what this returns.
    pub fn validated(&self) -> AppResult<NewUser> {
        use crate::validation::{email, optional_text, NAME_MAX_BYTES};
        if !crate::filter::ACCOUNT_STATUSES.contains(&self.account_status.as_str()) {
            return Err(crate::AppError::Invalid(format!("Unknown account status '{}'.", self.account_status)));
        }
        Ok(NewUser {
            email: email(&self.email)?,
            first_name: optional_text("first name", self.first_name.as_deref(), NAME_MAX_BYTES)?,
            last_name: optional_text("last name", self.last_name.as_deref(), NAME_MAX_BYTES)?,
            ..self.clone()
        })
    }
}

/// What sign-in needs to know about a username. Lives on the server only.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub user_id: UserId,
    pub username: String,
    pub password_hash: String,
    pub account_status: String,
    /// Holds a console role: only such accounts may sign in to the console.
    pub console_role: bool,
    pub guard: LoginGuard,
    pub mfa_enabled: bool,
    /// The last TOTP step accepted: only later ones are.
    pub totp_last_step: Option<i64>,
    /// The failures of the browser's device, when its cookie names a device that
    /// signed in to this account before (`None`: an unknown browser).
    pub device_failures: Option<u32>,
}

/// How a sign-in attempt starts: the account is looked up and, for a console
/// account, its lease taken, so that attempts on one account are decided one at a
/// time across every console instance.
#[derive(Debug, Clone)]
pub enum LoginStart {
    Unknown,
    /// Another attempt on this account is being checked (its lease is held).
    Busy,
    Ready(LoginRecord),
}

/// Which active sessions to end together: every criterion given must hold, and at
/// least one must be given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub user_id: Option<UserId>,
    /// Sessions of users whose account is not active (suspended, deactivated...).
    pub inactive_users: bool,
    pub started_before: Option<Timestamp>,
    pub ip_address: Option<String>,
}

impl SessionFilter {
    pub fn is_empty(&self) -> bool {
        self.user_id.is_none() && !self.inactive_users && self.started_before.is_none() && self.ip_address.is_none()
    }

    /// The filter in words, for audit rows.
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        if let Some(u) = &self.user_id {
            parts.push(format!("user {u}"));
        }
        if self.inactive_users {
            parts.push("users not active".to_string());
        }
        if let Some(t) = &self.started_before {
            parts.push(format!("started before {}", t.format("%Y-%m-%d %H:%M UTC")));
        }
        if let Some(ip) = &self.ip_address {
            parts.push(format!("from {ip}"));
        }
        parts.join(", ")
    }
}

/// A session to open at sign-in.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub session_id: SessionId,
    pub user_id: UserId,
    /// SHA-256 of the JWT, hex: the token itself is never stored.
    pub token_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// A failed sign-in: the account it counted against (if the name exists), and what
/// it changes: the account's guard, or the failures of the device it came from.
#[derive(Debug, Clone, Default)]
pub struct LoginFailure {
    pub user_id: Option<UserId>,
    /// The account's guard after the failure (`None`: left as it is).
    pub guard: Option<LoginGuard>,
    pub device: Option<DeviceFailure>,
}

/// A failure from a device that signed in before: its new count, or `None` when it
/// reached the limit and loses its trust (its row goes).
#[derive(Debug, Clone)]
pub struct DeviceFailure {
    pub device_hash: String,
    pub failed_attempts: Option<u32>,
}

/// A successful sign-in's changes beside the session: the device it came from is
/// remembered (or its use noted), and the account's guard is reset unless the
/// attempt came from a trusted device while the account was locked for others.
#[derive(Debug, Clone)]
pub struct LoginSuccess {
    pub device_hash: String,
    pub reset_guard: bool,
    /// The account's devices unused since before this are trusted no more (their
    /// cookies have expired): their rows go.
    pub forget_unused_before: Timestamp,
    pub second_factor: Option<SecondFactor>,
}

/// The second factor a sign-in (or a confirmation) gave: it is used up with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// A TOTP code of this time step: later codes only from now on.
    Totp { step: i64 },
    /// A recovery code (its SHA-256): used once.
    Recovery { code_hash: String },
}

/// Connection pool figures for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
    /// The connections the pool keeps open even when idle.
    pub min: u32,
    pub waiters: u32,
}

/// One difference between the live schema and what the migrations define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub from_version: i64,
    pub to_version: i64,
    pub applied: Vec<String>,
}

pub trait UserStore {
    fn create_user(&self, user: &NewUser, audit: &AuditEntry) -> AppResult<()>;
    fn search_users(&self, filter: &UserFilter) -> AppResult<Page<UserSummary>>;
    fn user_profile(&self, user_id: &UserId) -> AppResult<UserProfile>;
    fn user_id_by_username(&self, username: &Username) -> AppResult<Option<UserId>>;
    fn set_account_status(&self, user_id: &UserId, status: &str, audit: &AuditEntry) -> AppResult<()>;
    fn users_by_status(&self) -> AppResult<Vec<StatusCount>>;
    fn count_admins(&self) -> AppResult<i64>;
    /// Replaces the user's console roles (granted by the audit row's actor): one
    /// transaction, audited with before and after; refused when no active
    /// administrator would be left. Taking every role away ends their sessions.
    /// Returns the roles before and after.
    fn set_console_roles(
        &self,
        user_id: &UserId,
        roles: &[Role],
        audit: &AuditEntry,
    ) -> AppResult<(Vec<Role>, Vec<Role>)>;
    /// The feature-flag groups, by name (at most 1,000), for pickers.
    fn list_groups(&self) -> AppResult<Vec<GroupRef>>;
    fn find_group(&self, group_id: &str) -> AppResult<Option<GroupRef>>;
    /// Puts the user in a group (which must exist), or in none; the audit row says
    /// `group: before -> after` by name.
    fn set_user_group(&self, user_id: &UserId, group_id: Option<&str>, audit: &AuditEntry) -> AppResult<()>;
    /// Replaces the user's editable profile fields; the audit row lists each change
    /// as before -> after.
    fn update_profile(&self, user_id: &UserId, edit: &ProfileEdit, audit: &AuditEntry) -> AppResult<()>;
    fn preferences(&self, user_id: &UserId) -> AppResult<Preferences>;
    /// Replaces the user's preferences (a row is made when they have none); the audit
    /// row lists each changed document as before -> after.
    fn set_preferences(&self, user_id: &UserId, prefs: &Preferences, audit: &AuditEntry) -> AppResult<()>;
    /// The user's SSO links, primary first (at most 100).
    fn sso_links(&self, user_id: &UserId) -> AppResult<Vec<SsoLink>>;
    /// Removes one of the user's SSO links (its tokens go with it).
    fn unlink_sso(&self, user_id: &UserId, sso_account_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Makes one of the user's SSO links the primary one (and no other).
    fn set_primary_sso(&self, user_id: &UserId, sso_account_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Everyone holding a console role, by username (at most 5,000 role rows).
    fn console_accounts(&self) -> AppResult<Vec<ConsoleAccount>>;
    /// Deletes the user and everything that cascades from them, and destroys their
    /// data key first (crypto-shredding: their encrypted fields are unreadable at
    /// once, wherever a copy of them lies). Refused while they own a table set.
    fn delete_user(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<()>;
}

/// The key-rotation policy (`PF_KEY_ROTATION_DAYS`): a data key not rotated for this
/// many days is overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    pub rotation_days: u32,
}

/// Which data keys a rotation run replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationScope {
    All,
    /// Those not rotated for this many days.
    Overdue {
        rotation_days: u32,
    },
}

/// What a rotation run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RotationRun {
    pub rotated: u64,
    /// Users whose key could not be rotated (logged with their ids); left as they were.
    pub failed: u64,
    /// Stopped by its caller before the end.
    pub interrupted: bool,
}

/// One step of a job that walks a table in keyset order (sealing plaintext,
/// re-wrapping keys): what it changed, and where to go on from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStep {
    pub scanned: u64,
    pub changed: u64,
    /// Rows that could not be changed (logged with their ids), left as they were.
    pub failed: u64,
    /// Pass back as `after`; `None` when the walk is over.
    pub next: Option<String>,
}

/// Runs a keyed walk to its end: `step` does one batch after `after` and says where
/// the next starts; `seen` hears of each batch. The sums of all batches.
pub fn walk_batches(
    mut step: impl FnMut(Option<&str>) -> AppResult<BatchStep>,
    mut seen: impl FnMut(&BatchStep),
) -> AppResult<BatchStep> {
    let mut all = BatchStep { scanned: 0, changed: 0, failed: 0, next: None };
    let mut after = None::<String>;
    loop {
        let batch = step(after.as_deref())?;
        seen(&batch);
        all.scanned += batch.scanned;
        all.changed += batch.changed;
        all.failed += batch.failed;
        match batch.next {
            Some(n) => after = Some(n),
            None => return Ok(all),
        }
    }
}

/// Field encryption (see `server/src/crypto.rs`): sensitive fields, each user's data
/// key, rotation and the key inventory. Every change and every read of a value in the
/// clear is audited in the same transaction.
pub trait EncryptionStore {
    /// Replaces the user's sensitive profile fields (absent clears one), encrypted.
    fn set_sensitive_fields(&self, user_id: &UserId, fields: &SensitiveFields, audit: &AuditEntry) -> AppResult<()>;
    /// The user's sensitive profile fields in the clear, with the audit row of the read.
    fn read_sensitive_fields(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<SensitiveFields>;
    /// Stores (or with `None` clears) the user's TOTP secret, encrypted.
    fn set_mfa_secret(&self, user_id: &UserId, secret: Option<&str>, audit: &AuditEntry) -> AppResult<()>;
    /// The user's TOTP secret, for sign-in only (never sent to a browser).
    fn mfa_secret(&self, user_id: &UserId) -> AppResult<Option<String>>;
    /// Stores an SSO link's tokens, encrypted with its user's key.
    fn set_sso_tokens(
        &self,
        sso_account_id: &str,
        access_token: Option<&str>,
        refresh_token: Option<&str>,
        audit: &AuditEntry,
    ) -> AppResult<()>;
    /// An SSO link's tokens (access, refresh), for the server only.
    fn sso_tokens(&self, sso_account_id: &str) -> AppResult<(Option<String>, Option<String>)>;
    /// Replaces the user's data key with a new one and re-encrypts every field of
    /// theirs, in one transaction.
    fn rotate_user_key(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<KeyInfo>;
    /// Rotates every key of `scope`, one user per transaction (each with its
    /// `key.rotate` row), as the console's job `key_rotation`: one run at a time across
    /// console instances (Conflict when another is running). `audit` describes the run
    /// (its `.begin` row and its outcome row). `progress(done, total)` is called after
    /// each user; when it returns false the run stops there.
    fn rotate_keys(
        &self,
        scope: RotationScope,
        audit: &AuditEntry,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> AppResult<RotationRun>;
    /// Re-wraps, under the current master key, the data keys after `after` (in user
    /// id order, `limit` of them) that an older master key wraps; one transaction.
    fn rewrap_keys(&self, after: Option<&str>, limit: u32, audit: &AuditEntry) -> AppResult<BatchStep>;
    /// Encrypts plaintext that something else wrote into a sensitive seed column
    /// (rows after `after`, `limit` of them), and clears it; one transaction.
    fn seal_plaintext(&self, after: Option<&str>, limit: u32, audit: &AuditEntry) -> AppResult<BatchStep>;
    /// Seals every plaintext sensitive value, 500 users per transaction: (users
    /// sealed, users left as found because a ciphertext of theirs does not open).
    fn seal_all_plaintext(&self, audit: &AuditEntry) -> AppResult<(u64, u64)> {
        let all = walk_batches(|after| self.seal_plaintext(after, 500, audit), |_| {})?;
        Ok((all.changed, all.failed))
    }
    /// How many data keys each master key wraps.
    fn keys_by_master_key(&self) -> AppResult<Vec<StatusCount>>;
    fn key_of(&self, user_id: &UserId, rotation_days: u32) -> AppResult<Option<KeyInfo>>;
    /// The key inventory, keys longest without rotation first.
    fn key_inventory(&self, rotation_days: u32, after: Option<&str>, limit: u32) -> AppResult<KeyInventory>;
}

pub trait SessionStore {
    /// Looks the account up and takes its sign-in lease until `lease_until` (a lock,
    /// not a change: no audit row). `device_hash`: the browser's device cookie, hashed.
    fn begin_login(
        &self,
        username: &str,
        device_hash: Option<&str>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> AppResult<LoginStart>;
    /// Opens the session, remembers the device, resets the guard (unless told not to),
    /// counts the login, releases the lease, writes the audit row.
    fn record_login_success(&self, session: &NewSession, success: &LoginSuccess, audit: &AuditEntry) -> AppResult<()>;
    /// Stores the failure's guard or device count, releases the lease, writes the audit row.
    fn record_login_failure(&self, failure: &LoginFailure, audit: &AuditEntry) -> AppResult<()>;
    /// Lets go of the account's sign-in lease (a lock, not a change: no audit row),
    /// when an attempt ends without writing its outcome.
    fn release_login(&self, user_id: &UserId) -> AppResult<()>;
    /// Clears an account's failures and lock (an admin's unlock).
    fn unlock_login(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<()>;
    /// The account's guard, whether it is locked now, how many devices it trusts.
    fn sign_in_state(&self, user_id: &UserId) -> AppResult<SignInState>;
    /// The principal of an active, unexpired session of an active user whose token
    /// hash matches, and that was last used after `idle_since`.
    fn session_principal(
        &self,
        session_id: &SessionId,
        token_hash: &str,
        now: Timestamp,
        idle_since: Timestamp,
    ) -> AppResult<Option<Principal>>;
    /// Records the session's use at `now`, unless it was recorded after `unless_after`
    /// (bookkeeping of the idle timeout, not a change: no audit row).
    fn touch_session(&self, session_id: &SessionId, now: Timestamp, unless_after: Timestamp) -> AppResult<()>;
    /// Ends the session now, recording who (the audit row's actor) and why.
    fn revoke_session(&self, session_id: &SessionId, reason: &str, audit: &AuditEntry) -> AppResult<()>;
    /// How many active sessions the filter matches (the preview of a revoke).
    fn count_sessions(&self, filter: &SessionFilter) -> AppResult<i64>;
    /// Ends every active session the filter matches, in one statement; one audit
    /// row names the filter and the count. Returns the count.
    fn revoke_sessions(&self, filter: &SessionFilter, reason: &str, audit: &AuditEntry) -> AppResult<u64>;
    fn list_sessions(&self, user_id: &UserId) -> AppResult<Vec<SessionInfo>>;
    fn count_active_sessions(&self, now: Timestamp) -> AppResult<i64>;
}

/// Two-factor sign-in: the TOTP secret lives encrypted in `pf_users.mfa_secret_enc`.
pub trait MfaStore {
    /// Stores a new secret for setting TOTP up (refused while it is on).
    fn start_mfa_setup(&self, user_id: &UserId, secret: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Turns TOTP on (its first code's step accepted) with new recovery codes.
    fn enable_mfa(&self, user_id: &UserId, step: i64, recovery_hashes: &[String], audit: &AuditEntry) -> AppResult<()>;
    /// Turns it off: secret, recovery codes and the last step go.
    fn reset_mfa(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<()>;
    fn mfa_state(&self, user_id: &UserId) -> AppResult<MfaState>;
    fn recovery_code_unused(&self, user_id: &UserId, code_hash: &str) -> AppResult<bool>;
    /// The session's holder gave their password (and second factor) again.
    fn confirm_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        at: Timestamp,
        second_factor: Option<&SecondFactor>,
        audit: &AuditEntry,
    ) -> AppResult<()>;
}

/// A new invitation to write: the token only as its hash.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub invitation_id: String,
    pub email: String,
    pub token_hash: String,
    pub invited_by: UserId,
    pub role: String,
    pub expires_at: Timestamp,
    /// The feature-flag group the account joins, which must exist.
    pub feature_group_id: Option<String>,
}

/// `pf_user_invitations`: invite, list, withdraw, send again, accept.
pub trait InvitationStore {
    fn create_invitation(&self, invitation: &NewInvitation, audit: &AuditEntry) -> AppResult<()>;
    /// The newest first (at most 200).
    fn list_invitations(&self, now: Timestamp) -> AppResult<Vec<InvitationInfo>>;
    /// The invitation a token names, if any.
    fn invitation_by_token(&self, token_hash: &str, now: Timestamp) -> AppResult<Option<InvitationInfo>>;
    /// Withdraws a pending invitation (its link answers 410 from then on).
    fn withdraw_invitation(&self, invitation_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// A new token and expiry for a pending invitation (the old link stops working),
    /// `reminder_sent_at` now. Returns its email.
    fn renew_invitation(
        &self,
        invitation_id: &str,
        token_hash: &str,
        expires_at: Timestamp,
        audit: &AuditEntry,
    ) -> AppResult<String>;
    /// In one transaction: the invitation used up, the account made with its email
    /// (and its console role), audited. `Gone` when the link was used, has expired
    /// or was withdrawn; nothing changes then, nor on bad input.
    fn accept_invitation(&self, token_hash: &str, user: &NewUser, now: Timestamp, audit: &AuditEntry) -> AppResult<()>;
}

/// `pf_audit_log`: every row joins a hash chain and the kept hourly and daily counts
/// in the transaction that writes it (see `server/src/storage/audit/`).
pub trait AuditStore {
    /// Writes an audit row on its own: for events that change nothing else (a refused request).
    fn append_audit(&self, audit: &AuditEntry) -> AppResult<()>;
    fn count_audit_since(&self, since: Timestamp) -> AppResult<i64>;
    fn recent_audit(&self, limit: u32) -> AppResult<Vec<AuditRow>>;
    /// One event with its actor's username.
    fn audit_event(&self, id: &str) -> AppResult<Option<AuditRow>>;
    /// One page of the events `filter` matches.
    fn search_audit(&self, filter: &AuditFilter) -> AppResult<AuditPage>;
    /// How many events `filter` matches, by action, outcome and actor.
    fn audit_facets(&self, filter: &AuditFilter) -> AppResult<AuditFacets>;
    /// Events of `filter` over time by outcome (the Audit page's chart).
    fn audit_histogram(&self, filter: &AuditFilter) -> AppResult<AuditHistogram>;
    /// Exactly how many events `filter` matches, however many (reads them all:
    /// background work, never the page's request).
    fn count_audit(&self, filter: &AuditFilter) -> AppResult<i64>;
    /// Every event `filter` matches, in its order, handed to `each` until it returns
    /// false; how many it took.
    fn export_audit(&self, filter: &AuditFilter, each: &mut dyn FnMut(&AuditRow) -> bool) -> AppResult<u64>;
    /// Chains up to `limit` events written outside the chain (before migration 0014,
    /// or by another tool), oldest first after `after`; one transaction.
    fn chain_pending(&self, after: Option<&str>, limit: u32) -> AppResult<BatchStep>;
    /// Signs the chain's head with `key` (HMAC-SHA256) unless a checkpoint already
    /// covers it; the sequence number signed.
    fn sign_checkpoint(&self, key: &[u8], now: Timestamp) -> AppResult<Option<i64>>;
    /// Walks the chain from its start and reports the first break. Without `key`
    /// checkpoints are not checked. `progress(checked, total)` after each batch; the
    /// walk stops when it returns false.
    fn verify_audit_chain(
        &self,
        key: Option<&[u8]>,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> AppResult<ChainReport>;
    /// Records a background job of the Audit page (with `audit`, who asked for what);
    /// its id.
    fn start_audit_job(&self, kind: AuditJobKind, filter_text: &str, audit: &AuditEntry) -> AppResult<String>;
    /// Runs a job begun with `start_audit_job` to its end: its progress, result and
    /// outcome row (`audit`) are in the database.
    fn run_audit_job(
        &self,
        id: &str,
        kind: AuditJobKind,
        filter: &AuditFilter,
        key: Option<&[u8]>,
        audit: &AuditEntry,
    ) -> AppResult<()>;
    fn audit_job(&self, id: &str) -> AppResult<AuditJob>;
    /// The last chain verification that finished (the Diagnostics page, the alerts).
    fn last_chain_verify(&self) -> AppResult<Option<AuditJob>>;
    /// Verifies the chain as the Audit page's job does (`audit` is its row, `.begin`
    /// before and the outcome after) when none finished within `every` and no other
    /// instance is verifying; the job, or `None` when not due.
    fn scheduled_chain_verify(
        &self,
        every: std::time::Duration,
        key: Option<&[u8]>,
        audit: &AuditEntry,
    ) -> AppResult<Option<AuditJob>>;
}

pub use crate::audit::AuditRow;

pub trait SchemaStore {
    /// Applies the migrations not yet applied; refuses a database newer than this build.
    /// `audit` is the template of the row written with each step (once the audit log exists).
    fn migrate(&self, audit: &AuditEntry) -> AppResult<MigrationReport>;
    fn schema_version(&self) -> AppResult<i64>;
    /// The version this build brings a database to.
    fn latest_schema_version(&self) -> i64;
    /// Differences between the live schema and the one the migrations define.
    fn schema_check(&self) -> AppResult<Vec<Drift>>;
}

/// When a statistics refresh may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshWhen {
    /// Now (unless another instance is refreshing): the CLI and the console's button.
    Now,
    /// Only if the last refresh finished longer ago than this: the background job,
    /// which every console instance runs (one of them wins each round).
    Due(std::time::Duration),
}

/// The user statistics (`pf_mv_user_stats`, a materialized view on Oracle and a table
/// the same operation rebuilds on SQLite).
pub trait StatsStore {
    /// Rebuilds the statistics, audited, and records the run. `None` when it was not
    /// due or another instance holds the refresh.
    fn refresh_user_stats(&self, when: RefreshWhen, audit: &AuditEntry) -> AppResult<Option<JobRun>>;
    /// The last refresh (any instance's).
    fn last_stats_refresh(&self) -> AppResult<JobRun>;
    /// The user's row of the statistics, if the last refresh saw them.
    fn user_activity(&self, user_id: &UserId) -> AppResult<Option<UserActivity>>;
}

/// Storage use (sampled in the background; see [`crate::usage`]) and the optimizer's
/// statistics. Both are jobs every console instance runs; the database's lease in
/// `pf_console_jobs` decides which instance does each round.
pub trait UsageStore {
    /// Measures the database's storage and records the sample (audited), deleting
    /// samples older than the policy keeps. `None` when not due or another instance
    /// is sampling.
    fn sample_storage(
        &self,
        when: RefreshWhen,
        policy: &crate::usage::StoragePolicy,
        audit: &AuditEntry,
    ) -> AppResult<Option<JobRun>>;
    /// The latest sample, the growth over the last week of samples and the jobs' last runs.
    fn storage_page(&self, policy: &crate::usage::StoragePolicy) -> AppResult<crate::usage::StoragePage>;
    /// `used`, `limit` and the named tables' totals since `since`: (name, [(ms, bytes)]).
    fn storage_history(&self, since: Timestamp, tables: &[String]) -> AppResult<Vec<(String, Vec<(i64, i64)>)>>;
    /// Gathers the optimizer's statistics where they are stale (SQLite `PRAGMA
    /// optimize`, Oracle `DBMS_STATS.GATHER_SCHEMA_STATS` with `GATHER AUTO`), audited.
    fn gather_statistics(&self, when: RefreshWhen, audit: &AuditEntry) -> AppResult<Option<JobRun>>;
    fn last_statistics(&self) -> AppResult<JobRun>;
    fn last_storage_sample(&self) -> AppResult<JobRun>;
}

/// Backups of the embedded database (see `server/src/storage/backup.rs`); on Oracle
/// the platform takes them, and these say so in one sentence.
pub trait BackupStore {
    /// A full backup into a new folder under `root`: the main file and every per-user
    /// set (`VACUUM INTO`, each a consistent copy), the key files kept beside the
    /// database, and a manifest with each file's size and SHA-256, the schema version
    /// and the audit chain's head. Audited (`.begin`, then its outcome) and recorded;
    /// a backup that fails midway leaves no folder behind.
    fn create_backup(
        &self,
        root: &std::path::Path,
        kind: crate::backup::BackupKind,
        audit: &AuditEntry,
    ) -> AppResult<crate::backup::Backup>;
    /// The backup the schedule says is due (a full one when the newest is older than
    /// `full_every`, else an incremental one when the newest backup is older than
    /// `incremental_every`), under the `backup` lease so one instance takes it; then
    /// the backups past `keep_days` expire (their folders removed, each audited). A
    /// full backup is verified right after (see `backup verify`), recorded.
    /// `None` when nothing was due or another instance holds the lease.
    fn scheduled_backup(
        &self,
        schedule: &crate::backup::BackupSchedule,
        audit_key: Option<&[u8]>,
        audit: &AuditEntry,
    ) -> AppResult<Option<crate::backup::Backup>>;
    /// The newest backups first.
    fn backups(&self, limit: u32) -> AppResult<Vec<crate::backup::Backup>>;
    /// Records a verification's outcome on its backup's row, audited with `audit`.
    fn record_backup_verification(&self, backup_id: &str, ok: bool, note: &str, audit: &AuditEntry) -> AppResult<()>;
}

/// What a retention run is asked to do.
pub struct RetentionRequest<'a> {
    /// Count what would go, changing nothing.
    pub dry_run: bool,
    pub when: RefreshWhen,
    /// The run's clock: each policy's cutoff is this minus its days (a resumed run
    /// keeps its own).
    pub now: Timestamp,
    /// Signs the audit chain's cut; without it the audit log keeps its events.
    pub audit_key: Option<&'a [u8]>,
}

/// Retention policies and runs (see `server/src/storage/retention.rs`).
pub trait RetentionStore {
    /// The policies and the last real run.
    fn retention_page(&self) -> AppResult<crate::retention::RetentionPage>;
    /// Adds a policy (`id` none) or changes one, validated and audited with before and after.
    fn save_retention_policy(
        &self,
        id: Option<&str>,
        edit: &crate::retention::PolicyEdit,
        audit: &AuditEntry,
    ) -> AppResult<crate::retention::RetentionPolicy>;
    fn delete_retention_policy(&self, id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// Runs every policy, or dry counts what a run would do. A real run takes the
    /// `retention` lease (`None` when a scheduled run is not due or another instance
    /// runs; a run asked for now gets a conflict), resumes a run that stopped midway,
    /// and writes `.begin` and its summary as audit rows. `progress` is called after
    /// each step; when it returns false the run stops where it is, as a crash would
    /// leave it (the next run resumes it once the lease has run out).
    fn run_retention(
        &self,
        req: &RetentionRequest,
        audit: &AuditEntry,
        progress: &mut dyn FnMut(&crate::retention::RetentionSummary) -> bool,
    ) -> AppResult<Option<crate::retention::RetentionSummary>>;
}

pub trait UserTableStore {
    /// Creates the per-user table set (idempotent; finishes a set a crash left half made).
    fn provision_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<TableSetInfo>;
    /// Drops a registered table set (and only a registered one).
    fn drop_user_tables(&self, username: &Username, audit: &AuditEntry) -> AppResult<()>;
    fn user_table_set(&self, username: &Username) -> AppResult<Option<TableSetInfo>>;
    /// Inserts rows into tables of `username`'s set (and only those), with the audit row.
    fn fill_user_tables(&self, username: &Username, rows: &[TableRows], audit: &AuditEntry) -> AppResult<()>;
}

/// A value bound to a statement or read from a row, whichever the backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    /// Never empty when it reaches a backend: storage sends `""` as [`Value::Null`],
    /// as Oracle stores it.
    Text(String),
    Time(Timestamp),
    Date(chrono::NaiveDate),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Text(s.clone())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(r: f64) -> Self {
        Value::Real(r)
    }
}
impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Self {
        Value::Time(t)
    }
}
impl From<chrono::NaiveDate> for Value {
    fn from(d: chrono::NaiveDate) -> Self {
        Value::Date(d)
    }
}
impl From<&UserId> for Value {
    fn from(id: &UserId) -> Self {
        Value::Text(id.0.clone())
    }
}
impl From<&SessionId> for Value {
    fn from(id: &SessionId) -> Self {
        Value::Text(id.0.clone())
    }
}
impl From<&Username> for Value {
    fn from(u: &Username) -> Self {
        Value::Text(u.as_str().to_string())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Rows for one table: `columns` name the values of each row, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    pub table: String,
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Value>>,
}

impl TableRows {
    pub fn new(table: impl Into<String>, columns: &'static [&'static str]) -> Self {
        TableRows { table: table.into(), columns, rows: Vec::new() }
    }

    /// Adds a row; its values follow `columns`.
    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "row of {}", self.table);
        self.rows.push(row);
    }

    /// The table and column names, refused unless they are plain identifiers (they
    /// are spliced into the INSERT statement).
    pub fn checked_names(&self) -> AppResult<()> {
        let plain = |s: &str| {
            s.len() <= 128
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !plain(&self.table) || !self.columns.iter().all(|c| plain(c)) {
            return Err(crate::AppError::invalid(format!("'{}' is not a table this console writes.", self.table)));
        }
        if self.rows.iter().any(|r| r.len() != self.columns.len()) {
            return Err(crate::AppError::internal(format!("a row of {} has the wrong number of values", self.table)));
        }
        Ok(())
    }
}

/// Loading many rows at once (synthetic data, imports): array inserts, one
/// transaction per batch, the batch's audit row inside it.
pub trait BulkStore {
    /// Inserts every row of `batch` and `audit` in one transaction: all of it or nothing.
    fn insert_batch(&self, batch: &[TableRows], audit: &AuditEntry) -> AppResult<()>;
    /// The `entity_id`s of the audit rows with this `action` and `request_path`: how a
    /// resumed load knows which of its batches are already in.
    fn audited_entities(&self, action: &str, request_path: &str) -> AppResult<Vec<String>>;
    /// How many users and audit events the database holds (a load's yardstick).
    fn loaded_rows(&self) -> AppResult<u64>;
    /// Drops the indexes of `tables` that a load may build once after it instead of
    /// entry by entry (SQLite: every non-unique secondary index; Oracle: none).
    /// Returns their names; [`BulkStore::restore_indexes`] makes them again.
    fn drop_indexes(&self, tables: &[String]) -> AppResult<Vec<String>>;
    /// Makes every index the migrations make that the database lacks (after a load
    /// that dropped them, or one killed before it made them again). Returns their names.
    fn restore_indexes(&self) -> AppResult<Vec<String>>;
    /// Refreshes the query planner's statistics (after a load changed the data's shape).
    fn analyze(&self) -> AppResult<()>;
}

/// Feature flags, groups, overrides and their evaluation (issue 11). Every change
/// is audited with its before and after (JSON) in the same transaction, the flag's
/// or group's id as the entity.
pub trait FlagStore {
    /// Flags whose key or name contains `text` (case-insensitive), by key.
    fn flags(&self, text: &str) -> AppResult<Vec<Flag>>;
    fn flag(&self, key: &str) -> AppResult<Flag>;
    fn create_flag(&self, edit: &FlagEdit, audit: &AuditEntry) -> AppResult<Flag>;
    /// Changes everything but the key; refused while overrides hold values the new
    /// type or allowed values refuse.
    fn update_flag(&self, key: &str, edit: &FlagEdit, audit: &AuditEntry) -> AppResult<Flag>;
    /// Deletes the flag and its overrides; returns how many overrides went.
    fn delete_flag(&self, key: &str, audit: &AuditEntry) -> AppResult<u64>;
    fn override_count(&self, key: &str) -> AppResult<i64>;
    /// Groups, highest priority first, then by name.
    fn groups(&self) -> AppResult<Vec<Group>>;
    fn group(&self, group_id: &str) -> AppResult<Group>;
    /// Creates (no id) or changes a group; making it the default takes that from
    /// any other.
    fn save_group(&self, group_id: Option<&str>, edit: &GroupEdit, audit: &AuditEntry) -> AppResult<Group>;
    /// Deletes a group: its members leave it, its overrides go. Returns (members,
    /// overrides).
    fn delete_group(&self, group_id: &str, audit: &AuditEntry) -> AppResult<(u64, u64)>;
    fn group_size(&self, group_id: &str) -> AppResult<i64>;
    /// Sets the override of a flag for a user (id or username) or a group: creates
    /// it, or replaces the one there is.
    fn set_override(&self, key: &str, target: &Target, edit: &OverrideEdit, audit: &AuditEntry) -> AppResult<Override>;
    fn delete_override(&self, override_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// A flag's overrides that `filter` admits at `now`, in creation order, a page
    /// of `limit`.
    fn overrides_of_flag(
        &self,
        key: &str,
        filter: &OverrideFilter,
        now: Timestamp,
        limit: u32,
    ) -> AppResult<OverridePage>;
    /// Every override a user (by id) or a group holds, by flag key.
    fn overrides_held(&self, holder: &Target) -> AppResult<Vec<Override>>;
    /// A group's members by username, a page of `limit` after the username `after`.
    fn group_members(&self, group_id: &str, after: Option<&str>, limit: u32) -> AppResult<Vec<UserSummary>>;
    /// One flag's value for a user (id or username; unknown or none: as nobody's).
    fn evaluate(&self, key: &str, user: Option<&str>, now: Timestamp) -> AppResult<Evaluation>;
    /// Every flag's value for a user, by key.
    fn evaluate_all(&self, user: Option<&str>, now: Timestamp) -> AppResult<Vec<Evaluation>>;
    /// Removes up to `limit` overrides expired by `now`, one audit row each (what it
    /// was); returns how many. Safe on several instances at once.
    fn expire_overrides(&self, now: Timestamp, limit: u32, audit: &AuditEntry) -> AppResult<u64>;
    /// The evaluation API's keys, newest first (never their secrets).
    fn api_keys(&self) -> AppResult<Vec<ApiKey>>;
    /// Records a new key by its secret's SHA-256 and first characters.
    fn create_api_key(&self, name: &str, secret_hash: &str, prefix: &str, audit: &AuditEntry) -> AppResult<ApiKey>;
    fn revoke_api_key(&self, key_id: &str, audit: &AuditEntry) -> AppResult<()>;
    /// The key whose secret has this SHA-256 (revoked ones too: the caller tells
    /// them apart); its last use is kept to the minute.
    fn api_key_by_hash(&self, secret_hash: &str, now: Timestamp) -> AppResult<Option<ApiKey>>;
}

/// Everything a backend offers, plus what the console asks of the backend itself.
pub trait Storage:
    UserStore
    + SessionStore
    + AuditStore
    + SchemaStore
    + StatsStore
    + UserTableStore
    + BulkStore
    + EncryptionStore
    + MfaStore
    + InvitationStore
    + FlagStore
    + UsageStore
    + BackupStore
    + RetentionStore
    + Send
    + Sync
{
    /// `sqlite` or `oracle`.
    fn backend_name(&self) -> &'static str;
    fn ping(&self) -> AppResult<()>;
    fn pool_stats(&self) -> PoolStats;
    /// The database's own view of its connections or files (the Pool page).
    fn database_view(&self) -> AppResult<crate::pool::DatabaseView>;
    /// This process's storage operations by name, and its slowest recent calls.
    fn operations(&self) -> crate::queries::QueriesPage;
    /// The database's version, clock and applied migrations (the Diagnostics page).
    fn database_facts(&self) -> AppResult<crate::diagnostics::DatabaseFacts>;

    fn overview(&self, now: Timestamp) -> AppResult<Overview> {
        Ok(Overview {
            users_by_status: self.users_by_status()?,
            active_sessions: self.count_active_sessions(now)?,
            audit_events_24h: self.count_audit_since(now - chrono::Duration::hours(24))?,
            schema_version: self.schema_version()?,
            backend: self.backend_name().to_string(),
            stats_refresh: self.last_stats_refresh()?,
            as_of: now,
        })
    }
}
