//! Configuration: command-line flags, each with a `PF_*` environment variable
//! (see `cli.rs`); secrets can come from `PF_*_FILE`. The database URL type never
//! shows its password when printed or logged.

use pathfinder::AppError;
use std::fmt;
use std::path::PathBuf;

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
