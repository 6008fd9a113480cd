//! Field encryption's keys: each user's data key, sensitive fields, rotation and
//! the key inventory.

use super::{walk_batches, Action, AuditEntry, BatchStep};
use crate::dto::{KeyCounts, KeyInfo, KeyInventory, KeyInventoryPage, SensitiveFields, StatusCount};
use crate::{AppResult, UserId};

pub const KEY_ROTATE: Action = Action::new("key.rotate");
/// A run that rotates many keys (each with its own `key.rotate` row).
pub const KEY_ROTATION_RUN: Action = Action::new("key.rotation_run");
pub const MASTER_KEY_REWRAP: Action = Action::new("key.master.rewrap");
pub const FIELDS_SEAL: Action = Action::new("fields.seal");
pub const SENSITIVE_READ: Action = Action::new("read.user.sensitive");
pub const SENSITIVE_UPDATE: Action = Action::new("user.sensitive.update");
/// Reads of data keys, audited: one user's, and a page of the inventory.
pub const USER_KEY_READ: Action = Action::new("read.user.key");
pub const KEY_INVENTORY_READ: Action = Action::new("read.keys");

impl super::Returned for KeyInfo {
    fn rows(&self) -> usize {
        1
    }
}

impl super::Returned for KeyInventory {
    fn rows(&self) -> usize {
        self.keys.items.len()
    }
}

impl super::Returned for KeyInventoryPage {
    fn rows(&self) -> usize {
        self.inventory.rows()
    }
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

/// Field encryption (see `server/src/crypto.rs`): sensitive fields, each user's data
/// key, rotation and the key inventory. Every change and every read of a value in the
/// clear is audited in the same transaction.
pub trait KeyStore {
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
    /// How many keys a run of `scope` would rotate; `Conflict` while a run is going on.
    fn rotation_due(&self, scope: RotationScope) -> AppResult<u64>;
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
    /// How many data keys each master key wraps, the most first.
    fn keys_by_master_key(&self) -> AppResult<Vec<StatusCount>>;
    /// Every key counted now: all of them, the overdue under `rotation_days`, by
    /// master key. It reads every key (tens of ms at a million): pages read the
    /// overview's copy (`Overview::keys`).
    fn key_counts(&self, rotation_days: u32) -> AppResult<KeyCounts>;
    fn key_of(&self, user_id: &UserId, rotation_days: u32) -> AppResult<Option<KeyInfo>>;
    /// The key inventory, keys longest without rotation first (no counts: see
    /// [`key_counts`](Self::key_counts)).
    fn key_inventory(&self, rotation_days: u32, after: Option<&str>, limit: u32) -> AppResult<KeyInventory>;
}
