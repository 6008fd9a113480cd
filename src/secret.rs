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
