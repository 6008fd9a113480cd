//! TOTP (RFC 6238, the `totp-rs` crate: SHA-1, six digits, 30-second steps, one
//! step of clock skew either way) and recovery codes. The QR code of the setup is
//! drawn as SVG on the server (`qrcode` crate), so no page code grows for it.

use crate::storage::SecondFactor;
use crate::{AppError, AppResult};
use totp_rs::{Secret, Totp};

const ISSUER: &str = "Pathfinder Admin";
pub const RECOVERY_CODES: usize = 10;

/// A new random secret (160 bits), base32 as authenticator apps take it.
pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret: &str, account: &str) -> AppResult<Totp> {
    let secret = Secret::try_from_base32(secret).map_err(AppError::internal)?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(AppError::internal)
}

/// The `otpauth://` link of the secret and its QR code as SVG.
pub fn setup_qr(secret: &str, account: &str) -> AppResult<String> {
    let url = totp(secret, account)?.to_url().map_err(AppError::internal)?;
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(AppError::internal)?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build())
}

/// The step of `code` if it is a valid TOTP code of `secret` at `unix_secs` and
/// later than `last_step` (a code is accepted once).
pub fn check_code(secret: &str, code: &str, unix_secs: u64, last_step: Option<i64>) -> AppResult<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let step = totp(secret, "check")?.check(&code, unix_secs).and_then(|s| i64::try_from(s).ok());
    Ok(step.filter(|s| last_step.is_none_or(|last| *s > last)))
}

/// Ten new recovery codes, each twelve characters of base32 in three groups (60
/// bits): shown once; the database keeps their hashes.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw = Secret::generate().to_base32().to_ascii_lowercase();
            format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
        })
        .collect()
}

/// What the database keeps of a recovery code: typed with or without dashes, in
/// either case.
pub fn recovery_hash(code: &str) -> String {
    let normal: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    crate::secret::token_hash(&normal)
}

/// Whether `code` looks like a recovery code rather than a TOTP code.
pub fn is_recovery_code(code: &str) -> bool {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 12
}

/// The second factor `code` gives for an account with `secret`: a fresh TOTP step,
/// or a recovery code that `unused` says is not used yet.
pub fn second_factor(
    secret: Option<&str>,
    code: &str,
    unix_secs: u64,
    last_step: Option<i64>,
    unused: impl FnOnce(&str) -> AppResult<bool>,
) -> AppResult<Option<SecondFactor>> {
    if is_recovery_code(code) {
        let code_hash = recovery_hash(code);
        return Ok(unused(&code_hash)?.then_some(SecondFactor::Recovery { code_hash }));
    }
    let Some(secret) = secret else { return Ok(None) };
    Ok(check_code(secret, code, unix_secs, last_step)?.map(|step| SecondFactor::Totp { step }))
}

/// The current code of `secret` (for tests and the setup's own check).
pub fn current_code(secret: &str, unix_secs: u64) -> AppResult<String> {
    Ok(totp(secret, "now")?.generate(unix_secs).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_accepted_once_and_only_within_its_window() {
        let secret = new_secret();
        let t = 1_700_000_000;
        let code = current_code(&secret, t).unwrap();
        let step = check_code(&secret, &code, t, None).unwrap().expect("valid now");
        assert_eq!(check_code(&secret, &code, t + 30, None).unwrap(), Some(step), "one step of skew");
        assert_eq!(check_code(&secret, &code, t + 120, None).unwrap(), None, "too late");
        assert_eq!(check_code(&secret, &code, t, Some(step)).unwrap(), None, "no replay");
        assert_eq!(check_code(&secret, "12345", t, None).unwrap(), None);
        assert_eq!(check_code(&secret, &format!("{} {}", &code[..3], &code[3..]), t, None).unwrap(), Some(step));
    }

    #[test]
    fn recovery_codes_are_random_and_hash_however_they_are_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes.iter().collect::<std::collections::BTreeSet<_>>().len(), RECOVERY_CODES);
        let c = &codes[0];
        assert!(is_recovery_code(c) && !is_recovery_code("123456"));
        assert_eq!(recovery_hash(c), recovery_hash(&c.to_uppercase().replace('-', "")));
        assert!(setup_qr(&new_secret(), "alice").unwrap().starts_with("<?xml"));
    }
}
