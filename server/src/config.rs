//! Configuration: command-line flags, each with a `PF_*` environment variable
//! (see `cli.rs`); secrets can come from `PF_*_FILE`. The database URL type never
//! shows its password when printed or logged.

use crate::crypto::{Keyring, MasterKey};
use pathfinder::AppError;
use std::fmt;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE_URL: &str = "sqlite:data/pathfinder.db";

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Oracle(OracleUrl),
}

#[derive(Clone, PartialEq, Eq)]
pub struct OracleUrl {
    pub user: String,
    pub password: String,
    /// EZConnect string: `host:port/service`.
    pub connect_string: String,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if let Some(path) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(AppError::invalid(
                    "The sqlite: database URL needs a file path, as in sqlite:data/pathfinder.db.",
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("oracle://") {
            let bad =
                || AppError::invalid("An Oracle database URL looks like oracle://user:password@host:1521/service.");
            let url = url::Url::parse(raw).map_err(|_| bad())?;
            let host = url.host_str().ok_or_else(bad)?;
            let service = url.path().trim_start_matches('/');
            if url.username().is_empty() || service.is_empty() {
                return Err(bad());
            }
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            return Ok(DatabaseUrl::Oracle(OracleUrl {
                user: decode(url.username()),
                password: decode(url.password().unwrap_or("")),
                connect_string: format!("{host}:{}/{service}", url.port().unwrap_or(1521)),
            }));
        }
        Err(AppError::invalid("The database URL must start with sqlite: or oracle://."))
    }

    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Oracle(_) => "oracle",
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            DatabaseUrl::Oracle(o) => write!(f, "oracle://{}:***@{}", o.user, o.connect_string),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A secret given directly or as a path in `<NAME>_FILE`.
pub fn secret_from_env(name: &str) -> Result<Option<String>, AppError> {
    if let Ok(v) = std::env::var(name) {
        return Ok(Some(v));
    }
    match std::env::var(format!("{name}_FILE")) {
        Ok(path) => std::fs::read_to_string(&path)
            .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_string()))
            .map_err(|e| AppError::invalid(format!("Cannot read {name}_FILE ({path}): {e}."))),
        Err(_) => Ok(None),
    }
}

/// The master keys of field encryption (`crate::crypto`): `PF_MASTER_KEY(_FILE)` wraps
/// new data keys; `PF_MASTER_KEY_PREVIOUS(_FILE)` still unwraps the keys a master-key
/// rotation has not re-wrapped yet. For SQLite without `PF_MASTER_KEY`, a random key
/// kept in `.master-key` beside the database (made on first use, like the JWT
/// secret). Oracle has no default: `serve` refuses to start without the key once
/// encrypted data exists.
pub fn keyring(url: &DatabaseUrl) -> Result<Keyring, AppError> {
    keyring_with(url, |files| files.current().map(Some))
}

/// The master keys as [`keyring`] finds them, making none: for work that may run on
/// a copy of a database and must leave its folder as it was (a verification).
pub fn existing_keyring(url: &DatabaseUrl) -> Result<Keyring, AppError> {
    keyring_with(url, |files| match std::fs::read_to_string(&files.current) {
        Ok(text) => read_master_key(&text, &files.current).map(Some),
        Err(_) => Ok(None),
    })
}

/// The keyring from the environment, else from the files beside an embedded
/// database, its current key as `current` finds it.
fn keyring_with(
    url: &DatabaseUrl,
    current: impl FnOnce(&MasterKeyFiles) -> Result<Option<MasterKey>, AppError>,
) -> Result<Keyring, AppError> {
    let mut previous: Vec<MasterKey> =
        secret_from_env("PF_MASTER_KEY_PREVIOUS")?.map(|k| MasterKey::parse(&k)).transpose()?.into_iter().collect();
    let current = match (secret_from_env("PF_MASTER_KEY")?, url) {
        (Some(k), _) => Some(MasterKey::parse(&k)?),
        (None, DatabaseUrl::Sqlite(path)) => {
            let files = MasterKeyFiles::beside(path);
            previous.extend(files.others()?);
            current(&files)?
        }
        (None, DatabaseUrl::Oracle(_)) => None,
    };
    Ok(Keyring::new(current, previous))
}

/// The embedded default's master key files beside the database: `.master-key`, and
/// during and after a master-key rotation `.master-key.next` and `.master-key.previous`.
pub struct MasterKeyFiles {
    pub current: PathBuf,
    pub next: PathBuf,
    pub previous: PathBuf,
}

impl MasterKeyFiles {
    pub fn beside(database: &Path) -> MasterKeyFiles {
        let named = |n: &str| database.with_file_name(n);
        MasterKeyFiles {
            current: named(".master-key"),
            next: named(".master-key.next"),
            previous: named(".master-key.previous"),
        }
    }

    /// The current key; made on first use. A rotation that crashed between its two
    /// renames left `.next` alone: it is promoted first.
    fn current(&self) -> Result<MasterKey, AppError> {
        if !self.current.exists() && self.next.exists() {
            std::fs::rename(&self.next, &self.current)
                .map_err(|e| AppError::invalid(format!("Cannot rename {}: {e}.", self.next.display())))?;
        }
        read_master_key(&secret_beside(&self.current, || MasterKey::generate().to_hex().to_string())?, &self.current)
    }

    /// The keys of `.next` and `.previous`, where they exist.
    fn others(&self) -> Result<Vec<MasterKey>, AppError> {
        let mut keys = Vec::new();
        for file in [&self.next, &self.previous] {
            if let Ok(text) = std::fs::read_to_string(file) {
                keys.push(read_master_key(&text, file)?);
            }
        }
        Ok(keys)
    }

    /// After a rotation: the current key becomes the previous one, the next one current.
    pub fn promote_next(&self) -> std::io::Result<()> {
        std::fs::rename(&self.current, &self.previous)?;
        std::fs::rename(&self.next, &self.current)?;
        sync_folder_of(&self.current)
    }
}

fn read_master_key(text: &str, file: &Path) -> Result<MasterKey, AppError> {
    MasterKey::parse(text)
        .map_err(|_| AppError::invalid(format!("{} does not hold a master key (64 hex digits).", file.display())))
}

/// The key that signs the audit log's checkpoints (`storage/audit/chain.rs`): from
/// `PF_AUDIT_KEY(_FILE)`, else for the embedded default `.audit-key` beside the
/// database (made on first use). With Oracle there is no default: `None` (serve
/// refuses to start without it; `audit verify` then cannot check checkpoints).
pub fn audit_key(url: &DatabaseUrl) -> Result<Option<Vec<u8>>, AppError> {
    if let Some(k) = secret_from_env("PF_AUDIT_KEY")? {
        if k.len() < 32 {
            return Err(AppError::invalid(
                "PF_AUDIT_KEY must be at least 32 characters (64 hex digits make a good one).",
            ));
        }
        return Ok(Some(k.into_bytes()));
    }
    let DatabaseUrl::Sqlite(path) = url else { return Ok(None) };
    Ok(Some(secret_beside(&path.with_file_name(".audit-key"), random_secret)?.into_bytes()))
}

/// The audit key as [`audit_key`] finds it, making none (a verification on a copy
/// without its `.audit-key` says it could not check checkpoints).
pub fn existing_audit_key(url: &DatabaseUrl) -> Result<Option<Vec<u8>>, AppError> {
    match url {
        DatabaseUrl::Sqlite(path) if secret_from_env("PF_AUDIT_KEY")?.is_none() => {
            Ok(std::fs::read_to_string(path.with_file_name(".audit-key")).ok().map(|k| k.trim().as_bytes().to_vec()))
        }
        _ => audit_key(url),
    }
}

/// The audit chain's outside witness (`pathfinder::witness`): the file given
/// (`PF_AUDIT_WITNESS`), else `.audit-witness` beside the embedded database, where
/// its keys are. Oracle has no default (`serve` asks for one).
pub fn audit_witness(given: Option<&Path>, url: &DatabaseUrl) -> Option<pathfinder::witness::Witness> {
    match (given, url) {
        (Some(path), _) => Some(pathfinder::witness::Witness::at(path)),
        (None, DatabaseUrl::Sqlite(path)) => {
            Some(pathfinder::witness::Witness::at(path.with_file_name(".audit-witness")))
        }
        (None, DatabaseUrl::Oracle(_)) => None,
    }
}

/// 32 random bytes in hex: a new secret kept beside the database.
pub fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The secret kept in `file` (mode 0600), made by `make` when the file does not exist.
pub fn secret_beside(file: &Path, make: impl FnOnce() -> String) -> Result<String, AppError> {
    if let Ok(existing) = std::fs::read_to_string(file) {
        return Ok(existing.trim().to_string());
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::invalid(format!("Cannot create the folder {}: {e}.", dir.display())))?;
    }
    write_private(file, &make()).map_err(|e| AppError::invalid(format!("Cannot write {}: {e}.", file.display())))?;
    // What is on disk: another process may have made it first.
    std::fs::read_to_string(file)
        .map(|s| s.trim().to_string())
        .map_err(|e| AppError::invalid(format!("Cannot read {}: {e}.", file.display())))
}

/// Writes a secret file (mode 0600) durably and only if it does not exist: a
/// temporary file, flushed to disk, then linked into place and the folder flushed.
/// A crash leaves the whole file or none (a master key must be on disk before
/// anything it wraps is), and of two processes making one at once, one wins and
/// both use its secret.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!("{name}.{}.tmp", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&tmp, path);
    std::fs::remove_file(&tmp)?;
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => sync_folder_of(path),
    }
}

/// Flushes a folder's entries (renames, new files) to disk.
fn sync_folder_of(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => std::fs::File::open(".")?.sync_all(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_url_hides_its_password() {
        let u = DatabaseUrl::parse("oracle://pf_admin:s3cr%40t@db.example:1522/pfdb").unwrap();
        let DatabaseUrl::Oracle(o) = &u else { panic!("not oracle") };
        assert_eq!(o.password, "s3cr@t");
        assert_eq!(o.connect_string, "db.example:1522/pfdb");
        assert!(!format!("{u} {u:?}").contains("s3cr"));
    }

    #[test]
    fn bad_urls_say_what_is_expected() {
        for bad in ["postgres://x", "sqlite:", "oracle://host/svc", "oracle://u:p@h:1521"] {
            assert!(matches!(DatabaseUrl::parse(bad), Err(AppError::Invalid(_))), "{bad}");
        }
        assert_eq!(DatabaseUrl::parse(DEFAULT_DATABASE_URL).unwrap().backend(), "sqlite");
    }
}

/// How `serve` serves: the settings of its HTTP surface, from the command line and
/// environment (`cli.rs`) or from a test. [`crate::http::AppState::new`] builds the
/// running state from them.
#[derive(Clone)]
pub struct ServeConfig {
    pub listen: std::net::SocketAddr,
    /// Where the compiled site (`pkg/`) is.
    pub site_root: String,
    /// Signs the session tokens (at least 32 bytes).
    pub jwt_secret: Vec<u8>,
    /// Bearer token `/metrics` requires, when set.
    pub metrics_token: Option<String>,
    /// Served over HTTPS: `Secure` `__Host-` cookies, HSTS, HTTPS origins only.
    pub secure_cookie: bool,
    /// The host names the console answers to (`Host` header, port left out).
    pub allowed_hosts: Vec<String>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub session_policy: crate::auth::SessionPolicy,
    pub lockout: crate::auth::guard::LockoutPolicy,
    /// Sign-in attempts per client address (each instance's own buckets).
    pub sign_in_rate: crate::auth::throttle::SignInRate,
    /// Flag evaluations per API key (each instance's own buckets).
    pub ofrep_rate: crate::auth::throttle::EvaluationRate,
    pub key_policy: pathfinder::storage::KeyPolicy,
    pub storage_policy: pathfinder::usage::StoragePolicy,
    /// The security review's thresholds and period (`PF_SECURITY_*`).
    pub security_policy: pathfinder::security::SecurityPolicy,
    /// Where invitation mail goes, and the console's public address for its links.
    pub outbox: pathfinder::mail::Outbox,
    /// Signs the audit chain's checkpoints (the Audit page's verification checks them).
    pub audit_key: Option<std::sync::Arc<[u8]>>,
    /// Where the newest checkpoint seen is kept outside the database (`pathfinder::witness`).
    pub audit_witness: Option<pathfinder::witness::Witness>,
    /// The settings in effect, secrets as set or unset (the Diagnostics page).
    pub settings: Vec<pathfinder::diagnostics::Setting>,
}

impl ServeConfig {
    /// `serve`'s defaults (those of its flags), with the session secret and the
    /// outbox given: what a test starts from.
    pub fn with_defaults(jwt_secret: Vec<u8>, outbox: pathfinder::mail::Outbox) -> ServeConfig {
        ServeConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: "target/site".into(),
            jwt_secret,
            metrics_token: None,
            secure_cookie: false,
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            trusted_proxies: vec![],
            session_policy: crate::auth::SessionPolicy::default(),
            lockout: crate::auth::guard::LockoutPolicy::default(),
            sign_in_rate: crate::auth::throttle::SignInRate::default(),
            ofrep_rate: crate::auth::throttle::EvaluationRate::per_second(2_000),
            key_policy: pathfinder::storage::KeyPolicy { rotation_days: 90 },
            storage_policy: pathfinder::usage::StoragePolicy::default(),
            security_policy: pathfinder::security::SecurityPolicy::default(),
            outbox,
            audit_key: None,
            audit_witness: None,
            settings: vec![],
        }
    }
}
