//! What a use case can fail with, in terms the HTTP layer maps to a status and a stable code.

use aiprism_store::StoreError;

/// A use-case failure. Each variant maps to one HTTP status; `code` values are stable API contract.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The resource does not exist, or is not the caller's (404).
    #[error("{what} not found")]
    NotFound {
        /// What was looked up ("document", "finding", ...).
        what: &'static str,
    },
    /// The request is malformed (400).
    #[error("{message}")]
    BadRequest {
        /// Stable snake_case code.
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// A value is well-formed but not acceptable (422).
    #[error("{message}")]
    Invalid {
        /// Stable snake_case code.
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// The upload is larger than allowed (413).
    #[error("{message}")]
    TooLarge {
        /// For a person.
        message: String,
    },
    /// The file is of a kind we do not read (415).
    #[error("{message}")]
    Unsupported {
        /// For a person.
        message: String,
    },
    /// The request conflicts with the current state (409).
    #[error("{message}")]
    Conflict {
        /// For a person.
        message: String,
    },
    /// A dependency (database, object store) is unavailable; retrying later may work (503).
    #[error("{message}")]
    Unavailable {
        /// For a person; never contains secrets.
        message: String,
    },
    /// Too many attempts in a short time (429): wait and retry.
    #[error("{message}")]
    TooManyRequests {
        /// For a person.
        message: String,
    },
    /// A bug or an unexpected failure (500). The detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A 422 with a code and a message.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// A 400 with a code and a message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                AppError::Unavailable {
                    message: "The database is unavailable; try again shortly.".into(),
                }
            }
            StoreError::Conflict(message) => AppError::Conflict { message },
            other => AppError::Internal(other.to_string()),
        }
    }
}
