//! Session tokens: HS256 JWTs whose claims are all required and checked.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pathfinder::{AppError, AppResult, SessionId, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "pathfinder-admin";
pub const AUDIENCE: &str = "pathfinder-admin-console";
/// Clock skew tolerated on exp.
pub const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub nbf: i64,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Keys the tags of unknown usernames in audit rows (derived from the same secret,
    /// so every instance tags a name alike).
    name_key: [u8; 32],
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> AppResult<Self> {
        if secret.len() < 32 {
            return Err(AppError::invalid("The JWT secret must be at least 32 bytes long."));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["sub", "iss", "aud", "nbf", "exp"]);
        // Not `nbf`: our tokens are valid from their issue, and only we sign them. A
        // clock stepped back (NTP, a restored VM), or an instance behind the one that
        // signed a token, would otherwise sign out everyone who signed in since; the
        // session's row in the database is what ends a session.
        validation.validate_nbf = false;
        validation.validate_exp = true;
        validation.leeway = LEEWAY_SECS;
        let name_key = Sha256::new().chain_update(b"pathfinder audit name tags").chain_update(secret).finalize().into();
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            name_key,
        })
    }

    pub fn issue(&self, user: &UserId, session: &SessionId, now: i64, ttl_secs: i64) -> AppResult<String> {
        let claims = Claims {
            sub: user.0.clone(),
            sid: session.0.clone(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            nbf: now,
            iat: now,
            exp: now + ttl_secs,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AppError::internal)
    }

    /// The claims of a valid token; `None` for anything else (bad signature, wrong
    /// algorithm, audience or issuer, expired, malformed).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        match decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => Some(data.claims),
            Err(e) => {
                tracing::debug!(error = %e, "session token refused");
                None
            }
        }
    }
}

impl TokenKeys {
    /// A keyed tag of a name typed at sign-in (HMAC-SHA256, 16 hex digits): reviewers
    /// can see that attempts used the same unknown name without the audit log
    /// keeping what was typed (it may be a password typed into the wrong box).
    pub fn name_tag(&self, name: &str) -> String {
        use hmac::{Mac, SimpleHmac};
        let mut mac = match SimpleHmac::<Sha256>::new_from_slice(&self.name_key) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(name.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..8])
    }
}

pub use pathfinder::secret::{new_token as new_secret, token_hash};

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn round_trip_and_refusals() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let t = k.issue(&UserId::new(), &SessionId::new(), now, 600).unwrap();
        assert!(k.verify(&t).is_some());
        // Expired beyond the leeway.
        let old = k.issue(&UserId::new(), &SessionId::new(), now - 7200, 600).unwrap();
        assert!(k.verify(&old).is_none());
        // Signed by a clock an hour ahead (or before this one stepped back): ours, valid.
        let ahead = k.issue(&UserId::new(), &SessionId::new(), now + 3600, 600).unwrap();
        assert!(k.verify(&ahead).is_some());
        // Another key.
        assert!(TokenKeys::new(&[8u8; 32]).unwrap().verify(&t).is_none());
        assert!(TokenKeys::new(b"short").is_err());
    }

    #[test]
    fn name_tags_are_keyed_and_stable() {
        let k = keys();
        assert_eq!(k.name_tag("alice"), k.name_tag("alice"));
        assert_ne!(k.name_tag("alice"), k.name_tag("alicf"));
        assert_ne!(k.name_tag("alice"), TokenKeys::new(&[8u8; 32]).unwrap().name_tag("alice"));
        assert_eq!(k.name_tag("alice").len(), 16);
    }
}
