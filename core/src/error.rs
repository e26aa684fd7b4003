//! Errors: a precise internal `Error`, and the small public `DoorstepError` the app acts on, mapped in one place.

use crate::model::FieldError;

/// Everything that can go wrong inside the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The record may not be saved; every problem names its field.
    #[error("validation failed: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    #[error("{kind} {id} not found")]
    NotFound { kind: String, id: String },
    /// The store key is wrong, or the file is not a Doorstep store.
    #[error("the store could not be opened with this key")]
    WrongKey,
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("document: {0}")]
    Document(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The store was written by a newer version of the app.
    #[error("the store has schema version {found}, newer than this app's {supported}")]
    NewerSchema { found: i64, supported: i64 },
}

/// Results inside the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation failure of a single field.
    pub fn invalid(field: &str, message: &str) -> Self {
        Error::Validation(vec![FieldError {
            field: field.to_string(),
            code: "invalid".into(),
            message_en: message.to_string(),
            message_zh: format!("{field}无效"),
        }])
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Error::NotFound { kind: kind.to_string(), id: id.to_string() }
    }
}

/// The errors the app sees, each a case it handles differently.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DoorstepError {
    /// Show each error next to its field.
    #[error("validation failed")]
    Validation { errors: Vec<FieldError> },
    #[error("not found: {what}")]
    NotFound { what: String },
    /// Ask the user to unlock again; never retry with the same key.
    #[error("wrong key")]
    WrongKey,
    /// The phone's storage failed (full disk, corrupt file); the message is for support.
    #[error("storage: {message}")]
    Storage { message: String },
    /// Anything else internal; the message is for support.
    #[error("internal: {message}")]
    Internal { message: String },
}

impl From<Error> for DoorstepError {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation(errors) => DoorstepError::Validation { errors },
            Error::NotFound { kind, id } => DoorstepError::NotFound { what: format!("{kind} {id}") },
            Error::WrongKey => DoorstepError::WrongKey,
            Error::Storage(e) => DoorstepError::Storage { message: e.to_string() },
            Error::Io(e) => DoorstepError::Storage { message: e.to_string() },
            e @ Error::NewerSchema { .. } => DoorstepError::Storage { message: e.to_string() },
            Error::Document(m) => DoorstepError::Internal { message: m },
        }
    }
}
