//! The one error type of the console, from storage up to the browser.
//!
//! Policy: every variant's `Display` is a sentence safe to show a user. Causes that
//! must not be shown (driver messages, SQL, paths) are logged where they happen,
//! tagged with a correlation id, and only that id travels in `Internal` /
//! `Unavailable`. Storage maps driver errors: unique violation → `Conflict`,
//! pool timeout or lost connection → `Unavailable`, anything else → `Internal`.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Bad input; the message says what to fix. Nothing was changed.
    #[error("{0}")]
    Invalid(String),
    #[error("Please sign in.")]
    Unauthenticated,
    /// Wrong username or password, or a locked or suspended account: one answer for all.
    #[error("The username or password is incorrect.")]
    BadCredentials,
    #[error("You do not have permission to do this.")]
    Forbidden,
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The database is busy or unreachable; try again shortly (reference {0}).")]
    Unavailable(String),
    #[error("Something went wrong on our side (reference {0}).")]
    Internal(String),
    /// The request never reached our code (network, decoding): said by the transport.
    #[error("The request failed: {0}")]
    Transport(String),
    /// What the link names is over for good (an invitation used, expired, withdrawn).
    #[error("{0}")]
    Gone(String),
}

impl AppError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        AppError::Invalid(msg.into())
    }

    /// Logs `cause` with a fresh correlation id and returns the error that only names the id.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let id = correlation_id();
        tracing::error!(correlation_id = %id, cause = %cause, "internal error");
        AppError::Internal(id)
    }

    /// Like [`AppError::internal`], for a database that is busy or unreachable.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        let id = correlation_id();
        tracing::warn!(correlation_id = %id, cause = %cause, "database unavailable");
        AppError::Unavailable(id)
    }

    /// The error's kind, as a refused plain-form post carries it back to its page in
    /// the URL: never its text, which a link could otherwise choose.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid",
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadCredentials => "credentials",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) | AppError::Transport(_) => "internal",
            AppError::Gone(_) => "gone",
        }
    }

    /// The error a page shows for a code from its URL, in our own words; `None` for
    /// anything that is not one of our codes.
    pub fn from_code(code: &str) -> Option<AppError> {
        let log = || "in the server log".to_string();
        Some(match code {
            "invalid" => AppError::invalid("The change was refused: a value was not accepted. Nothing was changed."),
            "unauthenticated" => AppError::Unauthenticated,
            "credentials" => AppError::BadCredentials,
            "forbidden" => AppError::Forbidden,
            "not_found" => AppError::NotFound("What the change was for".into()),
            "conflict" => {
                AppError::Conflict("The change conflicts with the current state. Nothing was changed.".into())
            }
            "unavailable" => AppError::Unavailable(log()),
            "internal" => AppError::Internal(log()),
            "gone" => AppError::Gone("That link can no longer be used.".into()),
            _ => return None,
        })
    }

    /// The HTTP status that goes with the error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 400,
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) | AppError::Transport(_) => 500,
            AppError::Gone(_) => 410,
        }
    }
}

/// A short random id that ties a message shown to a user to the log line with the cause.
pub fn correlation_id() -> String {
    let ulid = ulid::Ulid::new().to_string();
    ulid[ulid.len() - 10..].to_ascii_lowercase()
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The caller's mistake (a field missing or malformed): a 400 with a
            // sentence, not a server error in metrics and alerts.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::Invalid(
                    "The request's fields could not be read: send each field of the form, as a form \
                     (application/x-www-form-urlencoded)."
                        .into(),
                )
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}
