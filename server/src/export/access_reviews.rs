//! A closed access review's report: CSV, one row per line, and its detached
//! Ed25519 signature (`ed25519-dalek`), which anyone holding the public key checks
//! without any secret of ours (`openssl pkeyutl -verify -rawin`, or
//! `pathfinder-admin access-review verify`).
//!
//! The signing key is derived from the audit key (`PF_AUDIT_KEY`, or the embedded
//! database's `.audit-key`), which every instance of one database shares: each
//! signs alike, and no new secret needs keeping. The report of a closed campaign
//! never changes, and Ed25519 signatures are deterministic, so a report downloaded
//! twice carries the same signature.

use super::neutral;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use pathfinder::access_reviews::{decision_label, CampaignView, ReportKey};
use pathfinder::{AppError, AppResult};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Separates this key from every other use of the audit key.
const DERIVE_LABEL: &[u8] = b"pathfinder access review report signing key v1";

const COLUMNS: [&str; 18] = [
    "review_id",
    "campaign",
    "scope",
    "started_at",
    "deadline",
    "closed_at",
    "close_reason",
    "username",
    "user_id",
    "role",
    "granted_at",
    "granted_by",
    "last_sign_in",
    "second_factor",
    "findings",
    "decision",
    "comment",
    "decided_by",
];

/// Signs closed campaigns' reports.
pub struct ReportSigner {
    key: SigningKey,
}

impl ReportSigner {
    pub fn from_audit_key(audit_key: &[u8]) -> ReportSigner {
        let seed = Zeroizing::new(<[u8; 32]>::from(
            Sha256::new().chain_update(DERIVE_LABEL).chain_update(audit_key).finalize(),
        ));
        ReportSigner { key: SigningKey::from_bytes(&seed) }
    }

    /// The public key as SPKI PEM (what `openssl pkeyutl -pubin` reads) and its
    /// fingerprint (SHA-256 of the raw key, hex), for the page and the README.
    pub fn public_key(&self) -> AppResult<ReportKey> {
        let vk = self.key.verifying_key();
        let pem = vk.to_public_key_pem(LineEnding::LF).map_err(AppError::internal)?;
        Ok(ReportKey { pem, fingerprint: hex::encode(Sha256::digest(vk.as_bytes())) })
    }

    /// The detached signature of `report` (64 bytes, raw: what `-sigfile` reads).
    pub fn sign(&self, report: &[u8]) -> [u8; 64] {
        self.key.sign(report).to_bytes()
    }
}

/// Checks a detached signature against a public key in SPKI PEM: the CLI's
/// `access-review verify`, and what an auditor's tool does.
pub fn verify(public_pem: &str, report: &[u8], signature: &[u8]) -> AppResult<()> {
    let key = VerifyingKey::from_public_key_pem(public_pem.trim())
        .map_err(|e| AppError::invalid(format!("That is not an Ed25519 public key in PEM: {e}")))?;
    let signature = Signature::from_slice(signature)
        .map_err(|_| AppError::invalid("A signature is 64 bytes (the raw .sig file)."))?;
    key.verify(report, &signature).map_err(|_| {
        AppError::invalid("The signature does not match: the report was changed, or signed by another key.")
    })
}

/// The report: every line of the campaign, with the campaign's own columns on each
/// row (one file says what was reviewed, when and why it closed). Lines left open
/// at the deadline say `undecided`.
pub fn report_csv(view: &CampaignView) -> AppResult<Vec<u8>> {
    let c = &view.campaign;
    if !c.is_closed() {
        return Err(AppError::Conflict("The report is made once the campaign closes.".into()));
    }
    let time = |t: &Option<pathfinder::dto::Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(AppError::internal)?;
    for l in &view.lines {
        let row: [String; 18] = [
            c.review_id.clone(),
            c.name.clone(),
            c.role.map_or("all", pathfinder::Role::as_str).to_string(),
            c.started_at.to_rfc3339(),
            c.deadline.to_rfc3339(),
            time(&c.closed_at),
            c.close_reason.map(|r| r.as_str()).unwrap_or_default().to_string(),
            l.username.clone(),
            l.user_id.clone(),
            l.role.as_str().to_string(),
            time(&l.granted_at),
            l.granted_by.clone().unwrap_or_default(),
            time(&l.last_sign_in),
            if l.second_factor { "yes" } else { "no" }.to_string(),
            l.findings.clone(),
            decision_label(l).to_string(),
            l.comment.clone().unwrap_or_default(),
            l.decided_by.clone().unwrap_or_default(),
        ];
        w.write_record(row.iter().map(|cell| neutral(cell).into_owned())).map_err(AppError::internal)?;
    }
    w.into_inner().map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_checks_with_the_public_key_only() {
        let signer = ReportSigner::from_audit_key(b"a test audit key of thirty-two chars");
        let key = signer.public_key().unwrap();
        assert!(key.pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{}", key.pem);
        let sig = signer.sign(b"report");
        assert!(verify(&key.pem, b"report", &sig).is_ok());
        assert!(verify(&key.pem, b"report!", &sig).is_err(), "a changed report fails");
        let other = ReportSigner::from_audit_key(b"another audit key of thirty-two chars").public_key().unwrap();
        assert_ne!(other.fingerprint, key.fingerprint);
        assert!(verify(&other.pem, b"report", &sig).is_err(), "another key fails");
        assert!(verify("not a key", b"report", &sig).is_err());
        assert!(verify(&key.pem, b"report", &sig[..10]).is_err());
        // The same key from the same audit key: every instance signs alike.
        assert_eq!(ReportSigner::from_audit_key(b"a test audit key of thirty-two chars").sign(b"report"), sig);
    }
}
