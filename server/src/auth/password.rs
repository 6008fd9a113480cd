//! Argon2id password hashes (PHC strings, default parameters of the `argon2` crate).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use pathfinder::{AppError, AppResult};
use std::sync::LazyLock;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub fn validate(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(format!("The password must be at least {MIN_PASSWORD_CHARS} characters long.")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::invalid(format!("The password must be at most {MAX_PASSWORD_BYTES} bytes long.")));
    }
    Ok(())
}

pub fn hash(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(AppError::internal)
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub fn verify(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "stored password hash is malformed");
            false
        }
    }
}

/// A hash to verify against when the username does not exist, so that the answer
/// takes as long as for a wrong password.
pub static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("not a real password, only for timing").unwrap_or_default());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_argon2id() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&h, "correct horse battery"));
        assert!(!verify(&h, "correct horse batterz"));
        assert!(!verify("garbage", "x"));
        assert!(validate("short").is_err());
    }
}
