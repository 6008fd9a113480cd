//! Envelope encryption of sensitive fields (RustCrypto's `aes-gcm` and `hkdf`; no
//! cryptography is written here, only how the pieces fit).
//!
//! - A **master key** (32 bytes) never enters the database: it comes from
//!   `PF_MASTER_KEY(_FILE)` (see `config::keyring`). Its id is the start of its SHA-256.
//! - Each user has a **data key** (32 random bytes), stored in `pf_encryption_keys`
//!   wrapped (AES-256-GCM) under a key-encryption key derived from the master key and
//!   the row's own `key_salt` (HKDF-SHA256). The wrap's associated data binds the
//!   user and the key version, so a wrapped key copied to another user's row fails.
//! - Each field is AES-256-GCM under the data key with a random 96-bit nonce; its
//!   associated data binds table, column, row id and key version, so a ciphertext
//!   moved to another row or column, or relabelled with another version, fails.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use pathfinder::{AppError, AppResult};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub const ALGORITHM: &str = "AES-256-GCM";
/// The text form's prefix: the format of ciphertexts and wrapped keys.
const FORMAT: &str = "pf1";
const NONCE_BYTES: usize = 12;
const KEY_BYTES: usize = 32;
const SALT_BYTES: usize = 16;
const WRAP_INFO: &[u8] = b"pathfinder data-key wrap v1";

/// A master key: never stored in the database, never logged.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    key: Zeroizing<[u8; KEY_BYTES]>,
}

impl MasterKey {
    /// From its text form: 64 hex digits or 32 bytes in base64.
    pub fn parse(text: &str) -> AppResult<MasterKey> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .filter(|b| b.len() == KEY_BYTES)
            .ok_or_else(|| AppError::invalid("A master key is 32 bytes, written as 64 hex digits or in base64."))?;
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        key.copy_from_slice(&bytes);
        Ok(MasterKey::from_bytes(key))
    }

    /// A new random master key.
    pub fn generate() -> MasterKey {
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        MasterKey::from_bytes(key)
    }

    fn from_bytes(key: Zeroizing<[u8; KEY_BYTES]>) -> MasterKey {
        // Identifies the key without revealing it: 8 bytes of its hash.
        let digest = Sha256::new().chain_update(b"pathfinder master key id").chain_update(key.as_ref()).finalize();
        let id = hex::encode(&digest[..8]);
        MasterKey { id, key }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The text form (hex), to write into a key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.key.as_ref()))
    }

    /// The key-encryption key of one `pf_encryption_keys` row.
    fn kek(&self, salt: &[u8]) -> AppResult<Aes256Gcm> {
        let mut okm = Zeroizing::new([0u8; KEY_BYTES]);
        hkdf::Hkdf::<Sha256>::new(Some(salt), self.key.as_ref())
            .expand(WRAP_INFO, okm.as_mut())
            .map_err(|_| AppError::internal("HKDF output length"))?;
        Aes256Gcm::new_from_slice(okm.as_ref()).map_err(AppError::internal)
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// The master keys this process holds: the current one wraps new keys; previous
/// ones still unwrap keys a master-key rotation has not reached yet.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    current: Option<MasterKey>,
    previous: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: Option<MasterKey>, previous: Vec<MasterKey>) -> Keyring {
        Keyring { current, previous }
    }

    pub fn current(&self) -> AppResult<&MasterKey> {
        self.current
            .as_ref()
            .ok_or_else(|| AppError::invalid("No master key is configured: set PF_MASTER_KEY (or PF_MASTER_KEY_FILE)."))
    }

    pub fn current_id(&self) -> Option<&str> {
        self.current.as_ref().map(MasterKey::id)
    }

    fn find(&self, id: &str) -> AppResult<&MasterKey> {
        self.current.iter().chain(&self.previous).find(|k| k.id == id).ok_or_else(|| {
            AppError::invalid(format!(
                "A data key is wrapped by master key {id}, which is not configured: set it as PF_MASTER_KEY or \
                 PF_MASTER_KEY_PREVIOUS."
            ))
        })
    }

    pub fn knows(&self, id: &str) -> bool {
        self.find(id).is_ok()
    }

    /// Every key held, current first.
    pub fn all(&self) -> Vec<MasterKey> {
        self.current.iter().chain(&self.previous).cloned().collect()
    }
}

/// A user's data key, in the clear: lives only in memory, zeroed when dropped.
pub struct DataKey {
    key: Zeroizing<[u8; KEY_BYTES]>,
    version: i64,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey(version {})", self.version)
    }
}

/// A data key as `pf_encryption_keys` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub key_encrypted: String,
    pub key_salt: String,
    pub master_key_id: String,
}

/// Where a field lives: what its ciphertext is bound to.
#[derive(Debug, Clone, Copy)]
pub struct FieldRef<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: &'a str,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn undecryptable(what: &str) -> AppError {
    AppError::Conflict(format!(
        "{what} cannot be decrypted: it was changed, moved from another row or column, or belongs to another key."
    ))
}

/// AES-256-GCM with a random nonce: `nonce ‖ ciphertext ‖ tag`, in base64.
fn seal_with(cipher: &Aes256Gcm, plaintext: &[u8], aad: &[u8]) -> AppResult<String> {
    let nonce = random::<NONCE_BYTES>();
    let mut out = nonce.to_vec();
    out.extend(cipher.encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad }).map_err(AppError::internal)?);
    Ok(B64.encode(out))
}

fn open_with(cipher: &Aes256Gcm, sealed: &str, aad: &[u8], what: &str) -> AppResult<Zeroizing<Vec<u8>>> {
    let bytes = B64.decode(sealed).map_err(|_| undecryptable(what))?;
    if bytes.len() < NONCE_BYTES + 16 {
        return Err(undecryptable(what));
    }
    let (nonce, body) = bytes.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| undecryptable(what))?;
    cipher.decrypt(&Nonce::from(nonce), Payload { msg: body, aad }).map(Zeroizing::new).map_err(|_| undecryptable(what))
}

fn wrap_aad(user_id: &str, version: i64) -> Vec<u8> {
    format!("{FORMAT}|pf_encryption_keys|{user_id}|{version}").into_bytes()
}

fn field_aad(field: FieldRef, version: i64) -> Vec<u8> {
    format!("{FORMAT}|{}|{}|{}|{version}", field.table, field.column, field.row_id).into_bytes()
}

impl DataKey {
    /// A new random data key of `version`.
    pub fn generate(version: i64) -> DataKey {
        DataKey { key: Zeroizing::new(random::<KEY_BYTES>()), version }
    }

    pub fn version(&self) -> i64 {
        self.version
    }

    fn cipher(&self) -> AppResult<Aes256Gcm> {
        Aes256Gcm::new_from_slice(self.key.as_ref()).map_err(AppError::internal)
    }

    /// Wraps the key for `user_id`'s row under the keyring's current master key, with a fresh salt.
    pub fn wrap(&self, keyring: &Keyring, user_id: &str) -> AppResult<WrappedKey> {
        let master = keyring.current()?;
        let salt = random::<SALT_BYTES>();
        let sealed = seal_with(&master.kek(&salt)?, self.key.as_ref(), &wrap_aad(user_id, self.version))?;
        Ok(WrappedKey {
            key_encrypted: format!("{FORMAT}:{}:{sealed}", master.id),
            key_salt: B64.encode(salt),
            master_key_id: master.id.clone(),
        })
    }

    /// The data key of `user_id`'s row (`version` is the row's `rotation_count`).
    pub fn unwrap(keyring: &Keyring, wrapped: &WrappedKey, user_id: &str, version: i64) -> AppResult<DataKey> {
        let what = "The user's data key";
        let mut parts = wrapped.key_encrypted.splitn(3, ':');
        let (Some(FORMAT), Some(master_id), Some(sealed)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(undecryptable(what));
        };
        let master = keyring.find(master_id)?;
        let salt = B64.decode(&wrapped.key_salt).map_err(|_| undecryptable(what))?;
        let bytes = open_with(&master.kek(&salt)?, sealed, &wrap_aad(user_id, version), what)?;
        let key: [u8; KEY_BYTES] = bytes.as_slice().try_into().map_err(|_| undecryptable(what))?;
        Ok(DataKey { key: Zeroizing::new(key), version })
    }

    /// The field's ciphertext: `pf1:<version>:<base64>`.
    pub fn seal(&self, field: FieldRef, plaintext: &str) -> AppResult<String> {
        let sealed = seal_with(&self.cipher()?, plaintext.as_bytes(), &field_aad(field, self.version))?;
        Ok(format!("{FORMAT}:{}:{sealed}", self.version))
    }

    /// The field's plaintext. A ciphertext of another key version is refused by name.
    pub fn open(&self, field: FieldRef, stored: &str) -> AppResult<String> {
        let what = format!("{}.{} of {}", field.table, field.column, field.row_id);
        let mut parts = stored.splitn(3, ':');
        let (Some(FORMAT), Some(version), Some(sealed)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(undecryptable(&what));
        };
        let version: i64 = version.parse().map_err(|_| undecryptable(&what))?;
        if version != self.version {
            return Err(AppError::Conflict(format!(
                "{what} is encrypted under key version {version}, but the user's key is version {}.",
                self.version
            )));
        }
        let bytes = open_with(&self.cipher()?, sealed, &field_aad(field, version), &what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| undecryptable(&what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FieldRef = FieldRef { table: "pf_users", column: "phone_number", row_id: "u1" };

    #[test]
    fn fields_round_trip_and_refuse_other_places_and_versions() {
        let key = DataKey::generate(0);
        let sealed = key.seal(F, "+1 555 0100").unwrap();
        assert!(sealed.starts_with("pf1:0:") && !sealed.contains("555"));
        assert_eq!(key.open(F, &sealed).unwrap(), "+1 555 0100");
        // Two seals of one value differ (random nonces).
        assert_ne!(key.seal(F, "+1 555 0100").unwrap(), sealed);
        for other in [
            FieldRef { row_id: "u2", ..F },
            FieldRef { column: "date_of_birth", ..F },
            FieldRef { table: "pf_sso_accounts", ..F },
        ] {
            assert!(matches!(key.open(other, &sealed), Err(AppError::Conflict(_))), "{other:?}");
        }
        let relabelled = sealed.replacen("pf1:0:", "pf1:1:", 1);
        let newer = DataKey { key: key.key.clone(), version: 1 };
        assert!(newer.open(F, &relabelled).is_err(), "a relabelled version fails its associated data");
        assert!(key.open(F, &relabelled).unwrap_err().to_string().contains("key version 1"));
        assert!(DataKey::generate(0).open(F, &sealed).is_err(), "another key");
    }

    #[test]
    fn wrapped_keys_need_their_master_key_user_and_version() {
        let master = MasterKey::generate();
        let ring = Keyring::new(Some(master.clone()), vec![]);
        let key = DataKey::generate(3);
        let w = key.wrap(&ring, "u1").unwrap();
        assert_eq!(w.master_key_id, master.id());
        let back = DataKey::unwrap(&ring, &w, "u1", 3).unwrap();
        assert_eq!(back.key.as_ref(), key.key.as_ref());
        assert!(DataKey::unwrap(&ring, &w, "u2", 3).is_err());
        assert!(DataKey::unwrap(&ring, &w, "u1", 2).is_err());
        let other = Keyring::new(Some(MasterKey::generate()), vec![]);
        assert!(DataKey::unwrap(&other, &w, "u1", 3).unwrap_err().to_string().contains(master.id()));
        let rotated = Keyring::new(Some(MasterKey::generate()), vec![master.clone()]);
        assert!(DataKey::unwrap(&rotated, &w, "u1", 3).is_ok(), "a previous master key still unwraps");
        assert_eq!(MasterKey::parse(&master.to_hex()).unwrap().id(), master.id());
        assert!(MasterKey::parse("too short").is_err());
    }
}
