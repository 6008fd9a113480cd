//! Random secrets for cookies and links, and what the database keeps of them.

use sha2::{Digest, Sha256};

/// A new random secret (256 bits, hex).
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// What the database keeps instead of a secret: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The flag API's keys start so, to be recognised in a leaked file.
pub const API_KEY_PREFIX: &str = "pfk_";

/// A new API key: its secret (shown once), its SHA-256 and its first characters
/// (what the database keeps).
pub fn new_api_key() -> (String, String, String) {
    let secret = format!("{API_KEY_PREFIX}{}", new_token());
    let hash = token_hash(&secret);
    let prefix = secret.chars().take(12).collect();
    (secret, hash, prefix)
}
