//! Argon2id password hashes (PHC strings, default parameters of the `argon2` crate).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

thread_local! {
    /// Argon2's working memory (19 MiB with the default parameters), kept per thread:
    /// allocating it afresh for every check fragmented the heap until the server held
    /// over 400 MB after a few hundred sign-ins. Checks run on a few threads of their
    /// own (`auth::login`), so this is a fixed few times 19 MiB.
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` matches `phc`. A stored hash that is not a valid Argon2 PHC
/// string never matches, after the same work as one that is (a check of the dummy
/// hash): the time of an answer never tells which kind of account was asked about.
pub fn verify(phc: &str, password: &str) -> bool {
    match check(phc, password) {
        Ok(matches) => matches,
        Err(e) => {
            tracing::error!(error = %e, "stored password hash is malformed or not Argon2");
            let _ = check(&DUMMY_HASH, password);
            false
        }
    }
}

fn check(phc: &str, password: &str) -> Result<bool, argon2::password_hash::Error> {
    use argon2::password_hash::Error;
    let parsed = PasswordHash::new(phc)?;
    let params = Params::try_from(&parsed)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Err(Error::PhcStringField) };
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let mut out = vec![0u8; expected.len()];
    MEMORY.with_borrow_mut(|memory| {
        memory.resize(params.block_count(), Block::default());
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..])
            .map_err(|_| Error::Crypto)
    })?;
    // `Output` compares in constant time.
    Ok(argon2::password_hash::Output::new(&out)? == expected)
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
        // Other parameters than ours (a hash made elsewhere) still verify.
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 3, 1, None).unwrap());
        let salt = SaltString::generate(&mut OsRng);
        let phc = other.hash_password(b"from elsewhere!", &salt).unwrap().to_string();
        assert!(verify(&phc, "from elsewhere!") && !verify(&phc, "from elsewhere?"));
        assert!(validate("short").is_err());
    }
}
