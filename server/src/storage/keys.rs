//! Field encryption: sensitive fields, each user's data key in `pf_encryption_keys`,
//! rotation, master-key re-wrapping, sealing plaintext others wrote, the key
//! inventory. The primitives are in `crate::crypto`.
//!
//! Every write that touches a user's key or fields first locks the user's `pf_users`
//! row (Oracle: `SELECT … FOR UPDATE`; SQLite has one writer at a time anyway), so
//! two console instances never create two keys for one user or rotate one key twice
//! at once.

use super::driver::{Conn, ReadRow, Row};
use super::sql::Stmt;
use super::store::Store;
use super::{audit, jobs};
use crate::crypto::{DataKey, FieldRef, WrappedKey, ALGORITHM};
use crate::{args, crash, sql};
use chrono::Utc;
use pathfinder::dto::{KeyCounts, KeyInfo, KeyInventory, Page, SensitiveFields, StatusCount, Timestamp};
use pathfinder::storage::{AuditEntry, BatchStep, KeyStore, RotationRun, RotationScope};
use pathfinder::{AppError, AppResult, UserId};

/// A table with encrypted columns: `<column>_enc` holds what `<column>` would.
/// Plaintext that something else (the product) wrote into `<column>` is folded in
/// whenever a row is written, and the column cleared: it is never lost, and never
/// left in the clear once the console has touched the row.
struct SealedTable {
    table: &'static str,
    columns: &'static [&'static str],
    /// The id, each `_enc` column, then each plaintext column, of the rows user `:1` owns.
    owned: &'static Stmt,
    /// Sets each `_enc` column (`:1`…), clears each plaintext column, where the id is the last parameter.
    write: &'static Stmt,
}

const USER_COLUMNS: &[&str] = &["phone_number", "date_of_birth", "gender", "nationality", "mfa_secret"];
const SSO_COLUMNS: &[&str] = &["access_token", "refresh_token"];

fn users_table() -> SealedTable {
    SealedTable {
        table: "pf_users",
        columns: USER_COLUMNS,
        owned: sql!(
            "SELECT user_id, phone_number_enc, date_of_birth_enc, gender_enc, nationality_enc, mfa_secret_enc,
             phone_number, date_of_birth, gender, nationality, mfa_secret FROM pf_users WHERE user_id = :1"
        ),
        write: sql!(
            "UPDATE pf_users SET phone_number_enc = :1, date_of_birth_enc = :2, gender_enc = :3, nationality_enc = :4,
             mfa_secret_enc = :5, phone_number = NULL, date_of_birth = NULL, gender = NULL, nationality = NULL,
             mfa_secret = NULL WHERE user_id = :6"
        ),
    }
}

fn sso_table() -> SealedTable {
    SealedTable {
        table: "pf_sso_accounts",
        columns: SSO_COLUMNS,
        owned: sql!(
            "SELECT sso_account_id, access_token_enc, refresh_token_enc, access_token, refresh_token
             FROM pf_sso_accounts WHERE user_id = :1"
        ),
        write: sql!(
            "UPDATE pf_sso_accounts SET access_token_enc = :1, refresh_token_enc = :2, access_token = NULL,
             refresh_token = NULL WHERE sso_account_id = :3"
        ),
    }
}

/// One row's sensitive columns as stored: encrypted, and plaintext others wrote.
struct SealedRow {
    id: String,
    stored: Vec<Option<String>>,
    plain: Vec<Option<String>>,
}

impl SealedRow {
    /// Whether reading it needs the owner's data key.
    fn encrypted(&self) -> bool {
        self.stored.iter().any(Option::is_some)
    }
}

impl SealedTable {
    fn field<'a>(&'a self, i: usize, row_id: &'a str) -> FieldRef<'a> {
        FieldRef { table: self.table, column: self.columns[i], row_id }
    }

    fn rows_of(&self, c: &mut Conn, user_id: &str) -> AppResult<Vec<SealedRow>> {
        let width = self.columns.len();
        c.query_map(self.owned, &args![user_id], |r| {
            let mut plain = Vec::with_capacity(width);
            for (i, column) in self.columns.iter().enumerate() {
                // date_of_birth is a DATE: read as one, kept as YYYY-MM-DD.
                plain.push(match *column {
                    "date_of_birth" => r.opt_date(1 + width + i)?.map(|d| d.format("%Y-%m-%d").to_string()),
                    _ => r.opt_text(1 + width + i)?,
                });
            }
            let stored = (1..=width).map(|i| r.opt_text(i)).collect::<AppResult<_>>()?;
            Ok(SealedRow { id: r.text(0)?, stored, plain })
        })
    }

    fn open(&self, key: Option<&DataKey>, row: &SealedRow) -> AppResult<Vec<Option<String>>> {
        self.open_except(key, row, &[])
    }

    /// The row's values in the clear (plaintext found in a seed column wins over an
    /// older ciphertext), leaving out (as `None`) the columns in `skip`.
    fn open_except(&self, key: Option<&DataKey>, row: &SealedRow, skip: &[usize]) -> AppResult<Vec<Option<String>>> {
        let mut out = Vec::with_capacity(self.columns.len());
        for (i, (stored, plain)) in row.stored.iter().zip(&row.plain).enumerate() {
            out.push(match (stored, plain) {
                _ if skip.contains(&i) => None,
                (_, Some(p)) => Some(p.clone()),
                (Some(s), None) => {
                    let key = key.ok_or_else(|| undecryptable_without_key(&row.id))?;
                    Some(key.open(self.field(i, &row.id), s)?)
                }
                (None, None) => None,
            });
        }
        Ok(out)
    }

    /// Writes `plain` (one value per column) encrypted under `key`.
    fn store(&self, c: &mut Conn, key: &DataKey, row_id: &str, plain: &[Option<String>]) -> AppResult<()> {
        let mut params = Vec::with_capacity(plain.len() + 1);
        for (i, v) in plain.iter().enumerate() {
            params.push(v.as_deref().map(|v| key.seal(self.field(i, row_id), v)).transpose()?.into());
        }
        params.push(row_id.into());
        c.execute(self.write, &params)?;
        Ok(())
    }
}

fn undecryptable_without_key(row_id: &str) -> AppError {
    AppError::Conflict(format!("Row {row_id} has encrypted fields but its owner has no data key: they cannot be read."))
}

impl Store {
    /// Locks the user's row (see the module's note); NotFound when there is no such user.
    pub(super) fn lock_owner(c: &mut Conn, user_id: &str) -> AppResult<()> {
        let found = c.query_opt(
            sql!(
                sqlite: "SELECT 1 FROM pf_users WHERE user_id = :1",
                oracle: "SELECT 1 FROM pf_users WHERE user_id = :1 FOR UPDATE"
            ),
            &args![user_id],
        )?;
        found.map(|_| ()).ok_or_else(|| AppError::NotFound("That user".into()))
    }

    /// Sets (or clears) the user's MFA secret, encrypted; in the caller's transaction.
    pub(super) fn store_mfa_secret(&self, c: &mut Conn, user_id: &UserId, secret: Option<String>) -> AppResult<()> {
        let mfa = USER_COLUMNS.iter().position(|c| *c == "mfa_secret").unwrap_or(4);
        self.replace_fields(c, &users_table(), user_id.as_str(), user_id.as_str(), &[(mfa, secret)])?;
        Self::touch_user(c, user_id.as_str())
    }

    /// The user's MFA secret in the clear (server only; never audited as a read:
    /// sign-in and setup use it, nobody sees it).
    pub(super) fn load_mfa_secret(&self, c: &mut Conn, user_id: &UserId) -> AppResult<Option<String>> {
        let v = self.read_fields(c, &users_table(), user_id.as_str(), user_id.as_str())?;
        Ok(v.into_iter().nth(4).flatten())
    }

    /// Marks the user's profile as changed (a field of theirs was set by the console).
    fn touch_user(c: &mut Conn, user_id: &str) -> AppResult<()> {
        c.execute(sql!("UPDATE pf_users SET updated_at = :1 WHERE user_id = :2"), &args![chrono::Utc::now(), user_id])?;
        Ok(())
    }

    /// The user's data key, if they have one.
    fn data_key(&self, c: &mut Conn, user_id: &str) -> AppResult<Option<DataKey>> {
        let Some(r) = c.query_opt(
            sql!(
                "SELECT key_encrypted, key_salt, rotation_count, master_key_id FROM pf_encryption_keys
                 WHERE user_id = :1"
            ),
            &args![user_id],
        )?
        else {
            return Ok(None);
        };
        let wrapped = WrappedKey {
            key_encrypted: r.text(0)?,
            key_salt: r.text(1)?,
            master_key_id: r.opt_text(3)?.unwrap_or_default(),
        };
        DataKey::unwrap(&self.keyring, &wrapped, user_id, r.opt_int(2)?.unwrap_or(0)).map(Some)
    }

    /// The user's data key, made (and stored, wrapped) if they have none. The caller holds the owner's lock.
    fn data_key_or_new(&self, c: &mut Conn, user_id: &str) -> AppResult<DataKey> {
        if let Some(key) = self.data_key(c, user_id)? {
            return Ok(key);
        }
        let key = DataKey::generate(0);
        let w = key.wrap(&self.keyring, user_id)?;
        c.execute(
            sql!(
                "INSERT INTO pf_encryption_keys (id, user_id, key_encrypted, key_salt, algorithm, rotation_count,
                 master_key_id, created_at) VALUES (:1, :2, :3, :4, :5, :6, :7, :8)"
            ),
            &args![
                pathfinder::new_id(),
                user_id,
                w.key_encrypted,
                w.key_salt,
                ALGORITHM,
                0i64,
                w.master_key_id,
                chrono::Utc::now()
            ],
        )?;
        Ok(key)
    }

    /// Replaces the values of some of `table`'s columns in the row `row_id` of `owner`,
    /// keeping the others, all encrypted; in the caller's transaction.
    fn replace_fields(
        &self,
        c: &mut Conn,
        table: &SealedTable,
        owner: &str,
        row_id: &str,
        new: &[(usize, Option<String>)],
    ) -> AppResult<()> {
        Self::lock_owner(c, owner)?;
        let key = self.data_key_or_new(c, owner)?;
        let rows = table.rows_of(c, owner)?;
        let row = rows.iter().find(|r| r.id == row_id).ok_or_else(|| AppError::NotFound("That record".into()))?;
        // What is replaced is not decrypted: a damaged value can be overwritten.
        let replaced: Vec<usize> = new.iter().map(|(i, _)| *i).collect();
        let mut plain = table.open_except(Some(&key), row, &replaced)?;
        for (i, v) in new {
            plain[*i] = v.clone();
        }
        table.store(c, &key, row_id, &plain)
    }

    /// The plaintext of `table`'s row `row_id` owned by `owner`, without an audit row.
    fn read_fields(
        &self,
        c: &mut Conn,
        table: &SealedTable,
        owner: &str,
        row_id: &str,
    ) -> AppResult<Vec<Option<String>>> {
        let rows = table.rows_of(c, owner)?;
        let row = rows.iter().find(|r| r.id == row_id).ok_or_else(|| AppError::NotFound("That record".into()))?;
        let key = if row.encrypted() { self.data_key(c, owner)? } else { None };
        table.open(key.as_ref(), row)
    }

    /// Encrypts the plaintext in the user's row and their SSO rows.
    fn seal_user(&self, c: &mut Conn, user_id: &str) -> AppResult<()> {
        self.replace_fields(c, &users_table(), user_id, user_id, &[])?;
        let sso = sso_table();
        for row in sso.rows_of(c, user_id)? {
            if row.plain.iter().any(Option::is_some) {
                self.replace_fields(c, &sso, user_id, &row.id, &[])?;
            }
        }
        Ok(())
    }

    fn sso_owner(c: &mut Conn, sso_account_id: &str) -> AppResult<String> {
        c.query_opt(sql!("SELECT user_id FROM pf_sso_accounts WHERE sso_account_id = :1"), &args![sso_account_id])?
            .ok_or_else(|| AppError::NotFound("That SSO link".into()))?
            .text(0)
    }
}

fn key_info(r: &dyn Row, cutoff: Timestamp) -> AppResult<KeyInfo> {
    let created_at = r.opt_time(5)?;
    let last_rotated = r.opt_time(6)?;
    Ok(KeyInfo {
        user_id: UserId(r.text(0)?),
        username: r.text(1)?,
        algorithm: r.opt_text(2)?.unwrap_or_else(|| ALGORITHM.into()),
        rotation_count: r.opt_int(3)?.unwrap_or(0),
        master_key_id: r.opt_text(4)?,
        overdue: last_rotated.or(created_at).is_none_or(|t| t < cutoff),
        created_at,
        last_rotated,
    })
}

fn cutoff(rotation_days: u32) -> Timestamp {
    chrono::Utc::now() - chrono::Duration::days(i64::from(rotation_days))
}

/// The inventory's cursor: the key's age key and its user, `<micros>|<user id>`.
fn inventory_cursor(k: &KeyInfo) -> Option<String> {
    k.last_rotated.or(k.created_at).map(|t| format!("{}|{}", t.timestamp_micros(), k.user_id.0))
}

fn parse_inventory_cursor(raw: &str) -> AppResult<(Timestamp, String)> {
    let bad = || AppError::invalid("That page link is not valid: start from the first page.");
    let (t, id) = raw.split_once('|').ok_or_else(bad)?;
    let t = chrono::DateTime::from_timestamp_micros(t.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((t, id.to_string()))
}

impl Store {
    /// The user's sensitive fields in the clear, by column name, with no audit row
    /// of their own: for a read that is audited as a whole (a subject-access export).
    pub(super) fn sensitive_in_clear(&self, user_id: &UserId) -> AppResult<Vec<(&'static str, Option<String>)>> {
        let v = self.read(|c| self.read_fields(c, &users_table(), user_id.as_str(), user_id.as_str()))?;
        // The first four: the MFA secret is a credential, never exported.
        Ok(USER_COLUMNS[..4].iter().copied().zip(v.into_iter().chain(std::iter::repeat(None))).collect())
    }
}

impl KeyStore for Store {
    fn set_sensitive_fields(&self, user_id: &UserId, fields: &SensitiveFields, audit: &AuditEntry) -> AppResult<()> {
        let f = fields.validated()?;
        let new: Vec<_> = f.values().into_iter().cloned().enumerate().collect();
        self.write_audited(audit, |c| {
            self.replace_fields(c, &users_table(), user_id.as_str(), user_id.as_str(), &new)?;
            Self::touch_user(c, user_id.as_str())
        })
    }

    fn read_sensitive_fields(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<SensitiveFields> {
        let v =
            self.write_audited(audit, |c| self.read_fields(c, &users_table(), user_id.as_str(), user_id.as_str()))?;
        let mut v = v.into_iter();
        let mut next = || v.next().flatten();
        Ok(SensitiveFields { phone_number: next(), date_of_birth: next(), gender: next(), nationality: next() })
    }

    fn set_mfa_secret(&self, user_id: &UserId, secret: Option<&str>, audit: &AuditEntry) -> AppResult<()> {
        let secret = pathfinder::validation::optional_text("MFA secret", secret, 255)?;
        self.write_audited(audit, |c| self.store_mfa_secret(c, user_id, secret.clone()))
    }

    fn mfa_secret(&self, user_id: &UserId) -> AppResult<Option<String>> {
        self.read(|c| self.load_mfa_secret(c, user_id))
    }

    fn set_sso_tokens(
        &self,
        sso_account_id: &str,
        access_token: Option<&str>,
        refresh_token: Option<&str>,
        audit: &AuditEntry,
    ) -> AppResult<()> {
        use pathfinder::validation::optional_text;
        // The seed's widths: the ciphertext columns hold the encrypted form of these.
        let access = optional_text("access token", access_token, 2000)?;
        let refresh = optional_text("refresh token", refresh_token, 2000)?;
        self.write_audited(audit, |c| {
            let owner = Self::sso_owner(c, sso_account_id)?;
            self.replace_fields(c, &sso_table(), &owner, sso_account_id, &[(0, access.clone()), (1, refresh.clone())])
        })
    }

    fn sso_tokens(&self, sso_account_id: &str) -> AppResult<(Option<String>, Option<String>)> {
        let v = self.read(|c| {
            let owner = Self::sso_owner(c, sso_account_id)?;
            self.read_fields(c, &sso_table(), &owner, sso_account_id)
        })?;
        let mut v = v.into_iter();
        Ok((v.next().flatten(), v.next().flatten()))
    }

    fn rotate_user_key(&self, user_id: &UserId, audit: &AuditEntry) -> AppResult<KeyInfo> {
        let id = user_id.as_str();
        self.write_audited(audit, |c| {
            Self::lock_owner(c, id)?;
            let old = self
                .data_key(c, id)?
                .ok_or_else(|| AppError::NotFound("That user's data key (they have no encrypted fields)".into()))?;
            crash::point("key.rotate.unwrapped");
            let new = DataKey::generate(old.version() + 1);
            for table in [users_table(), sso_table()] {
                for row in table.rows_of(c, id)? {
                    let plain = table.open(Some(&old), &row)?;
                    table.store(c, &new, &row.id, &plain)?;
                }
            }
            crash::point("key.rotate.fields_written");
            let w = new.wrap(&self.keyring, id)?;
            c.execute(
                sql!(
                    "UPDATE pf_encryption_keys SET key_encrypted = :1, key_salt = :2, master_key_id = :3,
                     rotation_count = :4, last_rotated = :5 WHERE user_id = :6"
                ),
                &args![w.key_encrypted, w.key_salt, w.master_key_id, new.version(), chrono::Utc::now(), id],
            )?;
            crash::point("key.rotate.key_written");
            self.key_row(c, id, Timestamp::MIN_UTC)?.ok_or_else(|| AppError::internal("the rotated key is gone"))
        })
        .inspect(|_| crash::point("key.rotate.committed"))
    }

    fn rotation_due(&self, scope: RotationScope) -> AppResult<u64> {
        if self.read(|c| jobs::running_since(c, ROTATION_JOB))?.is_some() {
            return Err(AppError::Conflict("A key rotation is already running.".into()));
        }
        let due = self.count_due(match scope {
            RotationScope::Overdue { rotation_days } => RotationScope::Overdue { rotation_days: rotation_days.max(1) },
            RotationScope::All => RotationScope::All,
        })?;
        Ok(u64::try_from(due).unwrap_or_default())
    }

    fn rotate_keys(
        &self,
        scope: RotationScope,
        audit: &AuditEntry,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> AppResult<RotationRun> {
        let now = Utc::now();
        if !self.begin_job(ROTATION_JOB, now + ROTATION_LEASE, None, audit)? {
            return Err(AppError::Conflict(
                "A key rotation is already running (on this or another console instance); it shows on the Keys page."
                    .into(),
            ));
        }
        let started = std::time::Instant::now();
        let walked = self.rotate_each(scope, audit, progress);
        let millis = started.elapsed().as_millis() as i64;
        let failures = |run: &RotationRun| format!("{} of the keys could not be rotated", run.failed);
        match &walked {
            // Told to stop: each key went in its own transaction, so the run can stop
            // anywhere; the next goes on with the keys not rotated yet.
            Ok(run) if run.interrupted => {
                let mut note =
                    format!("Stopped midway after rotating {} keys; the next run rotates the rest.", run.rotated);
                if run.failed > 0 {
                    note = format!("{note} {}.", failures(run));
                }
                self.stop_job(ROTATION_JOB, audit, millis, note)?;
            }
            _ => {
                self.end_job(ROTATION_JOB, audit, millis, walked.as_ref().map(|r| (r.failed > 0).then(|| failures(r))))?
            }
        }
        walked
    }

    fn rewrap_keys(&self, after: Option<&str>, limit: u32, audit: &AuditEntry) -> AppResult<BatchStep> {
        let current = self.keyring.current()?.id().to_string();
        self.write(|c| {
            let rows = c.query(
                sql!("SELECT user_id, key_encrypted, key_salt, rotation_count, master_key_id FROM pf_encryption_keys
                             WHERE (:1 IS NULL OR user_id > :2) ORDER BY user_id", limit ":3"),
                &args![after, after, i64::from(limit)],
            )?;
            let (mut changed, mut failed) = (0, 0);
            for r in &rows {
                let user_id = r.text(0)?;
                let wrapped = WrappedKey {
                    key_encrypted: r.text(1)?,
                    key_salt: r.text(2)?,
                    master_key_id: r.opt_text(4)?.unwrap_or_default(),
                };
                if wrapped.master_key_id == current {
                    continue;
                }
                // A key that does not unwrap is left as it is and reported: one damaged
                // row must not hold back the rotation of every other.
                let key = match DataKey::unwrap(&self.keyring, &wrapped, &user_id, r.opt_int(3)?.unwrap_or(0)) {
                    Ok(key) => key,
                    Err(e) => {
                        tracing::error!(user_id = %user_id, error = %e, "data key not re-wrapped");
                        failed += 1;
                        continue;
                    }
                };
                let w = key.wrap(&self.keyring, &user_id)?;
                // Only if the row is as read: a rotation another instance committed
                // since (with its own, newer key) is not overwritten with the old key.
                changed += c.execute(
                    sql!(
                        "UPDATE pf_encryption_keys SET key_encrypted = :1, key_salt = :2, master_key_id = :3
                         WHERE user_id = :4 AND key_encrypted = :5"
                    ),
                    &args![w.key_encrypted, w.key_salt, w.master_key_id, &user_id, &wrapped.key_encrypted],
                )?;
            }
            let next = match rows.last() {
                Some(r) if rows.len() as u32 == limit => Some(r.text(0)?),
                _ => None,
            };
            if changed > 0 {
                crash::point("key.rewrap.batch_written");
                let last = rows.last().map(|r| r.text(0)).transpose()?;
                audit::append::insert(c, &AuditEntry { entity_id: last, ..audit.clone() })?;
            }
            Ok(BatchStep { scanned: rows.len() as u64, changed, failed, next })
        })
        .inspect(|_| crash::point("key.rewrap.committed"))
    }

    fn seal_plaintext(&self, after: Option<&str>, limit: u32, audit: &AuditEntry) -> AppResult<BatchStep> {
        // Found before the write lock is taken: with nothing to seal the scan reads
        // every user (6.7 s at a million), and every writer of every instance waited
        // for it. A row changed since is sealed as it is then (`seal_user` reads it
        // under the lock).
        let ids = self.read(|c| {
            c.query_map(
                sql!("SELECT u.user_id FROM pf_users u WHERE (:1 IS NULL OR u.user_id > :2)
                             AND (u.phone_number IS NOT NULL OR u.date_of_birth IS NOT NULL OR u.gender IS NOT NULL
                                  OR u.nationality IS NOT NULL OR u.mfa_secret IS NOT NULL
                                  OR EXISTS (SELECT 1 FROM pf_sso_accounts s WHERE s.user_id = u.user_id
                                             AND (s.access_token IS NOT NULL OR s.refresh_token IS NOT NULL)))
                             ORDER BY u.user_id", limit ":3"),
                &args![after, after, i64::from(limit)],
                |r| r.text(0),
            )
        })?;
        if ids.is_empty() {
            return Ok(BatchStep { scanned: 0, changed: 0, failed: 0, next: None });
        }
        self.write(|c| {
            let (mut changed, mut failed) = (0, 0);
            for id in &ids {
                // Rewriting a row folds its plaintext in (see `SealedTable`). A user whose
                // stored ciphertext does not open is reported and left as found: it
                // fails before anything of theirs is written.
                match self.seal_user(c, id) {
                    Ok(()) => changed += 1,
                    Err(AppError::Conflict(e)) => {
                        tracing::error!(user_id = %id, error = %e, "plaintext left unsealed");
                        failed += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
            if changed > 0 {
                audit::append::insert(c, &AuditEntry { entity_id: ids.last().cloned(), ..audit.clone() })?;
            }
            let next = match ids.last() {
                Some(last) if ids.len() as u32 == limit => Some(last.clone()),
                _ => None,
            };
            Ok(BatchStep { scanned: ids.len() as u64, changed, failed, next })
        })
    }

    fn keys_by_master_key(&self) -> AppResult<Vec<StatusCount>> {
        // Grouped by the column itself, so SQLite walks idx_enc_keys_master in order
        // (a COALESCE in the GROUP BY sorted every key in a temporary b-tree: 5× slower).
        let mut counts = self.read(|c| {
            c.query_map(
                sql!("SELECT master_key_id, COUNT(*) FROM pf_encryption_keys GROUP BY master_key_id"),
                &[],
                |r| Ok(StatusCount { status: r.opt_text(0)?.unwrap_or_else(|| "unknown".into()), count: r.int(1)? }),
            )
        })?;
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.status.cmp(&b.status)));
        Ok(counts)
    }

    fn key_counts(&self, rotation_days: u32) -> AppResult<KeyCounts> {
        let by_master_key = self.keys_by_master_key()?;
        let overdue = self.count_due(RotationScope::Overdue { rotation_days })?;
        Ok(KeyCounts {
            total: by_master_key.iter().map(|m| m.count).sum(),
            overdue,
            rotation_days,
            by_master_key,
            as_of: chrono::Utc::now(),
        })
    }

    fn key_of(&self, user_id: &UserId, rotation_days: u32) -> AppResult<Option<KeyInfo>> {
        self.read(|c| self.key_row(c, user_id.as_str(), cutoff(rotation_days)))
    }

    fn key_inventory(&self, rotation_days: u32, after: Option<&str>, limit: u32) -> AppResult<KeyInventory> {
        let cut = cutoff(rotation_days);
        let (after_t, after_id) = match after.filter(|a| !a.is_empty()) {
            Some(a) => {
                let (t, id) = parse_inventory_cursor(a)?;
                (Some(t), Some(id))
            }
            None => (None, None),
        };
        let limit = limit.clamp(1, 500);
        self.read(|c| {
            let mut keys = c.query_map(
                sql!("SELECT k.user_id, u.username, k.algorithm, k.rotation_count, k.master_key_id, k.created_at,
                             k.last_rotated FROM pf_encryption_keys k JOIN pf_users u ON u.user_id = k.user_id
                             WHERE (:1 IS NULL OR COALESCE(k.last_rotated, k.created_at) > :2
                                    OR (COALESCE(k.last_rotated, k.created_at) = :3 AND k.user_id > :4))
                             ORDER BY COALESCE(k.last_rotated, k.created_at), k.user_id", limit ":5"),
                &args![after_t, after_t, after_t, after_id, i64::from(limit) + 1],
                |r| key_info(r, cut),
            )?;
            let more = keys.len() > limit as usize;
            keys.truncate(limit as usize);
            let next_cursor = if more { keys.last().and_then(inventory_cursor) } else { None };
            Ok(KeyInventory {
                rotation_days,
                current_master_key: self.keyring.current_id().map(str::to_string),
                keys: Page { items: keys, next_cursor },
                rotation_job: jobs::last_run(c, ROTATION_JOB)?,
                rotation_running_since: jobs::running_since(c, ROTATION_JOB)?,
            })
        })
    }
}

/// The job of rotation runs in `pf_console_jobs`.
const ROTATION_JOB: &str = "key_rotation";
/// A run that dies holds the job this long at most; a live one renews it well before.
const ROTATION_LEASE: chrono::Duration = chrono::Duration::minutes(2);
const ROTATION_RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(20);
const ROTATION_PAGE: u32 = 200;

impl Store {
    /// How many keys a run of `scope` rotates: every key, or those overdue (a range of
    /// `idx_enc_keys_rotated`).
    fn count_due(&self, scope: RotationScope) -> AppResult<i64> {
        self.read(|c| match scope {
            RotationScope::All => c.query_int(sql!("SELECT COUNT(*) FROM pf_encryption_keys"), &[]),
            RotationScope::Overdue { rotation_days } => c.query_int(
                sql!(
                    "SELECT COUNT(*) FROM pf_encryption_keys
                     WHERE COALESCE(last_rotated, created_at) < :1 OR COALESCE(last_rotated, created_at) IS NULL"
                ),
                &args![cutoff(rotation_days)],
            ),
        })
    }

    /// The users of `scope` after `after` (in id order), a page of them, and where the
    /// next page starts. A rotated key is behind the walk, so it is not met again.
    fn rotation_targets(&self, scope: RotationScope, after: Option<&str>) -> AppResult<(Vec<String>, Option<String>)> {
        let before = match scope {
            // Every key: a cutoff no key reaches (Oracle's timestamps end in 9999).
            RotationScope::All => chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .ok_or_else(|| AppError::internal("the end of time"))?,
            RotationScope::Overdue { rotation_days } => cutoff(rotation_days),
        };
        let ids = self.read(|c| {
            c.query_map(
                sql!("SELECT user_id FROM pf_encryption_keys WHERE (:1 IS NULL OR user_id > :2)
                             AND (COALESCE(last_rotated, created_at) IS NULL OR COALESCE(last_rotated, created_at) < :3)
                             ORDER BY user_id", limit ":4"),
                &args![after, after, before, i64::from(ROTATION_PAGE)],
                |r| r.text(0),
            )
        })?;
        let next = match ids.last() {
            Some(last) if ids.len() as u32 == ROTATION_PAGE => Some(last.clone()),
            _ => None,
        };
        Ok((ids, next))
    }

    /// The work of a rotation run, under the job's lease.
    fn rotate_each(
        &self,
        scope: RotationScope,
        audit: &AuditEntry,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> AppResult<RotationRun> {
        let total = self.count_due(scope)? as u64;
        let (mut run, mut done, mut after) = (RotationRun::default(), 0u64, None::<String>);
        let mut renewed = std::time::Instant::now();
        loop {
            let (ids, next) = self.rotation_targets(scope, after.as_deref())?;
            let last = ids.len();
            for (i, id) in ids.into_iter().enumerate() {
                let user = AuditEntry {
                    action: "key.rotate".into(),
                    entity_type: Some("user".into()),
                    entity_id: Some(id.clone()),
                    ..audit.clone()
                };
                match self.rotate_user_key(&UserId(id.clone()), &user) {
                    Ok(_) => run.rotated += 1,
                    Err(e) => {
                        tracing::error!(user_id = %id, error = %e, "key rotation failed");
                        run.failed += 1;
                    }
                }
                done += 1;
                crash::point("key.rotation.key_done");
                if !progress(done, total.max(done)) {
                    // Told to stop after the last key, the run went through.
                    run.interrupted = i + 1 < last || next.is_some();
                    return Ok(run);
                }
                if renewed.elapsed() > ROTATION_RENEW_EVERY {
                    let ours =
                        self.write(|c| jobs::renew(c, ROTATION_JOB, &self.instance, Utc::now() + ROTATION_LEASE))?;
                    if !ours {
                        return Err(AppError::Conflict(
                            "The key rotation lost its lease to another instance; it stopped.".into(),
                        ));
                    }
                    renewed = std::time::Instant::now();
                }
            }
            match next {
                Some(n) => after = Some(n),
                None => return Ok(run),
            }
        }
    }
}

impl Store {
    /// The user's key; overdue when its last rotation is before `cut`.
    fn key_row(&self, c: &mut Conn, user_id: &str, cut: Timestamp) -> AppResult<Option<KeyInfo>> {
        c.query_opt(
            sql!(
                "SELECT k.user_id, u.username, k.algorithm, k.rotation_count, k.master_key_id, k.created_at,
                 k.last_rotated FROM pf_encryption_keys k JOIN pf_users u ON u.user_id = k.user_id WHERE k.user_id = :1"
            ),
            &args![user_id],
        )?
        .map(|r| key_info(&r, cut))
        .transpose()
    }

    /// Destroys the user's data key (in the caller's transaction).
    pub(super) fn shred_key(c: &mut Conn, user_id: &str) -> AppResult<()> {
        c.execute(sql!("DELETE FROM pf_encryption_keys WHERE user_id = :1"), &args![user_id])?;
        Ok(())
    }
}
